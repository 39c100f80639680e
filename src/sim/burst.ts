/**
 * A burst of requests fired at once with the official Anthropic SDK (default retry settings), and
 * the least time the keys' limits allow for it: what the SKU-500 test, benchmark and demo measure.
 */
import Anthropic from '@anthropic-ai/sdk';
import { capacityFor } from './limiter.js';
import type { SimBucketSize, SimKey, SimKeyStats, SimLatency, SimWindow } from './options.js';

/**
 * The SKU-500 setting shared by the benchmarks and `spillway demo`: answers of 40 tokens after
 * 100 ms at 400 tokens/s, and two keys limited so that the burst must wait either way.
 */
export const SKU_LATENCY = { ttftMs: 100, tokensPerSecond: 400 } satisfies SimLatency;
export const SKU_OUTPUT_TOKENS = 40;
/** How long one request takes upstream: the least makespan includes the last one. */
export const SKU_REQUEST_MS = SKU_LATENCY.ttftMs + (SKU_OUTPUT_TOKENS / SKU_LATENCY.tokensPerSecond) * 1000;
export interface SkuScenario {
  /** Chosen with the benchmarks' --scenario. */
  id: 'minute' | 'second' | 'tenth';
  name: string;
  window: SimWindow;
  bucket?: SimBucketSize;
  rpm: number;
}
export const SKU_SCENARIOS: readonly SkuScenario[] = [
  { id: 'minute', name: 'per minute', window: 'minute', rpm: 210 }, // a burst of 2 × 210, then 7/s
  { id: 'second', name: 'per second', window: 'second', rpm: 1800 }, // a burst of 2 × 30, then 60/s
  { id: 'tenth', name: 'a tenth of the minute', window: 'minute', bucket: { fraction: 0.1 }, rpm: 600 }, // buckets of 2 × 60, then 20/s
];

export interface BurstResult {
  succeeded: number;
  failed: number;
  /** From the first request sent to the last answer received. */
  makespanMs: number;
  /** Failure counts by HTTP status (or 'network'). */
  failures: Record<string, number>;
}

export interface BurstOptions {
  baseURL: string;
  /** Requests are spread over these keys round robin, as a team with several keys would. */
  apiKeys: string[];
  count: number;
  model?: string;
  maxTokens?: number;
  headers?: Record<string, string>;
  /** Called as each request ends, for progress bars. */
  onSettled?: (ok: boolean) => void;
}

/** A distinct prompt per request (so no answer could come from a cache), as in a catalogue job. */
export function burstPrompt(i: number): string {
  return `Write a two-sentence description for product #${i}: a handmade ceramic mug with a speckled glaze.`;
}

export async function fireBurst(options: BurstOptions): Promise<BurstResult> {
  // The SDK's defaults (2 retries, 10-minute timeout), as a user would have them.
  const clients = options.apiKeys.map((apiKey) => new Anthropic({ baseURL: options.baseURL, apiKey, defaultHeaders: options.headers }));
  const failures: Record<string, number> = {};
  let succeeded = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: options.count }, async (_, i) => {
      try {
        await clients[i % clients.length]!.messages.create({
          model: options.model ?? 'claude-sonnet-4-6',
          max_tokens: options.maxTokens ?? 64,
          messages: [{ role: 'user', content: burstPrompt(i) }],
        });
        succeeded += 1;
        options.onSettled?.(true);
      } catch (error) {
        const status = error instanceof Anthropic.APIError && error.status !== undefined ? String(error.status) : 'network';
        failures[status] = (failures[status] ?? 0) + 1;
        options.onSettled?.(false);
      }
    }),
  );
  return { succeeded, failed: options.count - succeeded, makespanMs: performance.now() - started, failures };
}

/**
 * The least time in which the keys' buckets admit the work that was done upstream: for each limit,
 * what the burst needs beyond the keys' full buckets, divided by their combined refill rate.
 */
export function minimumMakespanMs(
  keys: SimKey[],
  window: SimWindow,
  work: Pick<SimKeyStats, 'ok' | 'inputTokens' | 'outputTokens'>,
  bucket?: SimBucketSize,
): number {
  const demand = { rpm: work.ok, itpm: work.inputTokens, otpm: work.outputTokens, tpm: work.inputTokens + work.outputTokens };
  let longest = 0;
  for (const dimension of ['rpm', 'itpm', 'otpm', 'tpm'] as const) {
    const limits = keys.map((key) => key.limits[dimension]);
    if (limits.some((limit) => limit === undefined)) continue;
    const perMinute = (limits as number[]).reduce((sum, limit) => sum + limit, 0);
    const burst = (limits as number[]).reduce((sum, limit) => sum + capacityFor(dimension, limit, window, bucket), 0);
    longest = Math.max(longest, (Math.max(0, demand[dimension] - burst) / perMinute) * 60_000);
  }
  return longest;
}
