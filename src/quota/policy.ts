/**
 * The numbers of the quota policy, in one place for both engines: the in-process KeyPool
 * (pool.ts, bucket.ts) uses them directly and the Redis scripts (store/redis-scripts.ts) have them
 * interpolated into their Lua source, so the two cannot drift apart.
 */
import { DIMENSIONS, type Dimension } from './types.js';

export const MINUTE_MS = 60_000;
export const DAY_MS = 86_400_000;

/**
 * A request reaches the provider up to this long after it was admitted, and not always in the
 * order it was admitted. So an answer is taken to have reached the provider up to this much after
 * its request was sent, requests admitted this much before it may not be in its figures yet, and a
 * take from a bucket near its capacity also takes the refill the provider's loses at its cap
 * meanwhile (bucket.ts lostToCap).
 */
export const DELIVERY_JITTER_MS = 100;

/**
 * A wait that only a settle can end (concurrency, the one-at-a-time learning gate). Small, because
 * the queue re-checks on `notify()` anyway; this is only the safety net.
 */
export const SETTLE_BOUND_WAIT_MS = 25;

/** Float noise must not turn an honest wait into a miss. */
export const EPSILON = 1e-9;

/**
 * Providers may enforce a per-minute limit per second (60 RPM as 1/s): until the headers show a
 * bigger burst, a per-minute bucket holds limit / this (at least one unit).
 */
export const PER_MINUTE_BURST_DIVISOR = 60;

/** A dimension's position in per-key state (KeyPool's arrays, the Redis hash's field suffixes). */
export const DIMENSION_INDEX = Object.fromEntries(DIMENSIONS.map((d, i) => [d, i])) as Record<Dimension, number>;

/**
 * The provider counts these when a request arrives and refuses what does not fit, so its level is
 * never below zero: ours is never below minus what is in flight uncounted. Output is counted as it
 * is generated and may overdraw.
 */
export const CHARGED_ON_ARRIVAL: readonly Dimension[] = ['rpm', 'rpd', 'itpm'];

/** How long a bucket takes to refill from empty; Infinity for a gauge only settles refill (concurrency). */
export function periodOf(dimension: Dimension): number {
  if (dimension === 'rpd') return DAY_MS;
  if (dimension === 'concurrency') return Infinity;
  return MINUTE_MS;
}
