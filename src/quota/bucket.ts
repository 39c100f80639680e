import { DELIVERY_JITTER_MS, EPSILON } from './policy.js';

/**
 * A continuously refilled token bucket, as the providers enforce them: `limit` units per `periodMs`,
 * holding at most `capacity` (the burst). Plain data, mutated in place by the functions below
 * because they run on every request's hot path.
 *
 * Oversized demands: a demand larger than `capacity` could never find that many units in the
 * bucket, so it would wait forever. Instead it is admitted when the bucket is *full* and drives the
 * level negative; the debt is repaid by the refill before anything else fits. Over time the
 * admitted rate still equals the limit.
 */
export interface Bucket {
  limit: number;
  periodMs: number;
  capacity: number;
  level: number;
  updatedAt: number;
}

export function createBucket(limit: number, periodMs: number, capacity: number, now: number): Bucket {
  const cap = Math.min(capacity, limit);
  return { limit, periodMs, capacity: cap, level: cap, updatedAt: now };
}

/** Units per ms; 0 for a gauge that never refills by itself (concurrency). */
export function rate(bucket: Bucket): number {
  return bucket.periodMs === Infinity ? 0 : bucket.limit / bucket.periodMs;
}

/** Brings the level up to `now`. */
export function refill(bucket: Bucket, now: number): number {
  const elapsed = now - bucket.updatedAt;
  if (elapsed > 0) {
    const r = rate(bucket);
    if (r > 0 && bucket.level < bucket.capacity) {
      bucket.level = Math.min(bucket.capacity, bucket.level + elapsed * r);
    }
    bucket.updatedAt = now;
  }
  return bucket.level;
}

/** The level that must be present to admit `amount` (see the oversized-demand rule above). */
export function needed(bucket: Bucket, amount: number): number {
  return Math.min(amount, bucket.capacity);
}

/**
 * A request reaches the provider up to a delivery margin after it leaves (policy.ts). Meanwhile a
 * provider's bucket near its capacity stops there, while ours, already short of the request,
 * refills: what the provider's would have refilled beyond its capacity from `level` in that time,
 * it never gets. A take for a provider's bucket at `level` takes this much more, to stay at or below
 * the provider's.
 */
export function lostToCap(bucket: Bucket, level: number): number {
  return Math.max(0, level + rate(bucket) * DELIVERY_JITTER_MS - bucket.capacity);
}

export function fits(bucket: Bucket, amount: number, now: number): boolean {
  return refill(bucket, now) + EPSILON >= needed(bucket, amount);
}

/** ms until `amount` fits; 0 if it fits now, Infinity for a gauge that only settles can refill. */
export function waitFor(bucket: Bucket, amount: number, now: number): number {
  const missing = needed(bucket, amount) - refill(bucket, now);
  if (missing <= EPSILON) return 0;
  const r = rate(bucket);
  return r > 0 ? Math.ceil(missing / r) : Infinity;
}

export function take(bucket: Bucket, amount: number, now: number): void {
  refill(bucket, now);
  bucket.level -= amount;
}

/** Returns unused units (a negative amount takes more: the estimate was too low). Never above capacity. */
export function giveBack(bucket: Bucket, amount: number, now: number): void {
  refill(bucket, now);
  bucket.level = Math.min(bucket.capacity, bucket.level + amount);
}

/** A level known to be at least `floor` (a bound from what the provider cannot have done). */
export function raiseTo(bucket: Bucket, floor: number, now: number): void {
  if (refill(bucket, now) < floor) bucket.level = Math.min(bucket.capacity, floor);
}

/** Share of the limit left after taking `amount`: the pool prefers the key where this is largest. */
export function headroomAfter(bucket: Bucket, amount: number): number {
  return (bucket.level - amount) / bucket.limit;
}
