/**
 * Who is the n-th identity of a canary route (canary.ts sequencePoint), so each keeps its point
 * for good. In memory for one process; store/redis-canary-points.ts shares the numbering across
 * replicas, so a user is on the same side whichever replica serves it.
 */
import { canaryPoint, sequencePoint } from './canary.js';

export interface CanaryPoints {
  pointOf(route: string, identity: string): Promise<number>;
}

/** Points already known, kept locally; bounded, as identities come and go. */
export class PointCache {
  private readonly points = new Map<string, number>();
  constructor(private readonly limit = 100_000) {}

  get(route: string, identity: string): number | undefined {
    return this.points.get(`${route}\0${identity}`);
  }

  set(route: string, identity: string, point: number): void {
    if (this.points.size >= this.limit) this.points.clear();
    this.points.set(`${route}\0${identity}`, point);
  }
}

export class MemoryCanaryPoints implements CanaryPoints {
  private readonly seen = new Map<string, number>();
  private readonly cache = new PointCache();

  async pointOf(route: string, identity: string): Promise<number> {
    const known = this.cache.get(route, identity);
    if (known !== undefined) return known;
    const n = (this.seen.get(route) ?? 0) + 1;
    this.seen.set(route, n);
    const point = sequencePoint(n);
    this.cache.set(route, identity, point);
    return point;
  }
}

/** The stand-in where no numbering can be had: the identity's hash. */
export const hashedPoint = canaryPoint;
