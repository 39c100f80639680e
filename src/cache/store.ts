/** Where exact-cache entries live. In-process LRU now; a Redis implementation can follow. */
import type { CacheEntry } from './entry.js';

export interface CacheStoreStats {
  entries: number;
  bytes: number;
}

export interface CacheStore {
  get(key: string): Promise<CacheEntry | undefined> | CacheEntry | undefined;
  /** `ttlMs` omitted → the store's default TTL. */
  set(key: string, entry: CacheEntry, ttlMs?: number): Promise<void> | void;
  delete(key: string): Promise<void> | void;
  stats(): CacheStoreStats;
  /** Lets go of a connection, for stores that hold one. */
  close?(): Promise<void>;
}
