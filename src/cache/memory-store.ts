/**
 * The in-process exact cache: least-recently-used eviction under a byte budget, a TTL per entry,
 * and an injected clock so expiry is testable without waiting.
 */
import type { CacheEntry } from './entry.js';
import type { CacheStore, CacheStoreStats } from './store.js';

export const DEFAULT_CACHE_BYTES = 64 * 1024 * 1024;
export const DEFAULT_CACHE_TTL_MS = 6 * 60 * 60 * 1000;

export interface MemoryStoreOptions {
  maxBytes?: number;
  defaultTtlMs?: number;
  /** Milliseconds since the epoch; Date.now by default. */
  now?: () => number;
}

interface Slot {
  entry: CacheEntry;
  expiresAt: number;
  /** entry.bytes plus the key, as charged against the budget. */
  bytes: number;
}

export class MemoryCacheStore implements CacheStore {
  readonly maxBytes: number;
  private readonly defaultTtlMs: number;
  private readonly now: () => number;
  /** A Map iterates in insertion order: re-inserting on use keeps the least recent first. */
  private readonly slots = new Map<string, Slot>();
  private bytes = 0;

  constructor(options: MemoryStoreOptions = {}) {
    this.maxBytes = options.maxBytes ?? DEFAULT_CACHE_BYTES;
    this.defaultTtlMs = options.defaultTtlMs ?? DEFAULT_CACHE_TTL_MS;
    this.now = options.now ?? Date.now;
  }

  get(key: string): CacheEntry | undefined {
    const slot = this.slots.get(key);
    if (!slot) return undefined;
    if (slot.expiresAt <= this.now()) {
      this.remove(key, slot);
      return undefined;
    }
    this.slots.delete(key);
    this.slots.set(key, slot);
    return slot.entry;
  }

  /** An entry bigger than the whole budget is not stored (and replaces nothing). */
  set(key: string, entry: CacheEntry, ttlMs: number = this.defaultTtlMs): void {
    const bytes = entry.bytes + 2 * key.length;
    if (bytes > this.maxBytes || ttlMs <= 0) return;
    const previous = this.slots.get(key);
    if (previous) this.remove(key, previous);
    this.makeRoom(bytes);
    this.slots.set(key, { entry, expiresAt: this.now() + ttlMs, bytes });
    this.bytes += bytes;
  }

  delete(key: string): void {
    const slot = this.slots.get(key);
    if (slot) this.remove(key, slot);
  }

  stats(): CacheStoreStats {
    return { entries: this.slots.size, bytes: this.bytes };
  }

  // Least recently used first. Expired entries are not hunted here (that would be a scan per
  // insert once full); they fall out by age, on read, or through prune().
  private makeRoom(bytes: number): void {
    for (const [key, slot] of this.slots) {
      if (this.bytes + bytes <= this.maxBytes) return;
      this.remove(key, slot);
    }
  }

  /** Drop every expired entry; for a periodic timer owned by the caller. Returns how many. */
  prune(): number {
    const now = this.now();
    let dropped = 0;
    for (const [key, slot] of this.slots) {
      if (slot.expiresAt <= now) {
        this.remove(key, slot);
        dropped += 1;
      }
    }
    return dropped;
  }

  private remove(key: string, slot: Slot): void {
    this.slots.delete(key);
    this.bytes -= slot.bytes;
  }
}
