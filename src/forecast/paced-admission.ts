/**
 * Batch pacing in admission: a pool whose day is projected short (forecast/day-ahead.ts) admits
 * batch requests no faster than its allowance. Interactive requests pass straight through; a batch
 * request over the pace waits in the queue like one that found no room, until its next turn.
 */
import type { AdmissionPool } from '../quota/queue.js';
import type { Demand, Priority, ReserveResult } from '../quota/types.js';

export interface BatchPacer {
  /** ms until a batch request may take the pool (0: now or not paced). */
  batchWait(pool: string, now: number): number;
  batchTaken(pool: string, now: number): void;
}

export function pacedAdmission(inner: AdmissionPool, pool: string, pacer: BatchPacer): AdmissionPool {
  return {
    ...inner,
    tryReserve(demand: Demand, now: number, priority: Priority): ReserveResult | Promise<ReserveResult> {
      if (priority !== 'batch') return inner.tryReserve(demand, now, priority);
      const wait = pacer.batchWait(pool, now);
      if (wait > 0) return { ok: false, waitMs: wait };
      const taken = (result: ReserveResult) => {
        if (result.ok) pacer.batchTaken(pool, now);
        return result;
      };
      const result = inner.tryReserve(demand, now, priority);
      return result instanceof Promise ? result.then(taken) : taken(result);
    },
  };
}
