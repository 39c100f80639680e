/**
 * Outgoing webhooks (alerts, ended batches): a JSON POST, signed when a secret is configured, so a
 * receiver can tell spillway's calls from anyone else's.
 *
 *   x-spillway-signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>
 *
 * The timestamp is inside the MAC: a receiver that also refuses old timestamps refuses replays.
 */
import { createHmac } from 'node:crypto';

export const SIGNATURE_HEADER = 'x-spillway-signature';

export function webhookSignature(secret: string, body: string, nowMs: number): string {
  const t = Math.floor(nowMs / 1000);
  return `t=${t},v1=${createHmac('sha256', secret).update(`${t}.${body}`).digest('hex')}`;
}

export interface WebhookPost {
  url: string;
  body: string;
  secret?: string | undefined;
  userAgent: string;
  timeoutMs: number;
}

/** Resolves once the receiver answered 2xx; rejects otherwise (the caller decides about retries). */
export async function postWebhook({ url, body, secret, userAgent, timeoutMs }: WebhookPost): Promise<void> {
  const headers: Record<string, string> = { 'content-type': 'application/json', 'user-agent': userAgent };
  if (secret) headers[SIGNATURE_HEADER] = webhookSignature(secret, body, Date.now());
  const response = await fetch(url, { method: 'POST', headers, body, signal: AbortSignal.timeout(timeoutMs) });
  await response.arrayBuffer();
  if (!response.ok) throw new Error(`webhook answered ${response.status}`);
}
