/**
 * How long a key rests after an upstream 429. A provider's 429 carries its rate-limit headers like
 * any answer, and KeyPool.observe has just set the key's level from them. When they explain the
 * refusal (a dimension they report has less left than the request needs there), that level holds
 * the waiting requests back by itself and lets them go one by one as the bucket refills: the key
 * rests only until the provider's bucket has room for the refused request, not for the whole-second
 * retry-after, whose end would release the waiters all together.
 * Otherwise (no headers, as Gemini; or a limit they do not show) the retry hint decides.
 * A request larger than the limit itself was refused for its size, not for the key's state: the
 * key does not rest at all (quota/oversize.ts keeps such requests from being sent at all).
 */
import { cooldownMs } from './headers.js';
import { MINUTE_MS } from './policy.js';
import { combinedTokens } from './pool.js';
import type { Demand, Observed, ObservedLimits } from './types.js';

/** ms until the provider's bucket has `need`, from its figures; undefined when they show room (or cannot say). */
function msToRoom(observed: Observed | undefined, need: number): number | undefined {
  // Without the limit the dimension may be one the pool does not track, so its level was not set.
  if (observed?.limit === undefined || observed.remaining === undefined || observed.remaining >= need) return undefined;
  return Math.ceil((need - observed.remaining) / (observed.limit / MINUTE_MS));
}

/** The provider's own limit is smaller than what the request needs there: no amount of rest makes room. */
function beyondLimit(observed: Observed | undefined, need: number): boolean {
  return observed?.limit !== undefined && need > observed.limit;
}

function waits(observed: ObservedLimits, demand: Demand): number[] {
  const all = [
    msToRoom(observed.requests, 1),
    msToRoom(observed.inputTokens, demand.inputTokens),
    msToRoom(observed.outputTokens, demand.outputTokens),
    msToRoom(combinedTokens(observed), demand.inputTokens + demand.outputTokens),
  ];
  return all.filter((ms): ms is number => ms !== undefined);
}

/** True when the 429's own figures show a dimension without room for the demand. */
export function refusalExplained(observed: ObservedLimits, demand: Demand): boolean {
  return waits(observed, demand).length > 0;
}

/**
 * ms the key takes nothing after a 429 for `demand` (see the module comment). When explained: until
 * the provider's bucket, refilling at its per-minute limit, has room for it, by its own figures (the
 * level says the same unless it was off, as with replicas on their shares while Redis is away).
 */
export function restAfterRefusal(observed: ObservedLimits, demand: Demand, fallbackMs?: number): number {
  if (beyondLimit(observed.inputTokens, demand.inputTokens) || beyondLimit(combinedTokens(observed), demand.inputTokens)) return 0;
  const explained = waits(observed, demand);
  return explained.length > 0 ? Math.max(...explained) : cooldownMs(observed, fallbackMs);
}
