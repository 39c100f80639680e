/**
 * Weighted fair queueing across tenants (self-clocked: virtual time is the tag of the last
 * admission). Each waiting request gets a finish tag: its tenant's previous tag, or the virtual
 * time if the tenant was idle, plus 1/weight. Admitting in tag order gives each waiting tenant
 * admissions in proportion to its weight, keeps each tenant's own requests in arrival order, lets
 * an idle tenant bank nothing (it restarts at the virtual time), and starves no one: a tag is
 * fixed when the request arrives, and every later arrival of any tenant gets a later tag than the
 * virtual time it saw.
 */
export interface Share {
  /** The tenant's name ('' for callers without one). */
  tenant: string;
  weight: number;
}

export class FairShare {
  private virtualTime = 0;
  private readonly lastTag = new Map<string, number>();

  /** The finish tag of the tenant's next request. */
  tag(share: Share): number {
    const start = Math.max(this.virtualTime, this.lastTag.get(share.tenant) ?? 0);
    const tag = start + 1 / share.weight;
    this.lastTag.set(share.tenant, tag);
    return tag;
  }

  /** A request with this tag was admitted: virtual time moves up to it. */
  admitted(tag: number): void {
    if (tag > this.virtualTime) this.virtualTime = tag;
    // Tenants whose last tag virtual time has passed restart at virtual time anyway: forget them.
    if (this.lastTag.size > 1024) {
      for (const [tenant, last] of this.lastTag) if (last <= this.virtualTime) this.lastTag.delete(tenant);
    }
  }
}

/** Where a waiter with `tag` goes in a list sorted by tag: after every waiter with a tag not above it (FIFO among equals). */
export function insertionIndex(tags: ReadonlyArray<{ tag: number }>, tag: number): number {
  let low = 0;
  let high = tags.length;
  while (low < high) {
    const mid = (low + high) >>> 1;
    if (tags[mid]!.tag <= tag) low = mid + 1;
    else high = mid;
  }
  return low;
}

/**
 * Fair share across replicas (store/redis-fleet-share.ts keeps the numbers in Redis). Each tenant
 * waiting anywhere in the fleet for a pool has a service count on it: its admissions there divided
 * by its weight, counted from the virtual time it started waiting at. A tenant may take an
 * admission while its count is within `slack` of the least-served waiting tenant's, so the
 * least-served one is always free to go (no one starves) and, over time, tenants that both wait
 * get admissions in proportion to their weights, wherever their requests landed.
 */
export const FLEET_SLACK = 1;

/** Whether `tenant` may be admitted now, given the fleet's waiting tenants and their service. */
export function fleetTurn(service: ReadonlyMap<string, number>, tenant: string, slack = FLEET_SLACK): boolean {
  const own = service.get(tenant);
  // Not yet known to the fleet as waiting: its next report places it at the virtual time.
  if (own === undefined) return true;
  let least = Infinity;
  for (const other of service.values()) if (other < least) least = other;
  return own <= least + slack;
}

/** What the admission queue asks of a pool's fair share across replicas. */
export interface FleetTurns {
  /** The tenant's turn on this pool has come, fleet-wide. */
  mayAdmit(share: Share, priority: 'interactive' | 'batch', now: number): boolean;
  /** A request of the tenant waits for this pool here. */
  waiting(share: Share, priority: 'interactive' | 'batch', now: number): void;
  /** The tenant has no request waiting here any more. */
  idle(share: Share, priority: 'interactive' | 'batch', now: number): void;
  /** A request of the tenant was admitted on this pool here. */
  admitted(share: Share, priority: 'interactive' | 'batch', now: number): void;
}
