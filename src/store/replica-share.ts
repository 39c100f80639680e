/**
 * One replica's share of the limits while the shared store is out of reach: every replica still
 * serves, each on 1/replicas of every limit, so together they stay within what the keys allow.
 * Pure functions over plain data.
 */
import type { Limits } from '../config/schema.js';
import { DIMENSIONS, type KeySnapshot, type Observed, type ObservedLimits } from '../quota/types.js';

/** A limit split `replicas` ways; concurrency stays a whole number and at least one. */
export function shareOfLimits(limits: Limits, replicas: number): Limits {
  const n = Math.max(1, replicas);
  const out: Limits = {};
  for (const dimension of DIMENSIONS) {
    const limit = limits[dimension];
    if (limit === undefined) continue;
    out[dimension] = dimension === 'concurrency' ? Math.max(1, Math.floor(limit / n)) : limit / n;
  }
  return out;
}

function shareOf(observed: Observed | undefined, n: number): Observed | undefined {
  if (!observed) return undefined;
  const out: Observed = { ...observed };
  if (observed.limit !== undefined) out.limit = observed.limit / n;
  if (observed.remaining !== undefined) out.remaining = observed.remaining / n;
  return out;
}

/**
 * A provider's headers describe the whole key; this replica assumes its share of what is left,
 * so learning from headers during an outage does not hand one replica the whole key.
 */
export function shareOfObserved(observed: ObservedLimits, replicas: number): ObservedLimits {
  const n = Math.max(1, replicas);
  const out: ObservedLimits = {};
  const requests = shareOf(observed.requests, n);
  const inputTokens = shareOf(observed.inputTokens, n);
  const outputTokens = shareOf(observed.outputTokens, n);
  const tokens = shareOf(observed.tokens, n);
  if (requests) out.requests = requests;
  if (inputTokens) out.inputTokens = inputTokens;
  if (outputTokens) out.outputTokens = outputTokens;
  if (tokens) out.tokens = tokens;
  if (observed.retryAfterMs !== undefined) out.retryAfterMs = observed.retryAfterMs;
  if (observed.refused) out.refused = true;
  return out;
}

/** The limits a key snapshot shows (learned ones included); `fallback` where it shows none. */
export function limitsOfSnapshot(snapshot: KeySnapshot | undefined, fallback: Limits): Limits {
  if (!snapshot || snapshot.learning) return fallback;
  const out: Limits = {};
  for (const dimension of DIMENSIONS) {
    const d = snapshot.dimensions[dimension];
    if (d) out[dimension] = d.limit;
  }
  return out;
}
