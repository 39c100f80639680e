/**
 * AdmissionQueue: when no candidate has room, a request waits here until a candidate fits or its
 * deadline would pass: interactive before batch, then by weighted fair share across tenants
 * (fair-share.ts), first come first served within a tenant.
 * The only timers of the quota engine live here, behind an injectable clock.
 */
import { FairShare, insertionIndex, type FleetTurns, type Share } from './fair-share.js';
import type { Demand, Priority, ReserveResult, Reservation } from './types.js';

export type { Priority } from './types.js';

export type RejectionReason = 'deadline' | 'full' | 'aborted' | 'unavailable' | 'ceiling';

export class QueueRejection extends Error {
  readonly reason: RejectionReason;
  /** When the same demand is expected to fit, from the buckets (ms from now). */
  readonly retryAfterMs: number;

  constructor(reason: RejectionReason, retryAfterMs: number, message?: string) {
    super(message ?? `admission rejected: ${reason}`);
    this.name = 'QueueRejection';
    this.reason = reason;
    this.retryAfterMs = retryAfterMs;
  }
}

/** What the queue needs of a pool; every call may be async so a shared store (Redis) fits behind it. */
export interface AdmissionPool {
  id: string;
  tryReserve(demand: Demand, now: number, priority: Priority): ReserveResult | Promise<ReserveResult>;
  /** Wait estimate without reserving; lets the queue reject at once a request stuck behind others. */
  waitTime?(demand: Demand, now: number): number | Promise<number>;
  /** An interactive waiter did not fit (see QuotaPool.interactiveWaiting). */
  interactiveWaiting?(now: number): void;
  /**
   * Other processes change this pool's capacity without telling this queue (a pool shared through
   * Redis): a waiter re-tries at least this often rather than sleep through their corrections.
   */
  readonly recheckMs?: number;
  /** The tenants' fair share of this pool across replicas: a waiter whose tenant is ahead fleet-wide lets others go. */
  fleet?: FleetTurns;
  /** Gives a reservation back untouched (the waiter was aborted while its reservation was in progress). */
  settle?(reservation: Reservation, usage: undefined, now: number): void | Promise<void>;
}

export interface Candidate {
  pool: AdmissionPool;
  demand: Demand;
}

export interface Clock {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export interface Admission {
  candidateIndex: number;
  reservation: Reservation;
  queuedMs: number;
}

export interface AdmitOptions {
  priority: Priority;
  /** ms timestamp by which the request must be admitted. */
  deadline: number;
  signal?: AbortSignal;
  /** Whose request it is, for the fair share across tenants; without one, all share one FIFO. */
  share?: Share;
  /** The tenant's own ceiling: asked before any pool, and taken from on admission. */
  ceiling?: Ceiling;
}

/** A tenant's own buckets (tenants/ceiling.ts), as the queue uses them. */
export interface Ceiling {
  /** ms until the demand fits: 0 now, Infinity until a settle frees room (async when shared through Redis). */
  waitFor(demand: Demand, now: number): number | Promise<number>;
  take(demand: Demand, now: number): void;
}

const NO_TENANT: Share = { tenant: '', weight: 1 };

/** retry-after for a request no key can serve (all disabled): a guess, since nothing will refill. */
export const UNAVAILABLE_RETRY_MS = 30_000;
/** How soon a waiter held back by the fleet's fair share looks again, for a pool that sets no recheck. */
const FLEET_RECHECK_MS = 100;
/** retry-after when the wait is unknown (stuck behind other waiters on pools that cannot estimate). */
const UNKNOWN_RETRY_MS = 1000;

const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => {
    const handle = setTimeout(fn, ms);
    handle.unref?.();
    return handle;
  },
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};

interface Waiter {
  candidates: Candidate[];
  priority: Priority;
  share: Share;
  ceiling: Ceiling | undefined;
  /** Finish tag in its priority class's fair share: the order in which waiters are tried. */
  tag: number;
  deadline: number;
  signal: AbortSignal | undefined;
  enqueuedAt: number;
  /** Not yet tried: maxDepth and the deadline estimate are checked on the first failed try. */
  fresh: boolean;
  done: boolean;
  /** A try is awaiting the store: an abort must wait for it so no reservation leaks. */
  trying: boolean;
  abortedWhileTrying: boolean;
  /** Earliest time a candidate may fit, from the last try; undefined if unknown. */
  readyAt: number | undefined;
  resolve(admission: Admission): void;
  reject(error: unknown): void;
  onAbort: (() => void) | undefined;
}

