/**
 * A tenant's ceiling shared by every replica: its buckets live in Redis, in a key's layout, under
 * the tenant's own hash tag (`{tenant-T}`), and are refilled and checked by the pool scripts' bucket
 * code (redis-tenant-scripts.ts). The check is one script call; the take after admission and the
 * settle are sent without waiting. Two replicas that check at once may both take: the bucket goes
 * below zero and the refill repays it before anything else fits, so over time the tenant's rate is
 * its limit fleet-wide. While the tenant's slot is out of reach, this replica paces the tenant on
 * its share (1/replicas) of each limit, as the pools do.
 */
import type { Limits } from '../config/schema.js';
import { createBucket, rate, refill } from '../quota/bucket.js';
import { periodOf } from '../quota/policy.js';
import { DIMENSIONS, type Demand, type Dimension, type Usage } from '../quota/types.js';
import { TenantCeiling, type Headroom, type TenantBuckets } from '../tenants/ceiling.js';
import type { RedisStore } from './redis-store.js';
import { shareOfLimits } from './replica-share.js';

interface Reading {
  at: number;
  buckets: Array<{ dimension: Dimension; limit: number; capacity: number; level: number }>;
}

/** The hash tag of a tenant's shared keys. */
export function tenantTag(tenant: string): string {
  return `tenant-${tenant}`;
}

export class RedisTenantCeiling implements TenantBuckets {
  private limits: Limits;
  private limitArgs: string[];
  private key: string;
  private local: TenantCeiling | undefined;
  private last: Reading | undefined;
  private readonly tag: string;
  private readonly unsubscribe: () => void;

  constructor(
    private readonly store: RedisStore,
    tenant: string,
    limits: Limits,
  ) {
    this.tag = tenantTag(tenant);
    this.limits = limits;
    this.limitArgs = [];
    this.key = '';
    this.setLimits(limits);
    this.unsubscribe = store.onChange((down) => (this.local = down ? new TenantCeiling(shareOfLimits(this.limits, store.replicas), store.now()) : undefined), this.tag);
  }

  setLimits(limits: Limits, now = this.store.now()): void {
    this.limits = { ...limits };
    this.limitArgs = DIMENSIONS.map((d) => (limits[d] === undefined ? '' : String(limits[d])));
    // The limits name the bucket: replicas with the same limits share it, a change starts a full one.
    this.key = this.store.key(`{${this.tag}}`, 'ceiling', this.limitArgs.join(','));
    this.last = undefined;
    if (this.local) this.local = new TenantCeiling(shareOfLimits(this.limits, this.store.replicas), now);
  }

  async waitFor(demand: Demand, now: number): Promise<number> {
    if (this.store.degradedFor(this.tag)) return this.localCeiling(now).waitFor(demand, now);
    try {
      return await this.run('wait', demand, undefined, now);
    } catch (error) {
      this.store.markDown(error, this.tag);
      return this.localCeiling(now).waitFor(demand, now);
    }
  }

  take(demand: Demand, now: number): void {
    if (this.store.degradedFor(this.tag)) return this.localCeiling(now).take(demand, now);
    this.run('take', demand, undefined, now).catch((error: unknown) => this.store.markDown(error, this.tag));
  }

  settle(demand: Demand, usage: Usage | undefined, now: number): void {
    if (this.store.degradedFor(this.tag)) return this.localCeiling(now).settle(demand, usage, now);
    this.run('settle', demand, usage, now).catch((error: unknown) => this.store.markDown(error, this.tag));
  }

  refund(demand: Demand, now: number): void {
    if (this.store.degradedFor(this.tag)) return this.localCeiling(now).refund(demand, now);
    this.run('refund', demand, undefined, now).catch((error: unknown) => this.store.markDown(error, this.tag));
  }

  /** As last read from Redis (each check), brought up to `now`; the local share while Redis is away. */
  headroom(now: number): Headroom[] {
    if (this.store.degradedFor(this.tag) || !this.last) return this.localCeiling(now, false).headroom(now);
    return this.last.buckets.map(({ dimension, limit, capacity, level }) => {
      const bucket = createBucket(limit, periodOf(dimension), capacity, this.last!.at);
      bucket.level = level;
      const current = refill(bucket, now);
      const r = rate(bucket);
      return { dimension, limit, remaining: Math.max(0, Math.floor(current)), resetMs: r > 0 ? Math.ceil((bucket.capacity - current) / r) : 0 };
    });
  }

  close(): void {
    this.unsubscribe();
  }

  private async run(op: 'wait' | 'take' | 'settle' | 'refund', demand: Demand, usage: Usage | undefined, now: number): Promise<number> {
    const args = [now, op, demand.inputTokens, demand.outputTokens, usage ? 1 : 0, usage?.inputTokens ?? 0, usage?.outputTokens ?? 0, ...this.limitArgs];
    const [wait, ...buckets] = (await this.store.run('spillwayCeiling', [this.key], args)) as string[];
    this.last = {
      at: now,
      buckets: buckets.map((entry) => {
        const [d, limit, capacity, level] = entry.split(':').map(Number) as [number, number, number, number];
        return { dimension: DIMENSIONS[d]!, limit, capacity, level };
      }),
    };
    return Number(wait);
  }

  /** The local share while Redis is away; with `keep` false, a stand-in at the full limits for headers before the first reading. */
  private localCeiling(now: number, keep = true): TenantCeiling {
    if (this.local) return this.local;
    const local = new TenantCeiling(keep ? shareOfLimits(this.limits, this.store.replicas) : this.limits, now);
    if (keep) this.local = local;
    return local;
  }
}
