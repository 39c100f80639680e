/**
 * How long a key rests after an upstream 429. A provider's 429 carries its rate-limit headers like
 * any answer, and KeyPool.observe has just set the key's level from them. When they explain the
 * refusal (a dimension they report has less left than the request needs there), that level holds
 * the waiting requests back by itself and lets them go one by one as the bucket refills: the key
 * needs no rest, which would release them all together at its end (retry-after is whole seconds).
 * Otherwise (no headers, as Gemini; or a limit they do not show) the retry hint decides.
 */
import { cooldownMs } from './headers.js';
import { combinedTokens } from './pool.js';
import type { Demand, Observed, ObservedLimits } from './types.js';

function short(observed: Observed | undefined, need: number): boolean {
  // Without the limit the dimension may be one the pool does not track, so its level was not set.
  return observed?.limit !== undefined && observed.remaining !== undefined && observed.remaining < need;
}

/** True when the 429's own figures show a dimension without room for the demand. */
export function refusalExplained(observed: ObservedLimits, demand: Demand): boolean {
  return (
    short(observed.requests, 1) ||
    short(observed.inputTokens, demand.inputTokens) ||
    short(observed.outputTokens, demand.outputTokens) ||
    short(combinedTokens(observed), demand.inputTokens + demand.outputTokens)
  );
}

/** ms the key takes nothing after a 429 for `demand` (see the module comment). */
export function restAfterRefusal(observed: ObservedLimits, demand: Demand, fallbackMs?: number): number {
  return refusalExplained(observed, demand) ? 0 : cooldownMs(observed, fallbackMs);
}
