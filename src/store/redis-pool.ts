/**
 * RedisKeyPool: a KeyPool whose buckets and reservations live in Redis, so that every replica of
 * the gateway admits against the same limits. Each admission is one script call (one round trip)
 * that picks the key with the most headroom and reserves on it, or returns the wait; settle,
 * observe, cool-down and disable are scripts too, sent without waiting for the reply (one
 * connection keeps them in order, so a settle lands before the admission it makes room for).
 *
 * While Redis is out of reach the pool serves from an in-process KeyPool holding this replica's
 * share of each limit (see replica-share.ts); settles for reservations made in Redis are kept and
 * replayed when it returns. Every key of a pool carries the hash tag `{pool id}`, so on a Redis
 * Cluster one script's keys share a slot, pools spread over the nodes, and a lost node sends only
 * the pools it held to their local shares.
 */
import type { Limits } from '../config/schema.js';
import { createBucket, refill } from '../quota/bucket.js';
import { combinedTokens, KeyPool } from '../quota/pool.js';
import { MINUTE_MS, periodOf } from '../quota/policy.js';
import { DEFAULT_REST_POLICY, type RestPolicy } from '../quota/rest.js';
import { resetSample, seedWindow, WindowLearner, type PoolKeyInput } from '../quota/window-learn.js';
import type { WindowShape } from '../quota/window.js';
import {
  DIMENSIONS,
  type Demand,
  type KeySnapshot,
  type Observed,
  type ObservedLimits,
  type Priority,
  type QuotaPool,
  type ReserveResult,
  type Reservation,
  type Usage,
} from '../quota/types.js';
import { RedisFleetShare } from './redis-fleet-share.js';
import { limitsOfSnapshot, shareOfLimits, shareOfObserved } from './replica-share.js';
import type { RedisStore } from './redis-store.js';

export interface RedisPoolOptions {
  /** When a refused key is probed (quota/rest.ts). */
  rest?: RestPolicy;
  /** A reservation whose replica never settles it (it died) is released after this long. */
  reservationTtlMs?: number;
  /** Settles held while Redis is down, at most; older ones are dropped (their reservations expire). */
  maxDeferred?: number;
}

const DEFAULT_RESERVATION_TTL_MS = 15 * MINUTE_MS;
const DEFAULT_MAX_DEFERRED = 100_000;

type PoolKey = PoolKeyInput;

function limitArgs(limits: Limits): string[] {
  return DIMENSIONS.map((d) => (limits[d] === undefined ? '' : String(limits[d])));
}

function observedArgs(o: Observed | undefined): string[] {
  return [o?.limit === undefined ? '' : String(o.limit), o?.remaining === undefined ? '' : String(o.remaining)];
}

/** A key's Redis hash (HGETALL reply) → the snapshot KeyPool would give. */
export function snapshotOfHash(id: string, hash: Record<string, string>, configured: Limits, now: number, window?: WindowShape): KeySnapshot {
  if (hash.learn === undefined) {
    // Not in Redis yet: what the key will start from (its window sizes its buckets).
    const fresh = new KeyPool('snapshot', [{ id, limits: configured, ...(window ? { window } : {}) }]);
    return fresh.snapshot(now)[0]!;
  }
  const dimensions: KeySnapshot['dimensions'] = {};
  DIMENSIONS.forEach((dimension, d) => {
    const limit = hash[`l${d}`];
    if (limit === undefined) return;
    const bucket = createBucket(Number(limit), periodOf(dimension), Number(hash[`c${d}`]), Number(hash[`t${d}`]));
    bucket.level = Number(hash[`v${d}`]);
    dimensions[dimension] = { limit: bucket.limit, capacity: bucket.capacity, remaining: refill(bucket, now) };
  });
  const coolingUntil = Number(hash.cool ?? 0);
  const snapshot: KeySnapshot = {
    id,
    healthy: hash.off === undefined,
    coolingUntil: coolingUntil > now ? coolingUntil : 0,
    inFlight: Number(hash.n ?? 0),
    learning: hash.learn === '1',
    predictionMisses: Number(hash.miss ?? 0),
    dimensions,
  };
  if (hash.off !== undefined) {
    snapshot.disabledReason = hash.off;
    snapshot.nextProbeAt = Number(hash.offp ?? 0);
  }
  return snapshot;
}

