/**
 * The negative cache: a request the provider rejected as invalid will be rejected again, so its
 * error is answered from memory for a while instead of spending quota to hear it again.
 *
 * Only faults of the request itself are kept, the ones any key would get for the same bytes: a
 * 400, 413 or 422 whose error type says the request is invalid (`invalid_request_error`, or
 * `request_too_large`). Never 401/403 or 404 (a key may lack access to a model another key has),
 * 402 or anything naming billing, credit, spend limits or quota (the account's state, not the
 * request's), 408/409/429 (transient) or 5xx.
 */

import { errorFieldsOf } from '../resilience/key-fault.js';

export const DEFAULT_NEGATIVE_TTL_MS = 10 * 60 * 1000;
const REQUEST_FAULT_STATUSES = new Set([400, 413, 422]);
const REQUEST_FAULT_TYPES = new Set(['invalid_request_error', 'request_too_large']);
/** Anthropic answers a reached spend limit or an empty credit balance with a 400 invalid_request_error. */
const ACCOUNT_WORDING = /credit|billing|spend|quota|organization|workspace|api[ _-]?key|access to/i;

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

/** Whether a provider's error answer blames the request itself (Anthropic or OpenAI error JSON). */
export function isRequestFault(status: number, body: string): boolean {
  if (!REQUEST_FAULT_STATUSES.has(status)) return false;
  // Not the provider's JSON (a proxy's page) reads as no type: nothing says it was the request.
  const { type, message } = errorFieldsOf(body);
  return REQUEST_FAULT_TYPES.has(type) && !ACCOUNT_WORDING.test(message);
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

  /** Keeps the failure if the request itself caused it (isRequestFault); returns whether it was kept. */
  remember(key: string, status: number, body: string, headers: Record<string, string | string[] | undefined> = {}): boolean {
    if (!isRequestFault(status, body)) return false;
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
