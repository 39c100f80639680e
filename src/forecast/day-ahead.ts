/**
 * The day ahead of a daily cap (a pool's requests per day, a tenant's daily budget in USD): when
 * the forecast demand would spend it before the reset, and what batch traffic may take per minute
 * so that interactive traffic is still served at the end of the day. Pure functions over plain
 * data, refitted once a minute by forecast/service.ts; admission only reads the result.
 *
 * The projection walks from now to the reset step by step (the forecast's rate is constant within
 * a 15-minute step), adding the cap's refill (a continuously refilled rpd bucket refills limit/day;
 * a fixed daily window refills nothing until its reset) and taking the forecast demand, and says
 * when what is left first reaches zero.
 *
 * Batch allowance = (what the cap holds until the reset − forecast interactive demand until the
 * reset, with a margin for forecast error) / minutes to the reset. It applies once the projection
 * first says "short" and holds until the reset: the paced pool's own arrivals no longer show the
 * demand that made it short, so dropping the pace at the next refit would only spend the day early.
 */
import { demandBetween, type StepForecast } from './demand.js';

/** Interactive demand is over-provisioned by this share: a forecast that is low starves interactive, one that is high only slows batch. */
export const INTERACTIVE_MARGIN = 0.15;

export interface DailyCap {
  /** Units left now (requests, USD). */
  remaining: number;
  /** Units per day; the most a refilled bucket holds. */
  limit: number;
  /** Units per ms refilled until the reset: limit/day for a continuously refilled bucket, 0 for a fixed window. */
  refillPerMs: number;
  /** When the cap is whole again (next midnight in its time zone). */
  resetAt: number;
}

export interface DayAheadInput {
  cap: DailyCap;
  now: number;
  /** Forecast arrivals per step, by priority; a step already begun counts from `now` at its rate. */
  interactive: StepForecast;
  batch: StepForecast;
  /** Whether the cap was already paced earlier in this window (pacing holds until the reset). */
  pacedBefore: boolean;
}

export interface DayAhead {
  capacityUntilReset: number;
  demandUntilReset: number;
  interactiveUntilReset: number;
  demandNextHour: number;
  capacityNextHour: number;
  /** When the forecast demand spends the cap before its reset; undefined when it lasts. */
  exhaustAt: number | undefined;
  /** Batch arrivals per minute admitted while paced; undefined: not paced. */
  batchPerMinute: number | undefined;
}

const MINUTE_MS = 60_000;
const HOUR_MS = 3_600_000;

/** When `remaining` reaches zero under the forecast demand and the refill, before `until`; undefined if never. */
export function exhaustionTime(cap: DailyCap, demand: StepForecast[], now: number, until: number): number | undefined {
  let left = Math.max(0, cap.remaining);
  let at = now;
  const stepMs = demand[0]?.stepMs ?? MINUTE_MS;
  const origin = demand[0]?.startAt ?? now;
  while (at < until) {
    // The next edge: a step boundary of the forecast, or the reset.
    const k = Math.floor((at - origin) / stepMs) + 1;
    const edge = Math.min(until, Math.max(at + 1, origin + k * stepMs));
    const span = edge - at;
    const taken = demand.reduce((sum, f) => sum + demandBetween(f, at, edge), 0);
    const net = cap.refillPerMs * span - taken;
    if (left + net <= 0 && taken > 0) {
      const perMs = taken / span - cap.refillPerMs;
      return perMs > 0 ? at + left / perMs : edge;
    }
    left = Math.min(cap.limit, left + net);
    at = edge;
  }
  return undefined;
}

export function projectDay(input: DayAheadInput): DayAhead {
  const { cap, now, interactive, batch } = input;
  const until = Math.max(now, cap.resetAt);
  const refillUntilReset = cap.refillPerMs * (until - now);
  const capacityUntilReset = Math.max(0, cap.remaining) + refillUntilReset;
  const interactiveUntilReset = demandBetween(interactive, now, until);
  const demandUntilReset = interactiveUntilReset + demandBetween(batch, now, until);
  const hourEnd = now + HOUR_MS;
  const demandNextHour = demandBetween(interactive, now, hourEnd) + demandBetween(batch, now, hourEnd);
  const capacityNextHour = Math.max(0, cap.remaining) + cap.refillPerMs * HOUR_MS;
  const exhaustAt = exhaustionTime(cap, [interactive, batch], now, until);
  const paced = input.pacedBefore || exhaustAt !== undefined;
  const minutesLeft = Math.max(1, (until - now) / MINUTE_MS);
  const batchPerMinute = paced ? Math.max(0, capacityUntilReset - interactiveUntilReset * (1 + INTERACTIVE_MARGIN)) / minutesLeft : undefined;
  return { capacityUntilReset, demandUntilReset, interactiveUntilReset, demandNextHour, capacityNextHour, exhaustAt, batchPerMinute };
}

/**
 * The share of a pool's quota that tiering sees (routing/tiers.ts): while the day is projected to
 * run short, the share now scaled by how much of the time to the reset the cap will last, so tiers
 * step down as early as the shortfall warrants.
 */
export function foresightShare(share: number, day: Pick<DayAhead, 'exhaustAt'> | undefined, resetAt: number, now: number): number {
  if (!day || day.exhaustAt === undefined || resetAt <= now) return share;
  return share * Math.max(0, Math.min(1, (day.exhaustAt - now) / (resetAt - now)));
}

/** A token bucket for batch admissions of one paced pool: `perMinute` refill, a minute's worth of burst (at least one). */
export interface Pace {
  perMinute: number;
  level: number;
  updatedAt: number;
}

export function createPace(perMinute: number, now: number): Pace {
  return { perMinute, level: Math.min(1, Math.max(1, perMinute)), updatedAt: now };
}

function refillPace(pace: Pace, now: number): void {
  const burst = Math.max(1, pace.perMinute);
  if (now > pace.updatedAt) pace.level = Math.min(burst, pace.level + ((now - pace.updatedAt) * pace.perMinute) / MINUTE_MS);
  pace.updatedAt = Math.max(pace.updatedAt, now);
}

/** ms until one batch admission fits the pace (0: now); a zero allowance says "a minute", when the next refit may change it. */
export function paceWait(pace: Pace, now: number): number {
  refillPace(pace, now);
  if (pace.level >= 1 - 1e-9) return 0;
  if (pace.perMinute <= 0) return MINUTE_MS;
  return Math.ceil(((1 - pace.level) * MINUTE_MS) / pace.perMinute - 1e-6);
}

export function paceTake(pace: Pace, now: number): void {
  refillPace(pace, now);
  pace.level -= 1;
}

/** A new allowance from the minute's refit, keeping what the bucket holds. */
export function repace(pace: Pace, perMinute: number, now: number): void {
  refillPace(pace, now);
  pace.perMinute = perMinute;
  pace.level = Math.min(pace.level, Math.max(1, perMinute));
}