/**
 * A waiter re-tries at least this often: other replicas' answers correct the shared buckets (often
 * upward) without this replica's queue hearing of it.
 */
const RECHECK_MS = 100;
/**
 * While interactive requests of this replica wait, the pool's flag names it for this long, renewed
 * at most every RECHECK_MS: other replicas' batch requests leave the room to them meanwhile.
 */
const INTERACTIVE_FLAG_MS = 3 * RECHECK_MS;

export class RedisKeyPool implements QuotaPool {
  readonly id: string;
  readonly recheckMs = RECHECK_MS;
  /** Tenants' fair share of this pool across the fleet. */
  readonly fleet: RedisFleetShare;
  private readonly keys: PoolKey[];
  private readonly byId = new Map<string, PoolKey>();
  private readonly store: RedisStore;
  private readonly ttlMs: number;
  private readonly maxDeferred: number;
  private readonly restPolicy: RestPolicy;
  private readonly learner = new WindowLearner();
  private counter = 0;
  /** When this replica last raised the interactive-waiting flag. */
  private flaggedAt = -Infinity;
  /** The in-process pool serving while Redis is down; created at the outage, dropped after. */
  private local: KeyPool | undefined;
  /** Reservations made by a local pool settle there, even after Redis is back. */
  private readonly localOf = new WeakMap<Reservation, KeyPool>();
  private deferred: Array<() => Promise<unknown>> = [];
  /** Each key's hash as last read, so snapshots are synchronous and an outage starts from learned limits, cooldowns, disabled keys. */
  private lastRead = new Map<string, Record<string, string>>();
  /** Limits a key is created with in Redis (first use, or Redis restarted empty): learned ones once seen. */
  private readonly initLimits = new Map<string, Limits>();
  private readonly unsubscribe: Array<() => void>;

  constructor(id: string, keys: PoolKey[], store: RedisStore, options: RedisPoolOptions = {}) {
    this.id = id;
    this.keys = keys.map((key) => ({ id: key.id, limits: { ...key.limits }, ...(key.window ? { window: key.window } : {}), windowConfigured: key.windowConfigured ?? key.window !== undefined }));
    for (const key of this.keys) {
      this.byId.set(key.id, key);
      this.initLimits.set(key.id, key.limits);
    }
    this.store = store;
    this.ttlMs = options.reservationTtlMs ?? DEFAULT_RESERVATION_TTL_MS;
    this.maxDeferred = options.maxDeferred ?? DEFAULT_MAX_DEFERRED;
    this.restPolicy = options.rest ?? DEFAULT_REST_POLICY;
    this.fleet = new RedisFleetShare(store, id);
    store.retain();
    this.unsubscribe = [
      store.onChange((down) => (down ? this.enterOutage() : this.leaveOutage()), id),
      store.onHeartbeat(() => void this.refresh()),
    ];
  }

  /** True while this pool's keys in Redis (its cluster slot) are unreachable and this replica runs on its share of each limit. */
  get degraded(): boolean {
    return this.store.degradedFor(this.id);
  }

  async tryReserve(demand: Demand, now: number, priority: Priority = 'interactive', avoid?: ReadonlySet<string>): Promise<ReserveResult> {
    if (this.store.degradedFor(this.id)) return this.reserveLocally(demand, now, avoid);
    const keys = this.usableKeys(avoid);
    if (keys.length === 0) return { ok: false, waitMs: Infinity };
    const id = `${this.store.replicaId}.${(this.counter++).toString(36)}`;
    const batchOf = priority === 'batch' ? this.store.replicaId : '';
    let reply: unknown;
    try {
      reply = await this.store.run('spillwayReserve', this.allKeys(keys), [now, demand.inputTokens, demand.outputTokens, id, this.ttlMs, 1, batchOf, ...this.keyArgs(keys)]);
    } catch (error) {
      this.store.markDown(error, this.id);
      return this.reserveLocally(demand, now, avoid);
    }
    const [ok, value] = reply as [number, string];
    if (ok === 1) return { ok: true, reservation: { poolId: this.id, keyId: value, demand, at: now, id } };
    return { ok: false, waitMs: value === 'inf' ? Infinity : Number(value) };
  }

