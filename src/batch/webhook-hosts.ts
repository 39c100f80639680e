/**
 * Which URLs a client may name as its batch's webhook (x-spillway-batch-webhook). spillway POSTs
 * there from inside the operator's network, so without a limit any client could make it reach
 * loopback or internal services. The operator lists the hosts (batches.webhook_hosts): a name
 * matches itself, `*.example.com` matches its subdomains. Pure: the caller answers a refusal.
 */

/** Why `url` may not be a client's webhook, or undefined if it may. */
export function webhookRefusal(url: string, allowedHosts: readonly string[]): string | undefined {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return `not a URL: ${url}`;
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') return `only http and https URLs are accepted, not ${parsed.protocol}`;
  const host = parsed.hostname.toLowerCase();
  if (allowedHosts.some((allowed) => hostMatches(host, allowed.toLowerCase()))) return undefined;
  return allowedHosts.length === 0
    ? 'webhooks named by clients are off; the operator can allow hosts in batches.webhook_hosts'
    : `host ${host} is not one of batches.webhook_hosts`;
}

function hostMatches(host: string, allowed: string): boolean {
  if (allowed.startsWith('*.')) return host.endsWith(allowed.slice(1)) && host.length > allowed.length - 1;
  return host === allowed;
}
