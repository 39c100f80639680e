/**
 * Rate-limit headers → ObservedLimits. Anthropic sends `anthropic-ratelimit-<dim>-{limit,remaining,reset}`
 * with RFC 3339 resets; OpenAI sends `x-ratelimit-{limit,remaining,reset}-{requests,tokens}` with Go
 * durations (`6m0s`, `1s`, `12ms`). Both resets mean "until the bucket is full again".
 */
import type { Demand, Observed, ObservedLimits } from './types.js';

export type HeaderBag = Record<string, string | string[] | undefined>;

function header(headers: HeaderBag, name: string): string | undefined {
  const value = headers[name];
  if (value === undefined) return undefined;
  return Array.isArray(value) ? value[0] : value;
}

function integer(value: string | undefined): number | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  const n = Number(value);
  return Number.isFinite(n) && n >= 0 ? n : undefined;
}

const GO_UNIT_MS: Record<string, number> = { h: 3_600_000, m: 60_000, s: 1000, ms: 1, us: 0.001, 'µs': 0.001, 'μs': 0.001, ns: 0.000001 };
const GO_PART = /(\d+(?:\.\d*)?|\.\d+)(h|ms|m|s|us|µs|μs|ns)/y;

/** Go's time.Duration text (`1h2m3.5s`, `6m0s`, `12ms`) → ms; undefined if it is not one. */
export function parseGoDuration(s: string): number | undefined {
  const text = s.trim();
  if (text === '0') return 0;
  if (text === '') return undefined;
  GO_PART.lastIndex = 0;
  let total = 0;
  while (GO_PART.lastIndex < text.length) {
    const match = GO_PART.exec(text);
    if (!match) return undefined;
    total += Number(match[1]) * GO_UNIT_MS[match[2]!]!;
  }
  return total;
}

function untilTimestamp(value: string | undefined, now: number): number | undefined {
  if (value === undefined) return undefined;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

function observed(limit: number | undefined, remaining: number | undefined, resetMs: number | undefined): Observed | undefined {
  if (limit === undefined && remaining === undefined && resetMs === undefined) return undefined;
  const o: Observed = {};
  if (limit !== undefined) o.limit = limit;
  if (remaining !== undefined) o.remaining = remaining;
  if (resetMs !== undefined) o.resetMs = resetMs;
  return o;
}

function anthropic(headers: HeaderBag, dim: string, now: number): Observed | undefined {
  const prefix = `anthropic-ratelimit-${dim}-`;
  return observed(
    integer(header(headers, prefix + 'limit')),
    integer(header(headers, prefix + 'remaining')),
    untilTimestamp(header(headers, prefix + 'reset'), now),
  );
}

function openai(headers: HeaderBag, dim: string): Observed | undefined {
  const reset = header(headers, `x-ratelimit-reset-${dim}`);
  return observed(
    integer(header(headers, `x-ratelimit-limit-${dim}`)),
    integer(header(headers, `x-ratelimit-remaining-${dim}`)),
    reset === undefined ? undefined : parseGoDuration(reset),
  );
}

/** Header names are matched lower-case (as node and undici deliver them); other bags are folded once. */
function lowerCased(headers: HeaderBag): HeaderBag {
  for (const name in headers) {
    if (name !== name.toLowerCase()) {
      const folded: HeaderBag = {};
      for (const [k, v] of Object.entries(headers)) folded[k.toLowerCase()] = v;
      return folded;
    }
  }
  return headers;
}

export function parseRateLimitHeaders(headers: HeaderBag, now: number): ObservedLimits {
  const h = lowerCased(headers);
  const result: ObservedLimits = {};
  const requests = anthropic(h, 'requests', now) ?? openai(h, 'requests');
  if (requests) result.requests = requests;
  const input = anthropic(h, 'input-tokens', now);
  if (input) result.inputTokens = input;
  const output = anthropic(h, 'output-tokens', now);
  if (output) result.outputTokens = output;
  const tokens = anthropic(h, 'tokens', now) ?? openai(h, 'tokens');
  if (tokens) result.tokens = tokens;
  const retry = retryDelayFromHeaders(h, now);
  if (retry !== undefined) result.retryAfterMs = retry;
  return result;
}

/** `retry-after-ms` (float ms), else `retry-after` (float seconds or an HTTP date); undefined if absent or unusable. */
export function retryDelayFromHeaders(headers: HeaderBag, now: number): number | undefined {
  const h = lowerCased(headers);
  const ms = header(h, 'retry-after-ms');
  if (ms !== undefined && ms.trim() !== '') {
    const n = Number(ms);
    if (Number.isFinite(n) && n >= 0) return n;
  }
  const after = header(h, 'retry-after');
  if (after === undefined || after.trim() === '') return undefined;
  const seconds = Number(after);
  if (Number.isFinite(seconds)) return seconds >= 0 ? seconds * 1000 : undefined;
  return untilTimestamp(after, now);
}

/**
 * A 429 whose headers show a bucket (limit and remaining) with too little left for the request:
 * the refusal is explained, the pool has set that bucket's level from these figures, and its
 * refill says when waiting requests may go, one at a time as it refills, with no rest on top
 * (a whole-second retry-after would hold them all back, then release them together).
 */
export function shownShort(observedLimits: ObservedLimits, demand: Demand): boolean {
  const short = (o: Observed | undefined, needed: number) => o?.limit !== undefined && o.remaining !== undefined && o.remaining < needed;
  return (
    short(observedLimits.requests, 1) ||
    short(observedLimits.inputTokens, demand.inputTokens) ||
    short(observedLimits.outputTokens, Math.max(1, demand.outputTokens)) ||
    short(observedLimits.tokens, demand.inputTokens + demand.outputTokens)
  );
}

/**
 * How long a key should rest after an upstream 429 its headers do not explain (see shownShort):
 * the server's retry hint, else the time until an exhausted bucket is full again, else `fallbackMs`.
 */
export function cooldownMs(observedLimits: ObservedLimits, fallbackMs = 1000): number {
  if (observedLimits.retryAfterMs !== undefined) return observedLimits.retryAfterMs;
  let longest: number | undefined;
  for (const o of [observedLimits.requests, observedLimits.inputTokens, observedLimits.outputTokens, observedLimits.tokens]) {
    if (o && o.remaining !== undefined && o.remaining <= 0 && o.resetMs !== undefined) {
      longest = Math.max(longest ?? 0, o.resetMs);
    }
  }
  return longest ?? fallbackMs;
}
