/**
 * Load from several tenants at once, as the fair-share test and bench/tenants.ts fire it: each
 * tenant a burst of requests with the official Anthropic SDK (default retries), starting at its
 * own offset; each request's answer time is noted.
 */
import Anthropic from '@anthropic-ai/sdk';
import { burstPrompt } from '../../src/sim/burst.js';

export interface TenantBurst {
  apiKey: string;
  count: number;
  /** ms after the first tenant starts. */
  startMs: number;
  /** Replicas to spread this tenant's requests over (request i to the i-th mod n); else fireTenants' baseURL. */
  baseURLs?: string[];
}

export interface BurstTimes {
  /** Each answered request's time from its tenant's start to its answer, in answer order (ms). */
  waits: number[];
  /** performance.now() at each answer, in answer order. */
  answeredAt: number[];
  /** Each answer's time in spillway's admission queue (x-spillway-queue-ms), in answer order. */
  queuedMs: number[];
  failures: Record<string, number>;
}

export async function fireTenants(baseURL: string, bursts: TenantBurst[], model = 'claude-sonnet-4-6'): Promise<BurstTimes[]> {
  const t0 = performance.now();
  let n = 0;
  return Promise.all(
    bursts.map(async ({ apiKey, count, startMs, baseURLs }) => {
      const clients = (baseURLs ?? [baseURL]).map((url) => new Anthropic({ baseURL: url, apiKey }));
      const times: BurstTimes = { waits: [], answeredAt: [], queuedMs: [], failures: {} };
      await new Promise((resolve) => setTimeout(resolve, startMs));
      const started = performance.now();
      await Promise.all(
        Array.from({ length: count }, async (_, i) => {
          try {
            const { response } = await clients[i % clients.length]!.messages.create({ model, max_tokens: 64, messages: [{ role: 'user', content: burstPrompt(n++) }] }).withResponse();
            const now = performance.now();
            times.queuedMs.push(Number(response.headers.get('x-spillway-queue-ms')));
            times.waits.push(now - started);
            times.answeredAt.push(now - t0);
          } catch (error) {
            const status = error instanceof Anthropic.APIError && error.status !== undefined ? String(error.status) : 'network';
            times.failures[status] = (times.failures[status] ?? 0) + 1;
          }
        }),
      );
      return times;
    }),
  );
}

export function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? NaN;
}