function isPromise<T>(value: T | Promise<T>): value is Promise<T> {
  return typeof (value as { then?: unknown } | null)?.then === 'function';
}

export class AdmissionQueue {
  private readonly maxDepth: number;
  private readonly clock: Clock;
  private readonly interactive: Waiter[] = [];
  private readonly batch: Waiter[] = [];
  private readonly shares: Record<Priority, FairShare> = { interactive: new FairShare(), batch: new FairShare() };
  private queued = 0;
  /** Waiters per priority class and tenant, so a pool's fleet share hears at once when a tenant has none left. */
  private readonly perTenant = new Map<string, number>();
  private pumping = false;
  private again = false;
  private timer: unknown = undefined;
  private timerAt = Infinity;

  constructor(opts: { maxDepth: number; clock?: Clock }) {
    this.maxDepth = opts.maxDepth;
    this.clock = opts.clock ?? systemClock;
  }

  /** Requests waiting (not counting ones being tried for the first time). */
  get depth(): number {
    return this.queued;
  }

  /** Waiting requests by tenant ('' for callers without one): how many, and how long the longest has waited. */
  waitingByTenant(now = this.clock.now()): Map<string, { waiting: number; longestMs: number }> {
    const out = new Map<string, { waiting: number; longestMs: number }>();
    for (const waiter of [...this.interactive, ...this.batch]) {
      if (waiter.fresh || waiter.done) continue;
      const entry = out.get(waiter.share.tenant) ?? { waiting: 0, longestMs: 0 };
      entry.waiting += 1;
      entry.longestMs = Math.max(entry.longestMs, now - waiter.enqueuedAt);
      out.set(waiter.share.tenant, entry);
    }
    return out;
  }

  /** Tries the candidates in order; the first that fits now wins. Otherwise waits its turn (see the module comment). */
  admit(candidates: Candidate[], opts: AdmitOptions): Promise<Admission> {
    return new Promise<Admission>((resolve, reject) => {
      if (opts.signal?.aborted) {
        reject(new QueueRejection('aborted', 0));
        return;
      }
      const waiter: Waiter = {
        candidates,
        priority: opts.priority,
        share: opts.share ?? NO_TENANT,
        ceiling: opts.ceiling,
        tag: this.shares[opts.priority].tag(opts.share ?? NO_TENANT),
        deadline: opts.deadline,
        signal: opts.signal,
        enqueuedAt: this.clock.now(),
        fresh: true,
        done: false,
        trying: false,
        abortedWhileTrying: false,
        readyAt: undefined,
        resolve,
        reject,
        onAbort: undefined,
      };
      if (opts.signal) {
        waiter.onAbort = () => {
          if (waiter.trying) waiter.abortedWhileTrying = true;
          else this.finish(waiter, new QueueRejection('aborted', 0));
          this.notify();
        };
        opts.signal.addEventListener('abort', waiter.onAbort, { once: true });
      }
      const list = this.listOf(waiter.priority);
      list.splice(insertionIndex(list, waiter.tag), 0, waiter);
      const key = `${waiter.priority}|${waiter.share.tenant}`;
      this.perTenant.set(key, (this.perTenant.get(key) ?? 0) + 1);
      void this.pump();
    });
  }

  /** Capacity changed (a settle, an observation): re-check the waiters now. */
  notify(): void {
    if (this.interactive.length + this.batch.length > 0) void this.pump();
  }

  private async pump(): Promise<void> {
    if (this.pumping) {
      this.again = true;
      return;
    }
    this.pumping = true;
    try {
      do {
        this.again = false;
        await this.pass();
      } while (this.again);
    } finally {
      this.pumping = false;
    }
    this.schedule();
  }

