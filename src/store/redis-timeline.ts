/**
 * Records kept in the Redis every replica shares, one sorted set per route (scored by time), so a
 * read on any replica sees what every replica wrote. Bounded twice: each route keeps at most
 * `cap` records, and none older than `ttlMs` (trimmed at each write; the keys also expire when a
 * route stops writing). Writes are buffered and sent in one pipeline a moment later, so the code
 * that adds a record never waits on Redis. Used for shadow pairs and captured prompts.
 */
import type { RedisStore } from './redis-store.js';

/** Records wait at most this long before they are sent. */
const FLUSH_DELAY_MS = 250;

export interface TimelineBounds {
  /** Records kept per route, newest first. */
  cap: number;
  /** Records older than this are dropped. */
  ttlMs: number;
}

export interface TimelineRecord {
  route: string;
  at: number;
}

export class RedisTimeline<T extends TimelineRecord> {
  private pending: T[] = [];
  private timer: ReturnType<typeof setTimeout> | undefined;
  private flushing: Promise<void> = Promise.resolve();
  private readonly routesKey: string;

  constructor(
    private readonly store: RedisStore,
    private readonly name: string,
    private readonly bounds: TimelineBounds,
    private readonly log: (message: string) => void = () => {},
  ) {
    // One hash tag for the timeline's keys: a pipeline on a cluster must stay within one slot.
    this.routesKey = store.key(`{${name}}`, 'routes');
  }

  private keyOf(route: string): string {
    return this.store.key(`{${this.name}}`, 'route', encodeURIComponent(route));
  }

  add(record: T): void {
    this.pending.push(record);
    if (!this.timer) {
      this.timer = setTimeout(() => void this.flush(), FLUSH_DELAY_MS);
      this.timer.unref();
    }
  }

  /** Sends what is buffered now; resolves once Redis has it (or the write failed and was logged). */
  flush(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.pending.length > 0) {
      const records = this.pending;
      this.pending = [];
      // One flush after the other, so a read that waits for the last one sees every earlier write.
      this.flushing = this.flushing.then(() => this.write(records));
    }
    return this.flushing;
  }

  private async write(records: T[]): Promise<void> {
    const now = Date.now();
    const pipeline = this.store.client.pipeline();
    const routes = new Set<string>();
    for (const record of records) {
      pipeline.zadd(this.keyOf(record.route), record.at, JSON.stringify(record));
      routes.add(record.route);
    }
    for (const route of routes) {
      const key = this.keyOf(route);
      pipeline.zremrangebyscore(key, '-inf', `(${now - this.bounds.ttlMs}`);
      // Ranks count from the oldest: everything but the newest `cap`.
      pipeline.zremrangebyrank(key, 0, -(this.bounds.cap + 1));
      pipeline.pexpire(key, this.bounds.ttlMs);
      pipeline.sadd(this.routesKey, route);
    }
    pipeline.pexpire(this.routesKey, this.bounds.ttlMs);
    try {
      const results = (await pipeline.exec()) ?? [];
      const failed = results.find(([error]) => error);
      if (failed) throw failed[0];
    } catch (error) {
      this.log(`spillway: could not write ${records.length} ${this.name} records to Redis: ${error instanceof Error ? error.message : String(error)}`);
    }
  }

  /** Records of a route (every route when undefined) since `since`, newest first, this replica's buffered ones included. */
  async list(route: string | undefined, since: number, limit: number): Promise<T[]> {
    await this.flush();
    const routes = route === undefined ? await this.store.client.smembers(this.routesKey) : [route];
    const floor = Math.max(since, Date.now() - this.bounds.ttlMs);
    const lists = await Promise.all(routes.map((r) => this.store.client.zrevrangebyscore(this.keyOf(r), '+inf', floor, 'LIMIT', 0, limit)));
    return lists
      .flat()
      .map((text) => JSON.parse(text) as T)
      .sort((a, b) => b.at - a.at)
      .slice(0, limit);
  }

  async close(): Promise<void> {
    await this.flush();
  }
}
