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
 *
 * In flight: `level` already counts what was reserved, but the provider charges it only when the
 * request arrives (or as output is generated). Until then its bucket may be full and its refill
 * lost, so ours refills only up to `capacity - held`: what it holds once those charges land.
 */
export interface Bucket {
  limit: number;
  periodMs: number;
  capacity: number;
  level: number;
  updatedAt: number;
  /** Reserved units no answer has shown the provider charging yet. */
  held: number;
}

export function createBucket(limit: number, periodMs: number, capacity: number, now: number): Bucket {
  const cap = Math.min(capacity, limit);
  return { limit, periodMs, capacity: cap, level: cap, updatedAt: now, held: 0 };
}

/** The most the level can be while `held` is uncharged (see above). */
function ceiling(bucket: Bucket): number {
  return bucket.capacity - bucket.held;
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
    if (r > 0 && bucket.level < ceiling(bucket)) {
      bucket.level = Math.min(ceiling(bucket), bucket.level + elapsed * r);
    }
    bucket.updatedAt = now;
  }
  return bucket.level;
}

/**
 * The level that must be present to admit `amount` (see the oversized-demand rule above): with a
 * delivery margin of refill to spare (policy.ts).
 */
export function needed(bucket: Bucket, amount: number): number {
  return Math.min(amount + rate(bucket) * DELIVERY_JITTER_MS, bucket.capacity);
}

export function fits(bucket: Bucket, amount: number, now: number): boolean {
  return refill(bucket, now) + EPSILON >= needed(bucket, amount);
}

/**
 * ms until `amount` fits; 0 if it fits now, Infinity when only an answer or a settle can make room
 * (a gauge, or a bucket that cannot refill that far while units are held).
 */
export function waitFor(bucket: Bucket, amount: number, now: number): number {
  const need = needed(bucket, amount);
  const missing = need - refill(bucket, now);
  if (missing <= EPSILON) return 0;
  const r = rate(bucket);
  return r > 0 && need <= ceiling(bucket) + EPSILON ? Math.ceil(missing / r) : Infinity;
}

/** Reserves `amount`, held until `release` says the provider charged it (or never will). */
export function take(bucket: Bucket, amount: number, now: number): void {
  refill(bucket, now);
  bucket.level -= amount;
  bucket.held += amount;
}

/** `amount` of what `take` held is charged by the provider now, or never will be: no longer held. */
export function release(bucket: Bucket, amount: number, now: number): void {
  refill(bucket, now); // up to now, the old ceiling applied
  bucket.held = Math.max(0, bucket.held - amount);
}

/** Returns unused units (a negative amount takes more: the estimate was too low). Never above the ceiling. */
export function giveBack(bucket: Bucket, amount: number, now: number): void {
  refill(bucket, now);
  bucket.level = Math.min(ceiling(bucket), bucket.level + amount);
}

/** A level known to be at least `floor` (a bound from what the provider cannot have done). */
export function raiseTo(bucket: Bucket, floor: number, now: number): void {
  if (refill(bucket, now) < floor) bucket.level = Math.min(ceiling(bucket), floor);
}

/** Sets the level from the provider's figures (never above the ceiling). */
export function setLevel(bucket: Bucket, level: number, now: number): void {
  refill(bucket, now);
  bucket.level = Math.min(ceiling(bucket), level);
}

/** Share of the limit left after taking `amount`: the pool prefers the key where this is largest. */
export function headroomAfter(bucket: Bucket, amount: number): number {
  return (bucket.level - amount) / bucket.limit;
}