  /**
   * One walk in priority order. A waiter that does not fit blocks its pools for everyone behind it
   * (same or lower priority): otherwise small later requests would keep overtaking a big one.
   */
  private async pass(): Promise<void> {
    const blocked = new Set<string>();
    const overCeiling = new Set<string>();
    const order = this.interactive.concat(this.batch);
    for (const waiter of order) {
      if (waiter.done) continue;
      const now = this.clock.now();
      if (waiter.ceiling) {
        // Behind its own tenant's waiter that is over the ceiling: wait for that one (FIFO within a tenant).
        const behind = overCeiling.has(waiter.share.tenant);
        const ceilingWait = behind ? undefined : await this.call(waiter, () => waiter.ceiling!.waitFor(waiter.candidates[0]!.demand, now));
        if (waiter.done) continue;
        if (ceilingWait !== 0) {
          this.holdUnderCeiling(waiter, now, ceilingWait);
          overCeiling.add(waiter.share.tenant);
          continue;
        }
      }
      let wait = Infinity; // shortest known wait over all candidates
      let ownWait = Infinity; // the same over candidates not blocked by a waiter ahead: what wakes this one
      let unknown = false; // some candidate's wait cannot be estimated
      let admitted = false;
      const heldBack = new Set<string>(); // pools its tenant let go to others: not blocked for those behind
      for (let i = 0; i < waiter.candidates.length && !admitted; i++) {
        const { pool, demand } = waiter.candidates[i]!;
        if (blocked.has(pool.id)) {
          // Estimating costs a pool call per waiter per pass: only when a decision needs it.
          const needed = waiter.fresh || now >= waiter.deadline;
          const estimate = needed && pool.waitTime ? await this.call(waiter, () => pool.waitTime!(demand, now)) : undefined;
          if (waiter.done) break;
          if (estimate === undefined) unknown = true;
          else wait = Math.min(wait, estimate);
          pool.fleet?.waiting(waiter.share, waiter.priority, now);
          continue;
        }
        if (pool.fleet && !pool.fleet.mayAdmit(waiter.share, waiter.priority, now)) {
          // Its tenant is ahead of another waiting tenant fleet-wide: it lets the pool go to them,
          // without blocking it for this replica's waiters behind it, and looks again shortly.
          pool.fleet.waiting(waiter.share, waiter.priority, now);
          unknown = true;
          ownWait = Math.min(ownWait, pool.recheckMs ?? FLEET_RECHECK_MS);
          heldBack.add(pool.id);
          continue;
        }
        const result = await this.call(waiter, () => pool.tryReserve(demand, now, waiter.priority));
        if (result === undefined) break; // the store failed; the waiter has the error
        if (result.ok) {
          admitted = true;
          pool.fleet?.admitted(waiter.share, waiter.priority, now);
          if (waiter.done) {
            await pool.settle?.(result.reservation, undefined, now);
          } else {
            waiter.ceiling?.take(demand, now);
            this.finish(waiter, undefined, { candidateIndex: i, reservation: result.reservation, queuedMs: now - waiter.enqueuedAt });
          }
        } else {
          wait = Math.min(wait, result.waitMs);
          ownWait = Math.min(ownWait, result.waitMs, pool.recheckMs ?? Infinity);
          pool.fleet?.waiting(waiter.share, waiter.priority, now);
          if (waiter.priority === 'interactive') pool.interactiveWaiting?.(now);
        }
      }
      if (admitted || waiter.done) continue;

      // Behind another waiter, the one ahead's progress (its timer, a notify) is what wakes this one.
      waiter.readyAt = ownWait === Infinity ? undefined : now + ownWait;
      if (!unknown && wait === Infinity) {
        this.finish(waiter, new QueueRejection('unavailable', UNAVAILABLE_RETRY_MS, 'no key can serve this request'));
        continue;
      }
      const retryAfterMs = unknown ? UNKNOWN_RETRY_MS : Math.max(1, wait);
      // Reject at once when the buckets say it cannot fit before the deadline, rather than wait and fail.
      if ((!unknown && now + wait > waiter.deadline) || now >= waiter.deadline) {
        this.finish(waiter, new QueueRejection('deadline', retryAfterMs, `no capacity before the deadline; expected in ${Math.ceil(retryAfterMs)} ms`));
        continue;
      }
      if (waiter.fresh) {
        if (this.queued >= this.maxDepth) {
          this.finish(waiter, new QueueRejection('full', retryAfterMs, `the admission queue is full (${this.maxDepth})`));
          continue;
        }
        waiter.fresh = false;
        this.queued++;
      }
      for (const { pool } of waiter.candidates) if (!heldBack.has(pool.id)) blocked.add(pool.id);
    }
  }