  async waitTime(demand: Demand, now: number, avoid?: ReadonlySet<string>): Promise<number> {
    if (this.store.degradedFor(this.id)) return this.localPool().waitTime(demand, now, avoid);
    const keys = this.usableKeys(avoid);
    if (keys.length === 0) return Infinity;
    try {
      const [, value] = (await this.store.run('spillwayReserve', this.allKeys(keys), [now, demand.inputTokens, demand.outputTokens, '', this.ttlMs, 0, '', ...this.keyArgs(keys)])) as [
        number,
        string,
      ];
      return value === 'inf' ? Infinity : Number(value);
    } catch (error) {
      this.store.markDown(error, this.id);
      return this.localPool().waitTime(demand, now, avoid);
    }
  }

  /** Raises this replica's flag on the pool (see INTERACTIVE_FLAG_MS); sent without waiting. */
  interactiveWaiting(now: number): void {
    if (this.store.degradedFor(this.id) || now - this.flaggedAt < RECHECK_MS) return;
    this.flaggedAt = now;
    void this.send(() => this.store.client.set(this.interactiveFlag(), this.store.replicaId, 'PX', INTERACTIVE_FLAG_MS), false);
  }

  /** Never rejects: the request path sends it and moves on. */
  settle(reservation: Reservation, usage: Usage | undefined, now: number): Promise<void> {
    const local = this.localOf.get(reservation);
    if (local) {
      local.settle(reservation, usage, now);
      return Promise.resolve();
    }
    const key = this.byId.get(reservation.keyId);
    if (!key || reservation.id === undefined) return Promise.resolve();
    const args = [now, reservation.id, usage ? 1 : 0, usage?.inputTokens ?? 0, usage?.outputTokens ?? 0, ...this.limitArgsOf(key.id)];
    return this.send(() => this.store.run('spillwaySettle', [...this.keysOf(key.id), this.windowOf(key.id)], args), true);
  }

  observe(keyId: string, observed: ObservedLimits, now: number, answered?: Reservation, sentAt?: number): Promise<void> {
    const key = this.byId.get(keyId);
    if (!key) return Promise.resolve();
    this.learnWindow(key, observed, now, sentAt ?? answered?.at);
    if (this.store.degradedFor(this.id) || (answered && this.localOf.has(answered))) {
      this.local?.observe(keyId, shareOfObserved(observed, this.store.replicas), now, answered, sentAt);
      return Promise.resolve();
    }
    const args = [
      now,
      answered?.id ?? '',
      ...this.limitArgsOf(key.id),
      ...observedArgs(observed.requests),
      ...observedArgs(observed.inputTokens),
      ...observedArgs(observed.outputTokens),
      ...observedArgs(combinedTokens(observed)),
      answered?.at ?? '',
      sentAt ?? answered?.at ?? '',
      observed.refused ? '1' : '',
    ];
    // A correction is only worth its moment: one lost in an outage is not replayed.
    return this.send(() => this.store.run('spillwayObserve', [...this.keysOf(keyId), this.windowOf(keyId)], args), false);
  }

  /**
   * Each replica learns a key's window from the answers it sees (window-learn.ts) and admits by it
   * from then on; the window log in Redis fills from the next admission.
   */
  private learnWindow(key: PoolKey, observed: ObservedLimits, now: number, sentAt: number | undefined): void {
    const sample = key.windowConfigured ? undefined : resetSample(observed, now, sentAt);
    const learned = sample && this.learner.observe(key.id, sample);
    if (!learned) return;
    if (learned.type === 'bucket') {
      delete key.window;
      return;
    }
    key.window = learned;
    // The log starts as KeyPool's does: the requests in flight, unanswered, and the answered ones
    // where their resets place them. Sent before the answer's own observe, on the same connection.
    if (this.store.degradedFor(this.id)) return;
    const seeds = seedWindow(learned, this.learner.recent(key.id), now);
    const [, res] = this.keysOf(key.id);
    void this.store.run('spillwayWindowSeed', [res!, this.windowOf(key.id)], [now, this.ttlMs, learned.lengthMs, ...seeds]).catch(() => undefined);
  }

