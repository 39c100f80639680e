/**
 * A pool's fair share across replicas: each replica reports which tenants have requests waiting for
 * the pool here and how many it admitted, and reads back the service of every tenant waiting
 * anywhere (one script call, at most every SYNC_MS while anything happens). The decision is
 * quota/fair-share.ts's fleetTurn over the last reading, brought up to date with this replica's
 * own admissions since; nothing waits on Redis in the admission path. While the pool's Redis slot
 * is out of reach every tenant may go: each replica's own queue still shares fairly what it has.
 */
import { fleetTurn, type FleetTurns, type Share } from '../quota/fair-share.js';
import type { Priority } from '../quota/types.js';
import type { RedisStore } from './redis-store.js';

/** How stale the reading may get while requests wait or are admitted. */
const SYNC_MS = 50;
/**
 * A tenant waits here if one of its requests did in the last this long (the queue says so on each
 * pass, and `idle` ends it at once): generous, since a busy process's passes come late.
 */
const WAITING_MS = 2000;
/** A replica's report of a waiting tenant lapses after this long (the replica may be gone). */
const REPORT_TTL_MS = 3000;

interface ClassState {
  /** Tenants waiting in the fleet → service, as last read plus this replica's admissions since. */
  service: Map<string, number>;
  /** Admissions here not yet reported. */
  pending: Map<string, { weight: number; count: number }>;
  /** When each tenant last had a request waiting here. */
  waitingAt: Map<string, { weight: number; at: number }>;
  /** Tenants reported waiting at the last sync (a report of not waiting any more is due once). */
  reported: Set<string>;
  syncedAt: number;
  syncing: boolean;
}

export class RedisFleetShare implements FleetTurns {
  private readonly classes: Record<Priority, ClassState> = { interactive: this.fresh(), batch: this.fresh() };

  constructor(
    private readonly store: RedisStore,
    private readonly poolId: string,
  ) {}

  mayAdmit(share: Share, priority: Priority, now: number): boolean {
    if (this.store.degradedFor(this.poolId)) return true;
    const state = this.classes[priority];
    this.maybeSync(priority, now);
    return fleetTurn(state.service, share.tenant);
  }

  waiting(share: Share, priority: Priority, now: number): void {
    const state = this.classes[priority];
    state.waitingAt.set(share.tenant, { weight: share.weight, at: now });
    this.maybeSync(priority, now);
  }

  idle(share: Share, priority: Priority, now: number): void {
    const state = this.classes[priority];
    if (!state.waitingAt.delete(share.tenant)) return;
    // Another tenant may be held back behind this one's count: say so soon.
    state.syncedAt = Math.min(state.syncedAt, now - SYNC_MS);
    this.maybeSync(priority, now);
  }

  admitted(share: Share, priority: Priority, now: number): void {
    // Admitted on this replica's share of the pool while Redis was away: the fleet's counts never saw it.
    if (this.store.degradedFor(this.poolId)) return;
    const state = this.classes[priority];
    const pending = state.pending.get(share.tenant) ?? { weight: share.weight, count: 0 };
    pending.count++;
    state.pending.set(share.tenant, pending);
    const known = state.service.get(share.tenant);
    if (known !== undefined) state.service.set(share.tenant, known + 1 / share.weight);
    this.maybeSync(priority, now);
  }

  private fresh(): ClassState {
    return { service: new Map(), pending: new Map(), waitingAt: new Map(), reported: new Set(), syncedAt: -Infinity, syncing: false };
  }

  private maybeSync(priority: Priority, now: number): void {
    const state = this.classes[priority];
    if (state.syncing || now - state.syncedAt < SYNC_MS || this.store.degradedFor(this.poolId)) return;
    const args: Array<string | number> = [];
    const tenants = new Set([...state.waitingAt.keys(), ...state.pending.keys(), ...state.reported]);
    const sent = new Map<string, number>();
    const nowWaiting = new Set<string>();
    for (const tenant of tenants) {
      const waiting = state.waitingAt.get(tenant);
      const here = waiting !== undefined && now - waiting.at <= WAITING_MS;
      if (!here) state.waitingAt.delete(tenant);
      else nowWaiting.add(tenant);
      const pending = state.pending.get(tenant);
      const count = pending?.count ?? 0;
      const weight = waiting?.weight ?? pending?.weight ?? 1;
      if (!here && count === 0 && !state.reported.has(tenant)) continue;
      sent.set(tenant, count);
      args.push(tenant, weight, here ? 1 : 0, count);
    }
    if (args.length === 0 && state.service.size === 0) return;
    state.pending.clear();
    state.syncing = true;
    state.syncedAt = now;
    const keys = [this.serviceKey(priority), `${this.serviceKey(priority)}:waiting`];
    this.store
      .run('spillwayFairSync', keys, [now, this.store.replicaId, REPORT_TTL_MS, ...args])
      .then(
        (reply) => {
          const [, ...pairs] = reply as string[];
          const service = new Map<string, number>();
          for (let j = 0; j + 1 < pairs.length; j += 2) service.set(pairs[j]!, Number(pairs[j + 1]));
          // Admissions made here while the report was on its way count on top of what Redis said.
          for (const [tenant, { weight, count }] of state.pending) {
            const known = service.get(tenant);
            if (known !== undefined) service.set(tenant, known + count / weight);
          }
          state.service = service;
          state.reported = nowWaiting;
        },
        () => {
          // Not reported (a slow or lost Redis): those admissions count at the next report, and the
          // last reading stands meanwhile. Whether Redis is down is for the pool's own commands to say:
          // a missed report must not send the pool to its local share.
          for (const [tenant, count] of sent) {
            if (count === 0) continue;
            const pending = state.pending.get(tenant) ?? { weight: state.waitingAt.get(tenant)?.weight ?? 1, count: 0 };
            pending.count += count;
            state.pending.set(tenant, pending);
          }
        },
      )
      .finally(() => {
        state.syncing = false;
      });
  }

  /** Beside the pool's keys (same hash tag), named so no key id can collide with it. */
  private serviceKey(priority: Priority): string {
    return `${this.store.key(`{${this.poolId}}`)}!fair:${priority}`;
  }
}
