/**
 * decideRetry: what to do after an attempt failed. Pure; the dispatcher sleeps and re-admits.
 * Follows what the official SDKs retry (408, 409, 429, ≥500, timeouts, connection errors, with
 * `x-should-retry` overriding), but only before the client got a byte, within the deadline, the
 * attempt limit and the retry budget.
 */
import { type HeaderBag, retryDelayFromHeaders } from '../quota/headers.js';
import type { RetryBudget } from './budget.js';
import type { KeyFaultScope } from './key-fault.js';

export type Outcome =
  | {
      kind: 'status';
      status: number;
      headers: Record<string, string | string[] | undefined>;
      /** The provider refused the key, or this request on this key (see key-fault.ts). */
      keyFault?: KeyFaultScope;
    }
  | { kind: 'timeout' }
  | { kind: 'connection' };

export type RetryAction = 'retry-now' | 'retry-after' | 'give-up';

export interface RetryDecision {
  action: RetryAction;
  delayMs: number;
  reason: string;
}

export interface RetryContext {
  now: number;
  deadline: number;
  /** Whether any byte of the answer already reached the client: then nothing can be retried. */
  bytesSent: boolean;
  budget: RetryBudget;
  /** Injected for tests; Math.random by default. */
  random?: () => number;
  /** Attempts allowed in all (config retry.max_attempts). */
  maxAttempts?: number;
}

export const BACKOFF_BASE_MS = 500;
export const BACKOFF_CAP_MS = 8000;
export const DEFAULT_MAX_ATTEMPTS = 4;

/** Exponential backoff with full jitter: uniform in [0, min(cap, base·2^(attempt-1))). */
export function backoffMs(attempt: number, random: () => number = Math.random): number {
  const ceiling = Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** Math.max(0, attempt - 1));
  return Math.floor(random() * ceiling);
}

function header(headers: HeaderBag, name: string): string | undefined {
  const value = headers[name] ?? headers[name.toLowerCase()];
  return Array.isArray(value) ? value[0] : value;
}

interface Verdict {
  retry: boolean;
  /**
   * The provider refused the key (or this request on it): another key may serve at once. The
   * admission that follows passes over the refusing key, so the retry goes elsewhere or nowhere.
   */
  switchKey: boolean;
  reason: string;
}

function classify(outcome: Outcome): Verdict {
  if (outcome.kind === 'timeout') return { retry: true, switchKey: false, reason: 'timeout' };
  if (outcome.kind === 'connection') return { retry: true, switchKey: false, reason: 'connection error' };
  const { status, headers } = outcome;
  if (outcome.keyFault) return { retry: true, switchKey: true, reason: `${status} ${outcome.keyFault === 'key' ? 'key refused' : 'refused on this key'}` };
  const should = header(headers, 'x-should-retry');
  if (should === 'false') return { retry: false, switchKey: false, reason: `${status} with x-should-retry: false` };
  if (status === 429) return { retry: true, switchKey: false, reason: '429 rate limited' };
  if (should === 'true') return { retry: true, switchKey: false, reason: `${status} with x-should-retry: true` };
  if (status === 529) return { retry: true, switchKey: false, reason: '529 overloaded' };
  if (status >= 500) return { retry: true, switchKey: false, reason: `${status} server error` };
  if (status === 408 || status === 409) return { retry: true, switchKey: false, reason: `${status}` };
  return { retry: false, switchKey: false, reason: `${status} is not retryable` };
}

/** `attempt`: how many attempts have been made so far, the failed one included (1 after the first). */
export function decideRetry(outcome: Outcome, attempt: number, ctx: RetryContext): RetryDecision {
  const giveUp = (reason: string): RetryDecision => ({ action: 'give-up', delayMs: 0, reason });
  if (ctx.bytesSent) return giveUp('the answer has started reaching the client');
  const verdict = classify(outcome);
  if (!verdict.retry) return giveUp(verdict.reason);
  if (attempt >= (ctx.maxAttempts ?? DEFAULT_MAX_ATTEMPTS)) return giveUp(`${verdict.reason}; attempts exhausted`);
  // Moving off a refusing key adds no load to a struggling provider, so it takes nothing from the
  // retry budget (which one client's forbidden requests could otherwise drain for everyone).
  if (verdict.switchKey) {
    if (ctx.now >= ctx.deadline) return giveUp(`${verdict.reason}; the deadline has passed`);
    return { action: 'retry-now', delayMs: 0, reason: `${verdict.reason}; another key may serve it` };
  }
  const hinted = outcome.kind === 'status' ? retryDelayFromHeaders(outcome.headers, ctx.now) : undefined;
  const delayMs = hinted ?? backoffMs(attempt, ctx.random);
  if (ctx.now + delayMs > ctx.deadline) return giveUp(`${verdict.reason}; the retry would miss the deadline`);
  if (!ctx.budget.tryRetry(ctx.now)) return giveUp(`${verdict.reason}; retry budget exhausted`);
  return delayMs > 0 ? { action: 'retry-after', delayMs, reason: verdict.reason } : { action: 'retry-now', delayMs: 0, reason: verdict.reason };
}
