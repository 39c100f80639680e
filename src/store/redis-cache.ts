/**
 * The exact cache in Redis, shared by replicas: each entry one JSON string with its TTL, evicted
 * by Redis itself (TTL, and the server's maxmemory policy). A cache must never fail a request, so
 * while Redis is unreachable reads miss and writes are dropped.
 */
import type { CacheEntry } from '../cache/entry.js';
import { DEFAULT_CACHE_TTL_MS } from '../cache/memory-store.js';
import type { CacheStore, CacheStoreStats } from '../cache/store.js';
import type { RedisStore } from './redis-store.js';

export interface RedisCacheOptions {
  defaultTtlMs?: number;
  /** Entries larger than this (CacheEntry.bytes) are not stored. */
  maxEntryBytes?: number;
}

const DEFAULT_MAX_ENTRY_BYTES = 8 * 1024 * 1024;

function isEntry(value: unknown): value is CacheEntry {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  return (v.surface === 'anthropic' || v.surface === 'openai' || v.surface === 'embedding' || v.surface === 'native') && typeof v.message === 'object' && typeof v.createdAt === 'number' && typeof v.bytes === 'number';
}

export class RedisCacheStore implements CacheStore {
  private readonly store: RedisStore;
  private readonly defaultTtlMs: number;
  private readonly maxEntryBytes: number;
  private lastStats: CacheStoreStats = { entries: 0, bytes: 0 };

  constructor(store: RedisStore, options: RedisCacheOptions = {}) {
    this.store = store;
    this.defaultTtlMs = options.defaultTtlMs ?? DEFAULT_CACHE_TTL_MS;
    this.maxEntryBytes = options.maxEntryBytes ?? DEFAULT_MAX_ENTRY_BYTES;
    store.retain();
  }

  async get(key: string): Promise<CacheEntry | undefined> {
    if (this.store.degraded) return undefined;
    try {
      const text = await this.store.client.get(this.redisKey(key));
      if (text === null) return undefined;
      const value: unknown = JSON.parse(text);
      return isEntry(value) ? value : undefined;
    } catch (error) {
      if (!(error instanceof SyntaxError)) this.failed(error);
      return undefined;
    }
  }

  async set(key: string, entry: CacheEntry, ttlMs: number = this.defaultTtlMs): Promise<void> {
    if (this.store.degraded || ttlMs <= 0 || entry.bytes > this.maxEntryBytes) return;
    try {
      await this.store.client.set(this.redisKey(key), JSON.stringify(entry), 'PX', Math.max(1, Math.round(ttlMs)));
    } catch (error) {
      this.failed(error);
    }
  }

  async delete(key: string): Promise<void> {
    if (this.store.degraded) return;
    try {
      await this.store.client.del(this.redisKey(key));
    } catch (error) {
      this.failed(error);
    }
  }

  /** As of the last `refreshStats` (counting keys in Redis is a scan, not for every call). */
  stats(): CacheStoreStats {
    return { ...this.lastStats };
  }

  /** Counts the entries and their stored bytes now (a SCAN over the cache's keys). */
  async refreshStats(): Promise<CacheStoreStats> {
    let entries = 0;
    let bytes = 0;
    for (const server of this.store.primaries()) {
      let cursor = '0';
      do {
        const [next, keys] = await server.scan(cursor, 'MATCH', `${this.redisKey('')}*`, 'COUNT', 1000);
        cursor = next;
        if (keys.length > 0) {
          const lengths = await Promise.all(keys.map((k) => server.strlen(k)));
          entries += keys.length;
          bytes += lengths.reduce((sum, n) => sum + n, 0);
        }
      } while (cursor !== '0');
    }
    this.lastStats = { entries, bytes };
    return this.stats();
  }

  async close(): Promise<void> {
    await this.store.release();
  }

  /**
   * On one server a failed command means Redis is out of reach. On a cluster the entries spread
   * over every slot (no tag: each command touches one key), so a lost node is a miss on its share
   * of them and no reason to stop sharing the rest.
   */
  private failed(error: unknown): void {
    if (!this.store.clustered) this.store.markDown(error);
  }

  private redisKey(key: string): string {
    return this.store.key('cache', key);
  }
}
