/**
 * Shadow pairs in the Redis every replica shares (`store: redis`), so `GET /admin/shadow` on any
 * replica reports the pairs of all. Bounded per route by count and age (store/redis-timeline.ts).
 */
import type { ShadowPair, ShadowPairs } from '../routing/shadow-report.js';
import { RedisTimeline, type TimelineBounds } from './redis-timeline.js';
import type { RedisStore } from './redis-store.js';
import { cutSide } from './sqlite-shadow.js';

export const SHADOW_BOUNDS: TimelineBounds = { cap: 20_000, ttlMs: 14 * 86_400_000 };

export class RedisShadowPairs implements ShadowPairs {
  private readonly timeline: RedisTimeline<ShadowPair>;

  constructor(store: RedisStore, bounds: TimelineBounds = SHADOW_BOUNDS, log?: (message: string) => void) {
    this.timeline = new RedisTimeline(store, 'shadow-pairs', bounds, log);
  }

  add(pair: ShadowPair): void {
    this.timeline.add({ ...pair, primary: cutSide(pair.primary), candidate: cutSide(pair.candidate) });
  }

  list(route: string | undefined, since: number, limit: number): Promise<ShadowPair[]> {
    return this.timeline.list(route, since, limit);
  }

  close(): Promise<void> {
    return this.timeline.close();
  }
}
