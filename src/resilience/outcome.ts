/**
 * What an upstream answer means: for the key that carried it (cool down, rest, nothing), for the
 * retry (the Outcome decideRetry reads), for the fallback chain, and for the client when it is the
 * last word. Pure, table-tested (test/unit/outcome.test.ts); dispatch and the request path do what
 * these say.
 */
import { keyFaultOf } from './key-fault.js';
import type { Outcome } from './retry.js';

/** What an answer does to the key that carried it. */
export type KeyEffect =
  | { kind: 'none' }
  /** Rate limited: no admission on the key until `until`. */
  | { kind: 'cool-down'; until: number }
  /** The provider refused the key itself: it rests until a probe succeeds. */
  | { kind: 'rest'; reason: string };

export interface Judgement {
  outcome: Outcome;
  key: KeyEffect;
}

export interface RefusalFacts {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  now: number;
  /** How long a 429 keeps the key out of admission (its retry hint or bucket reset: quota/headers.ts cooldownMs). */
  cooldownMs: number;
}

/** A non-2xx answer from upstream. */
export function judgeRefusal({ status, headers, body, now, cooldownMs }: RefusalFacts): Judgement {
  const fault = keyFaultOf(status, body);
  const outcome: Outcome = { kind: 'status', status, headers, ...(fault ? { keyFault: fault.scope } : {}) };
  if (status === 429) return { outcome, key: { kind: 'cool-down', until: now + cooldownMs } };
  if (fault?.scope === 'key') return { outcome, key: { kind: 'rest', reason: fault.reason } };
  return { outcome, key: { kind: 'none' } };
}

/**
 * A 200 stream that opened with an error event (first-byte.ts openingError), as the status it
 * stands for. The key is left as it is: the stream said nothing about its limits.
 */
export function judgeOpeningError(status: number): Judgement {
  return { outcome: { kind: 'status', status, headers: {} }, key: { kind: 'none' } };
}

/** No answer at all: the connection failed or the first byte was too late. */
export function judgeNoAnswer(kind: 'timeout' | 'connection'): Judgement {
  return { outcome: { kind }, key: { kind: 'none' } };
}

/**
 * Failures a fallback chain exists for at once: rate limits, overload, server errors, timeouts,
 * resets. A refused key is not among them: the provider's other keys come first, and the fallbacks
 * when none of them is left.
 */
export function worthFallingBack(outcome: Outcome): boolean {
  if (outcome.kind !== 'status') return true;
  if (outcome.keyFault) return false;
  return outcome.status === 429 || outcome.status === 529 || outcome.status >= 500 || outcome.status === 408;
}

/**
 * Whether the wait before a retry is left to admission: an upstream 429 already cooled its key
 * down, so admission itself waits for the right moment; other failures back off before choosing again.
 */
export function waitsInAdmission(outcome: Outcome): boolean {
  return outcome.kind === 'status' && outcome.status === 429;
}

/** Whether this request should pass over the key on its next admissions (the key refused it). */
export function refusedByKey(outcome: Outcome): boolean {
  return outcome.kind === 'status' && outcome.keyFault !== undefined;
}

/**
 * Whether the provider's refusal must not reach the client as is: a refused key is spillway's
 * problem, and its 401 would read as the caller's own key being wrong.
 */
export function hiddenFromClient(outcome: Outcome): boolean {
  return outcome.kind === 'status' && outcome.keyFault === 'key';
}

/** For the trace's spill reason. */
export function failureReason(outcome: Outcome): string {
  return outcome.kind === 'status' ? `upstream ${outcome.status}` : `upstream ${outcome.kind}`;
}
