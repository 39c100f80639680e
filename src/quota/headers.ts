/**
 * What every provider's rate-limit headers have in common: how a header is read, an observation
 * assembled, a retry hint found, and how long a refused key rests. Each provider's own header
 * dialect lives in its folder (src/providers/<type>/limits.ts).
 */
import type { Observed, ObservedLimits } from './types.js';

export type HeaderBag = Record<string, string | string[] | undefined>;

export function header(headers: HeaderBag, name: string): string | undefined {
  const value = headers[name];
  if (value === undefined) return undefined;
  return Array.isArray(value) ? value[0] : value;
}

/** A non-negative count, or undefined when absent or unreadable. */
export function count(value: string | undefined): number | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  const n = Number(value);
  return Number.isFinite(n) && n >= 0 ? n : undefined;
}

export function untilTimestamp(value: string | undefined, now: number): number | undefined {
  if (value === undefined) return undefined;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

export function observed(limit: number | undefined, remaining: number | undefined, resetMs: number | undefined): Observed | undefined {
  if (limit === undefined && remaining === undefined && resetMs === undefined) return undefined;
  const o: Observed = {};
  if (limit !== undefined) o.limit = limit;
  if (remaining !== undefined) o.remaining = remaining;
  if (resetMs !== undefined) o.resetMs = resetMs;
  return o;
}

/** Header names are matched lower-case (as node and undici deliver them); other bags are folded once. */
export function lowerCased(headers: HeaderBag): HeaderBag {
  for (const name in headers) {
    if (name !== name.toLowerCase()) {
      const folded: HeaderBag = {};
      for (const [k, v] of Object.entries(headers)) folded[k.toLowerCase()] = v;
      return folded;
    }
  }
  return headers;
}

/** The observations that were present, and the retry hint if there is one. */
export function observedLimits(dimensions: Partial<Record<'requests' | 'inputTokens' | 'outputTokens' | 'tokens', Observed | undefined>>, headers: HeaderBag, now: number): ObservedLimits {
  const result: ObservedLimits = {};
  for (const [name, value] of Object.entries(dimensions)) {
    if (value) result[name as keyof typeof dimensions] = value;
  }
  const retry = retryDelayFromHeaders(headers, now);
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
 * How long a key should rest after an upstream 429: the server's retry hint, else the time until
 * an exhausted bucket is full again, else `fallbackMs`.
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