  coolDown(keyId: string, untilMs: number): Promise<void> {
    const key = this.byId.get(keyId);
    if (!key) return Promise.resolve();
    this.local?.coolDown(keyId, untilMs);
    return this.send(() => this.store.run('spillwayCoolDown', [this.hashOf(keyId)], [this.store.now(), untilMs, ...this.limitArgsOf(key.id)]), true);
  }

  /** True when this call took the key out of service; while Redis is down, the local share rests it (and the change is replayed). */
  async rest(keyId: string, reason: string, now: number): Promise<boolean> {
    const key = this.byId.get(keyId);
    if (!key) return false;
    const local = this.local?.rest(keyId, reason, now) ?? false;
    const shared = await this.ask(() => this.store.run('spillwayRest', [this.hashOf(keyId)], [now, reason, ...this.limitArgsOf(key.id)]), true);
    // A transition shows in this replica's snapshot (dashboard, alerts) now, not a heartbeat later.
    if (shared === 1) await this.refresh();
    return shared === undefined ? local : shared === 1;
  }

  /** One replica wins each due probe; while Redis is down each replica probes for its own share. */
  async claimProbe(keyId: string, now: number): Promise<boolean> {
    if (!this.byId.has(keyId)) return false;
    if (this.store.degradedFor(this.id)) return this.localPool().claimProbe(keyId, now);
    const { firstProbeMs, maxProbeMs } = this.restPolicy;
    return (await this.ask(() => this.store.run('spillwayClaimProbe', [this.hashOf(keyId)], [now, firstProbeMs, maxProbeMs]), false)) === 1;
  }

  async enable(keyId: string): Promise<boolean> {
    if (!this.byId.has(keyId)) return false;
    const local = this.local?.enable(keyId) ?? false;
    const shared = await this.ask(() => this.store.run('spillwayEnable', [this.hashOf(keyId)], []), true);
    if (shared === 1) await this.refresh();
    return shared === undefined ? local : shared === 1;
  }

  /** The shared state as last read (each heartbeat, or `refresh`), brought up to `now`; the local share while Redis is down. */
  snapshot(now: number): KeySnapshot[] {
    if (this.store.degradedFor(this.id)) return this.localPool().snapshot(now);
    return this.keys.map((key) => {
      const snap = snapshotOfHash(key.id, this.lastRead.get(key.id) ?? {}, key.limits, now, key.window);
      delete snap.window;
      if (key.window) snap.window = { type: key.window.type, lengthMs: key.window.lengthMs, learned: !key.windowConfigured };
      return snap;
    });
  }

  /** Reads the shared state now (what `snapshot` shows); false if Redis could not be read. */
  async refresh(): Promise<boolean> {
    try {
      const hashes = await Promise.all(this.keys.map((key) => this.store.client.hgetall(this.hashOf(key.id))));
      this.lastRead = new Map(this.keys.map((key, i) => [key.id, hashes[i]!]));
      for (const key of this.keys) {
        const hash = this.lastRead.get(key.id)!;
        if (hash.learn === '0') this.initLimits.set(key.id, limitsOfSnapshot(snapshotOfHash(key.id, hash, key.limits, this.store.now()), key.limits));
      }
      return true;
    } catch {
      return false; // the next heartbeat tries again; the last picture stays
    }
  }

  async close(): Promise<void> {
    for (const unsubscribe of this.unsubscribe) unsubscribe();
    await this.store.release();
  }

  /** Like `send`, with the script's reply: undefined when Redis could not be asked. */
  private async ask(command: () => Promise<unknown>, replay: boolean): Promise<unknown> {
    let reply: unknown;
    await this.send(async () => {
      reply = await command();
    }, replay);
    return reply;
  }

