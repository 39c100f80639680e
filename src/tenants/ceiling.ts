/**
 * A tenant's own ceiling (`limits`): buckets of its own, checked along with the pool's. Enforced
 * smoothly, as a per-second provider would (60 rpm is one a second, a burst of limit/60), so a
 * tenant's burst is paced rather than let through and then stopped for a minute. Pure bucket math
 * over plain data (quota/bucket.ts); the admission queue asks it before it tries any pool.
 */
import type { Limits } from '../config/schema.js';
import { createBucket, fits, giveBack, rate, refill, take, waitFor, type Bucket } from '../quota/bucket.js';
import { PER_MINUTE_BURST_DIVISOR, periodOf } from '../quota/policy.js';
import type { Demand, Dimension, Usage } from '../quota/types.js';

/** The units one request takes of each dimension. */
function units(dimension: Dimension, demand: Demand): number {
  switch (dimension) {
    case 'rpm':
    case 'rpd':
    case 'concurrency':
      return 1;
    case 'itpm':
      return demand.inputTokens;
    case 'otpm':
      return demand.outputTokens;
    case 'tpm':
      return demand.inputTokens + demand.outputTokens;
  }
}

/** Headroom in one dimension, for the answer's rate-limit headers. */
export interface Headroom {
  dimension: Dimension;
  limit: number;
  remaining: number;
  /** ms until the bucket is full again. */
  resetMs: number;
}

function bucketsOf(limits: Limits, now: number): Array<{ dimension: Dimension; bucket: Bucket }> {
  return (Object.entries(limits) as Array<[Dimension, number | undefined]>)
    .filter((entry): entry is [Dimension, number] => entry[1] !== undefined)
    .map(([dimension, limit]) => {
      const period = periodOf(dimension);
      const burst = period === Infinity || dimension === 'rpd' ? limit : Math.max(1, limit / PER_MINUTE_BURST_DIVISOR);
      return { dimension, bucket: createBucket(limit, period, burst, now) };
    });
}

/**
 * A tenant's ceiling as the request path uses it: this class in one process, or shared by every
 * replica through Redis (store/redis-ceiling.ts).
 */
export interface TenantBuckets {
  /** ms until the demand fits: 0 now, Infinity until a settle frees room. */
  waitFor(demand: Demand, now: number): number | Promise<number>;
  take(demand: Demand, now: number): void;
  settle(demand: Demand, usage: Usage | undefined, now: number): void;
  /**
   * The attempt that took `demand` failed and the request is tried again (after its settle): its
   * request and tokens come back, so a client's request counts once however many attempts serve it.
   */
  refund(demand: Demand, now: number): void;
  headroom(now: number): Headroom[];
  /** New limits at runtime (the admin API). */
  setLimits(limits: Limits, now: number): void;
}

export class TenantCeiling implements TenantBuckets {
  private buckets: Array<{ dimension: Dimension; bucket: Bucket }>;

  constructor(limits: Limits, now: number) {
    this.buckets = bucketsOf(limits, now);
  }

  /**
   * New limits at runtime. What the tenant has used stays used: each bucket kept keeps its
   * deficit below full (requests in flight, tokens just spent), so a change neither hands out a
   * fresh burst nor forgets a concurrency slot taken.
   */
  setLimits(limits: Limits, now: number): void {
    const old = new Map(this.buckets.map(({ dimension, bucket }) => [dimension, bucket]));
    this.buckets = bucketsOf(limits, now).map(({ dimension, bucket }) => {
      const before = old.get(dimension);
      if (before) bucket.level = Math.min(bucket.capacity, bucket.capacity - (before.capacity - refill(before, now)));
      return { dimension, bucket };
    });
  }

  /** ms until the demand fits under every bucket: 0 now; Infinity never by itself (concurrency: a settle frees it). */
  waitFor(demand: Demand, now: number): number {
    let wait = 0;
    for (const { dimension, bucket } of this.buckets) {
      const amount = units(dimension, demand);
      if (!fits(bucket, amount, now)) wait = Math.max(wait, waitFor(bucket, amount, now));
    }
    return wait;
  }

  take(demand: Demand, now: number): void {
    for (const { dimension, bucket } of this.buckets) take(bucket, units(dimension, demand), now);
  }

  /** The request ended: the concurrency slot comes back, and tokens reserved beyond the real usage. */
  settle(demand: Demand, usage: Usage | undefined, now: number): void {
    for (const { dimension, bucket } of this.buckets) {
      if (dimension === 'concurrency') giveBack(bucket, 1, now);
      else if (usage && dimension !== 'rpm' && dimension !== 'rpd') giveBack(bucket, units(dimension, demand) - units(dimension, usage), now);
    }
  }

  refund(demand: Demand, now: number): void {
    for (const { dimension, bucket } of this.buckets) if (dimension !== 'concurrency') giveBack(bucket, units(dimension, demand), now);
  }

  headroom(now: number): Headroom[] {
    return this.buckets.map(({ dimension, bucket }) => {
      const level = refill(bucket, now);
      const r = rate(bucket);
      return {
        dimension,
        limit: bucket.limit,
        remaining: Math.max(0, Math.floor(level)),
        resetMs: r > 0 ? Math.ceil((bucket.capacity - level) / r) : 0,
      };
    });
  }
}