  /**
   * A waiter over its tenant's ceiling waits without trying a pool, so it holds up no other tenant;
   * or, when the ceiling will not have room before its deadline, gets an honest 429 at once.
   * `wait` is undefined behind another waiter of its tenant (that one's progress wakes it).
   */
  private holdUnderCeiling(waiter: Waiter, now: number, wait: number | undefined): void {
    const known = wait !== undefined && Number.isFinite(wait);
    waiter.readyAt = known ? now + wait : undefined;
    if ((known && now + wait > waiter.deadline) || now >= waiter.deadline) {
      const retryAfterMs = known ? Math.max(1, wait) : UNKNOWN_RETRY_MS;
      this.finish(waiter, new QueueRejection('ceiling', retryAfterMs, `over the tenant's own limit; room expected in ${Math.ceil(retryAfterMs)} ms`));
      return;
    }
    if (waiter.fresh) {
      if (this.queued >= this.maxDepth) {
        this.finish(waiter, new QueueRejection('full', known ? Math.max(1, wait) : UNKNOWN_RETRY_MS, `the admission queue is full (${this.maxDepth})`));
        return;
      }
      waiter.fresh = false;
      this.queued++;
    }
  }

  /** Runs a possibly async pool call; a failure rejects the waiter and yields undefined. */
  private async call<T>(waiter: Waiter, fn: () => T | Promise<T>): Promise<T | undefined> {
    try {
      const value = fn();
      if (!isPromise(value)) return value;
      waiter.trying = true;
      try {
        return await value;
      } finally {
        waiter.trying = false;
        if (waiter.abortedWhileTrying) this.finish(waiter, new QueueRejection('aborted', 0));
      }
    } catch (error) {
      this.finish(waiter, error);
      return undefined;
    }
  }

  private listOf(priority: Priority): Waiter[] {
    return priority === 'interactive' ? this.interactive : this.batch;
  }

  private finish(waiter: Waiter, error: unknown, admission?: Admission): void {
    if (waiter.done) return;
    waiter.done = true;
    if (admission) this.shares[waiter.priority].admitted(waiter.tag);
    const list = this.listOf(waiter.priority);
    const index = list.indexOf(waiter);
    if (index >= 0) list.splice(index, 1);
    const key = `${waiter.priority}|${waiter.share.tenant}`;
    const left = (this.perTenant.get(key) ?? 1) - 1;
    if (left > 0) this.perTenant.set(key, left);
    else {
      this.perTenant.delete(key);
      const now = this.clock.now();
      for (const { pool } of waiter.candidates) pool.fleet?.idle(waiter.share, waiter.priority, now);
    }
    if (!waiter.fresh) this.queued--;
    if (waiter.onAbort) waiter.signal?.removeEventListener('abort', waiter.onAbort);
    if (admission) waiter.resolve(admission);
    else waiter.reject(error);
  }

  /** One timer, for the earliest moment a waiter may fit or reach its deadline. */
  private schedule(): void {
    let at = Infinity;
    for (const list of [this.interactive, this.batch]) {
      for (const waiter of list) {
        if (waiter.readyAt !== undefined && waiter.readyAt < at) at = waiter.readyAt;
        if (waiter.deadline < at) at = waiter.deadline;
      }
    }
    if (at === this.timerAt && this.timer !== undefined) return;
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
    this.timerAt = at;
    if (at === Infinity) return;
    const delay = Math.max(1, at - this.clock.now());
    this.timer = this.clock.setTimeout(() => {
      this.timer = undefined;
      this.timerAt = Infinity;
      void this.pump();
    }, delay);
  }
}
