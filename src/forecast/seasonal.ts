/**
 * Time-of-day seasonality: a pool's demand in a 15-minute step of the day, averaged over the whole
 * days of history there are. Used only once at least two days exist (one day would make yesterday's
 * noise tomorrow's shape).
 */

export const STEP_MS = 15 * 60_000;
export const DAY_MS = 86_400_000;
export const STEPS_PER_DAY = DAY_MS / STEP_MS;
/** Whole days of history needed before the profile is used. */
export const MIN_SEASONAL_DAYS = 2;

/** Amounts (requests, USD) per consecutive step: counts[i] covers [startAt + i·stepMs, startAt + (i+1)·stepMs). */
export interface StepSeries {
  startAt: number;
  stepMs: number;
  counts: number[];
}

/** The step of the day (0..STEPS_PER_DAY-1) that `at` falls in, by UTC clock shifted by `offsetMs`. */
export function slotOf(at: number, offsetMs = 0): number {
  const inDay = (((at + offsetMs) % DAY_MS) + DAY_MS) % DAY_MS;
  return Math.floor(inDay / STEP_MS);
}

/**
 * Mean amount per step of the day over the series, or undefined with fewer than MIN_SEASONAL_DAYS
 * days of steps. Each slot averages the days that have it, so a partial first day still counts.
 */
export function seasonalProfile(series: StepSeries, offsetMs = 0): number[] | undefined {
  if (series.stepMs !== STEP_MS || series.counts.length < MIN_SEASONAL_DAYS * STEPS_PER_DAY) return undefined;
  const sums = new Array<number>(STEPS_PER_DAY).fill(0);
  const seen = new Array<number>(STEPS_PER_DAY).fill(0);
  series.counts.forEach((count, i) => {
    const slot = slotOf(series.startAt + i * STEP_MS, offsetMs);
    sums[slot]! += count;
    seen[slot]! += 1;
  });
  return sums.map((sum, slot) => (seen[slot]! > 0 ? sum / seen[slot]! : 0));
}
