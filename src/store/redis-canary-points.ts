/**
 * The numbering of canary identities shared by every replica: per route one Redis hash (identity
 * → n) and one counter, in one script so two replicas meeting a new user at once agree on its n.
 * Both keys carry the route in braces, so they share a Redis Cluster slot. Known points are kept
 * locally; while Redis is out of reach a new identity takes its hashed point.
 */
import { sequencePoint } from '../routing/canary.js';
import { hashedPoint, PointCache, type CanaryPoints } from '../routing/canary-points.js';
import type { RedisStore } from './redis-store.js';

const NUMBER_OF = `
local n = redis.call('HGET', KEYS[1], ARGV[1])
if n then return tonumber(n) end
n = redis.call('INCR', KEYS[2])
redis.call('HSET', KEYS[1], ARGV[1], n)
return n`;

export class RedisCanaryPoints implements CanaryPoints {
  private readonly cache = new PointCache();

  constructor(private readonly store: RedisStore) {}

  async pointOf(route: string, identity: string): Promise<number> {
    const known = this.cache.get(route, identity);
    if (known !== undefined) return known;
    if (this.store.degraded) return hashedPoint(route, identity);
    const tag = `{canary:${route}}`;
    try {
      const n = Number(await this.store.client.eval(NUMBER_OF, 2, this.store.key(tag, 'points'), this.store.key(tag, 'count'), identity));
      const point = sequencePoint(n);
      this.cache.set(route, identity, point);
      return point;
    } catch (error) {
      this.store.markDown(error);
      return hashedPoint(route, identity);
    }
  }
}
