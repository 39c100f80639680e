/**
 * Per-key rate limits as a set of token buckets, one per configured dimension. A request is
 * admitted only when every dimension has room for it; the refusal names the dimension that makes
 * it wait longest (or that it can never fit into).
 */
import { charge, fullBucket, levelAt, msUntil, type Bucket } from './bucket.js';
import type { OtpmMode, SimBucketSize, SimLimits, SimWindow } from './options.js';

export type Dimension = 'rpm' | 'rpd' | 'itpm' | 'otpm' | 'tpm';
export type KeyBuckets = Partial<Record<Dimension, Bucket>>;

export const DIMENSIONS: readonly Dimension[] = ['rpm', 'rpd', 'itpm', 'otpm', 'tpm'];
const MINUTE_MS = 60_000;
const DAY_MS = 86_400_000;

/**
 * Bucket size: an absolute capacity if `bucket` names one, else a share of the limit: `bucket`'s
 * fraction, or the window's (the whole minute, or one second's worth when enforced per second).
 */
export function capacityFor(dimension: Dimension, limit: number, window: SimWindow, bucket?: SimBucketSize): number {
  const absolute = bucket?.capacity?.[dimension];
  if (absolute !== undefined) return Math.min(limit, Math.max(1, absolute));
  if (dimension === 'rpd') return limit;
  const fraction = bucket?.fraction ?? (window === 'minute' ? 1 : 1 / 60);
  return fraction >= 1 ? limit : Math.min(limit, Math.max(1, limit * fraction));
}

function rateFor(dimension: Dimension, limit: number): number {
  return limit / (dimension === 'rpd' ? DAY_MS : MINUTE_MS);
}

export function createBuckets(limits: SimLimits, window: SimWindow, now: number, bucket?: SimBucketSize): KeyBuckets {
  const buckets: KeyBuckets = {};
  for (const d of DIMENSIONS) {
    const limit = limits[d];
    if (limit !== undefined && limit > 0) buckets[d] = fullBucket(capacityFor(d, limit, window, bucket), rateFor(d, limit), now);
  }
  return buckets;
}

/** Switch the enforcement window or bucket size in place, keeping each level (clamped to the new capacity). */
export function applyWindow(buckets: KeyBuckets, limits: SimLimits, window: SimWindow, now: number, bucket?: SimBucketSize): void {
  for (const d of DIMENSIONS) {
    const b = buckets[d];
    const limit = limits[d];
    if (!b || limit === undefined) continue;
    const level = levelAt(b, now);
    b.capacity = capacityFor(d, limit, window, bucket);
    b.level = Math.min(level, b.capacity);
    b.at = now;
  }
}

export interface Demand {
  inputTokens: number;
  /** Whether the request generates output (messages/chat) or not (embeddings). */
  generates: boolean;
  /** Output tokens to reserve up front in 'max_tokens' mode (max_tokens of the request). */
  maxTokens: number;
}

export interface Admitted {
  ok: true;
  /** Output tokens reserved on otpm/tpm, to be reconciled by `settle`. */
  reserved: number;
}

export interface Refused {
  ok: false;
  dimension: Dimension;
  waitMs: number;
  /** The request is larger than the bucket: it can never be admitted. */
  never: boolean;
  /** How much of the dimension the request needs. */
  requested: number;
}

interface Need {
  need: number;
  take: number;
}

function needOf(d: Dimension, demand: Demand, mode: OtpmMode): Need | undefined {
  switch (d) {
    case 'rpm':
    case 'rpd':
      return { need: 1, take: 1 };
    case 'itpm':
      return { need: demand.inputTokens, take: demand.inputTokens };
    case 'otpm':
      if (!demand.generates) return undefined;
      // 'generated': only a positive level is required; the real output is charged at the end.
      return mode === 'max_tokens' ? { need: demand.maxTokens, take: demand.maxTokens } : { need: 1, take: 0 };
    case 'tpm': {
      const out = demand.generates && mode === 'max_tokens' ? demand.maxTokens : 0;
      const total = demand.inputTokens + out;
      return { need: Math.max(1, total), take: total };
    }
  }
}

export function admit(buckets: KeyBuckets, demand: Demand, mode: OtpmMode, now: number): Admitted | Refused {
  let refusal: Refused | undefined;
  for (const d of DIMENSIONS) {
    const b = buckets[d];
    if (!b) continue;
    const n = needOf(d, demand, mode);
    if (!n) continue;
    if (n.need > b.capacity) {
      return { ok: false, dimension: d, waitMs: Infinity, never: true, requested: n.need };
    }
    const wait = msUntil(b, n.need, now);
    if (wait > 0 && (!refusal || wait > refusal.waitMs)) {
      refusal = { ok: false, dimension: d, waitMs: wait, never: false, requested: n.need };
    }
  }
  if (refusal) return refusal;
  for (const d of DIMENSIONS) {
    const b = buckets[d];
    const n = b && needOf(d, demand, mode);
    if (b && n && n.take !== 0) charge(b, n.take, now);
  }
  return { ok: true, reserved: demand.generates && mode === 'max_tokens' ? demand.maxTokens : 0 };
}

/** Reconcile output: charge what was generated beyond the reservation, refund the unused part. */
export function settle(buckets: KeyBuckets, reserved: number, generated: number, now: number): void {
  const delta = generated - reserved;
  if (delta === 0) return;
  if (buckets.otpm) charge(buckets.otpm, delta, now);
  if (buckets.tpm) charge(buckets.tpm, delta, now);
}

/** How a dimension reads in an error message: "input tokens" per "minute". */
export function describeDimension(d: Dimension): { noun: string; per: 'minute' | 'day' } {
  switch (d) {
    case 'rpm':
      return { noun: 'requests', per: 'minute' };
    case 'rpd':
      return { noun: 'requests', per: 'day' };
    case 'itpm':
      return { noun: 'input tokens', per: 'minute' };
    case 'otpm':
      return { noun: 'output tokens', per: 'minute' };
    case 'tpm':
      return { noun: 'tokens', per: 'minute' };
  }
}