  /** Sends a state change; while Redis is down, `replay` ones wait for it to return. */
  private send(command: () => Promise<unknown>, replay: boolean): Promise<void> {
    const defer = () => {
      if (!replay) return;
      if (this.deferred.length >= this.maxDeferred) this.deferred.shift();
      this.deferred.push(command);
    };
    if (this.store.degradedFor(this.id)) {
      defer();
      return Promise.resolve();
    }
    return command().then(
      () => undefined,
      (error: unknown) => {
        this.store.markDown(error, this.id);
        defer();
      },
    );
  }

  private reserveLocally(demand: Demand, now: number, avoid?: ReadonlySet<string>): ReserveResult {
    const local = this.localPool();
    const result = local.tryReserve(demand, now, 'interactive', avoid);
    if (result.ok) this.localOf.set(result.reservation, local);
    return result;
  }

  private localPool(): KeyPool {
    if (!this.local) this.enterOutage();
    return this.local!;
  }

  /** This replica's share of each key, from the shared state as last seen (else the config). */
  private enterOutage(): void {
    if (this.local) return;
    const replicas = this.store.replicas;
    const now = this.store.now();
    const lastSeen = new Map(this.keys.map((key) => [key.id, snapshotOfHash(key.id, this.lastRead.get(key.id) ?? {}, key.limits, now)]));
    const local = new KeyPool(
      this.id,
      this.keys.map((key) => ({ id: key.id, limits: shareOfLimits(limitsOfSnapshot(lastSeen.get(key.id), key.limits), replicas), ...(key.window ? { window: key.window } : {}), windowConfigured: key.windowConfigured })),
      { rest: this.restPolicy },
    );
    for (const key of this.keys) {
      const seen = lastSeen.get(key.id);
      if (!seen) continue;
      if (!seen.healthy) local.rest(key.id, seen.disabledReason ?? 'refused by the provider', now);
      if (seen.coolingUntil > now) local.coolDown(key.id, seen.coolingUntil);
      // The other replicas may just have spent the shared buckets: start this share empty.
      if (!seen.learning) {
        const empty = { remaining: 0 };
        local.observe(key.id, { requests: empty, inputTokens: empty, outputTokens: empty, tokens: empty }, now);
      }
    }
    this.local = local;
  }

  private leaveOutage(): void {
    const replay = this.deferred;
    this.deferred = [];
    const now = this.store.now();
    for (const key of this.keys) {
      const drain = [now, ...this.limitArgsOf(key.id)];
      this.store.run('spillwayDrain', [this.hashOf(key.id)], drain).catch((error: unknown) => this.store.markDown(error, this.id));
    }
    for (const command of replay) {
      command().catch((error: unknown) => this.store.markDown(error, this.id));
    }
    this.local = undefined;
  }

  private limitArgsOf(keyId: string): string[] {
    return limitArgs(this.initLimits.get(keyId) ?? {});
  }

  private hashOf(keyId: string): string {
    return this.store.key(`{${this.id}}`, keyId);
  }

  private keysOf(keyId: string): string[] {
    const base = this.hashOf(keyId);
    return [base, `${base}:res`, `${base}:exp`];
  }

  /** The keys an admission may choose from: all but those that refused this request. */
  private usableKeys(avoid: ReadonlySet<string> | undefined): PoolKey[] {
    return avoid && avoid.size > 0 ? this.keys.filter((key) => !avoid.has(key.id)) : this.keys;
  }

  /** The key's window log (redis-window.ts). */
  private windowOf(keyId: string): string {
    return `${this.hashOf(keyId)}:win`;
  }

  private allKeys(keys: PoolKey[]): string[] {
    return [...keys.flatMap((key) => this.keysOf(key.id)), ...keys.map((key) => this.windowOf(key.id)), this.interactiveFlag()];
  }

  /** Beside the keys' hashes (same hash tag), named so that no key id can collide with it. */
  private interactiveFlag(): string {
    return `${this.store.key(`{${this.id}}`)}!interactive-waiting`;
  }

  private keyArgs(keys: PoolKey[]): string[] {
    return keys.flatMap((key) => [key.id, ...this.limitArgsOf(key.id), key.window?.type ?? '', String(key.window?.lengthMs ?? '')]);
  }
}
