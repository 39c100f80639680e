/**
 * The negative cache: a request the provider rejected as invalid will be rejected again, so its
 * error is answered from memory for a while instead of spending quota to hear it again.
 *
 * Only client errors that retrying cannot fix are kept: 4xx except 401/403 (a key problem, another
 * key may work), 408 (timeout), 409 (conflict, transient) and 429 (rate limit). 5xx never.
 */

export const DEFAULT_NEGATIVE_TTL_MS = 10 * 60 * 1000;
const NOT_REMEMBERED = new Set([401, 403, 408, 409, 429]);

/** Headers that describe one transfer, not the error; dropped so a replay sets its own. */
const TRANSFER_HEADERS = new Set([
  'connection',
  'keep-alive',
  'transfer-encoding',
  'content-length',
  'content-encoding',
  'date',
  'set-cookie',
]);

export function isRememberedFailure(status: number): boolean {
  return status >= 400 && status < 500 && !NOT_REMEMBERED.has(status);
}

export interface RememberedFailure {
  status: number;
  body: string;
  headers: Record<string, string>;
  expiresAt: number;
}

export interface NegativeCacheOptions {
  ttlMs?: number;
  maxEntries?: number;
  now?: () => number;
}

export class NegativeCache {
  private readonly ttlMs: number;
  private readonly maxEntries: number;
  private readonly now: () => number;
  private readonly failures = new Map<string, RememberedFailure>();

  constructor(options: NegativeCacheOptions = {}) {
    this.ttlMs = options.ttlMs ?? DEFAULT_NEGATIVE_TTL_MS;
    this.maxEntries = options.maxEntries ?? 10_000;
    this.now = options.now ?? Date.now;
  }

  /** Keeps the failure if its status qualifies; returns whether it was kept. */
  remember(key: string, status: number, body: string, headers: Record<string, string | string[] | undefined> = {}): boolean {
    if (!isRememberedFailure(status)) return false;
    const kept: Record<string, string> = {};
    for (const [name, value] of Object.entries(headers)) {
      const lower = name.toLowerCase();
      if (value === undefined || TRANSFER_HEADERS.has(lower)) continue;
      kept[lower] = Array.isArray(value) ? value.join(', ') : value;
    }
    this.failures.delete(key);
    if (this.failures.size >= this.maxEntries) {
      const oldest = this.failures.keys().next();
      if (!oldest.done) this.failures.delete(oldest.value);
    }
    this.failures.set(key, { status, body, headers: kept, expiresAt: this.now() + this.ttlMs });
    return true;
  }

  lookup(key: string): RememberedFailure | undefined {
    const failure = this.failures.get(key);
    if (!failure) return undefined;
    if (failure.expiresAt <= this.now()) {
      this.failures.delete(key);
      return undefined;
    }
    return failure;
  }

  forget(key: string): void {
    this.failures.delete(key);
  }

  get size(): number {
    return this.failures.size;
  }
}
