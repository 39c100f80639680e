/**
 * The upstream connections one gateway holds to one provider are limited (the HTTP client's pool
 * per origin). A request beyond them would wait inside the client, unseen by the queue and its
 * deadline; instead admission takes a connection slot with the key's reservation, and a request
 * that finds none waits in the queue like one that finds no room on a key.
 */
import type { AdmissionPool } from './queue.js';
import { SETTLE_BOUND_WAIT_MS } from './policy.js';
import type { Demand, Priority, QuotaPool, ReserveResult, Reservation } from './types.js';

export const DEFAULT_CONNECTIONS = 512;

export class ConnectionSlots {
  private used = 0;

  constructor(readonly capacity: number) {}

  get inUse(): number {
    return this.used;
  }

  tryTake(): boolean {
    if (this.used >= this.capacity) return false;
    this.used++;
    return true;
  }

  release(): void {
    this.used = Math.max(0, this.used - 1);
  }
}

function isPromise<T>(value: T | Promise<T>): value is Promise<T> {
  return typeof (value as { then?: unknown } | null)?.then === 'function';
}

/**
 * A provider's pool as one request's admission sees it: a connection slot is taken with each
 * reservation (released when the reservation settles), and keys in `avoid` (they refused this
 * request) are passed over. A full connection pool is a wait that only a settle ends.
 */
export function admissionPool(pool: QuotaPool, slots: ConnectionSlots, avoid: ReadonlySet<string>): AdmissionPool {
  const settle = (reservation: Reservation, usage: undefined, now: number) => {
    slots.release();
    return pool.settle(reservation, usage, now);
  };
  const admission: AdmissionPool = {
    id: pool.id,
    tryReserve(demand: Demand, now: number, priority: Priority): ReserveResult | Promise<ReserveResult> {
      if (!slots.tryTake()) return { ok: false, waitMs: SETTLE_BOUND_WAIT_MS };
      const done = (result: ReserveResult) => {
        if (!result.ok) slots.release();
        return result;
      };
      let result: ReserveResult | Promise<ReserveResult>;
      try {
        result = pool.tryReserve(demand, now, priority, avoid);
      } catch (error) {
        slots.release();
        throw error;
      }
      if (!isPromise(result)) return done(result);
      return result.then(done, (error: unknown) => {
        slots.release();
        throw error;
      });
    },
    waitTime(demand: Demand, now: number): number | Promise<number> {
      const floor = slots.inUse >= slots.capacity ? SETTLE_BOUND_WAIT_MS : 0;
      const wait = pool.waitTime(demand, now, avoid);
      return isPromise(wait) ? wait.then((ms) => Math.max(ms, floor)) : Math.max(wait, floor);
    },
    settle,
  };
  if (pool.interactiveWaiting) admission.interactiveWaiting = (now) => pool.interactiveWaiting!(now);
  if (pool.fleet) admission.fleet = pool.fleet;
  const recheckMs = (pool as { recheckMs?: number }).recheckMs;
  return recheckMs === undefined ? admission : { ...admission, recheckMs };
}
