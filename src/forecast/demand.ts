/**
 * A pool's demand ahead, per 15-minute step: the seed's ARIMA(5,1,0) over the steps, on top of the
 * time-of-day profile once two days of history exist (the model then forecasts how far today runs
 * above or below the usual day, and the profile supplies the day's shape). Pure: history in,
 * numbers out; refitted from scratch every minute (see forecast/day-ahead.ts for its use).
 */
import { forecastArima } from './arima.js';
import { seasonalProfile, slotOf, STEP_MS, STEPS_PER_DAY, type StepSeries } from './seasonal.js';

/** The model looks back this many steps (two days): enough for AR(5), short enough to track change. */
export const FIT_WINDOW_STEPS = 2 * STEPS_PER_DAY;

export interface StepForecast {
  /** Start of the first forecast step (the step after the series' last). */
  startAt: number;
  stepMs: number;
  /** Expected amount per step, never negative. */
  values: number[];
  /** Whether the time-of-day profile was used. */
  seasonal: boolean;
}

export interface ForecastOptions {
  /** The time zone's offset from UTC (ms), so the profile's steps are its clock's. */
  offsetMs?: number;
  /** Use the time-of-day profile when history allows (default true; false for comparison). */
  seasonal?: boolean;
}

/** Forecast of the `steps` steps after the series (whose last step must be complete). */
export function forecastDemand(series: StepSeries, steps: number, options: ForecastOptions = {}): StepForecast {
  const offsetMs = options.offsetMs ?? 0;
  const startAt = series.startAt + series.counts.length * series.stepMs;
  const recent = series.counts.slice(-FIT_WINDOW_STEPS);
  const recentStart = startAt - recent.length * series.stepMs;
  const profile = options.seasonal === false ? undefined : seasonalProfile(series, offsetMs);
  if (!profile) {
    const values = forecastArima(recent, steps).map((v) => Math.max(0, v));
    return { startAt, stepMs: series.stepMs, values, seasonal: false };
  }
  const usual = (at: number) => profile[slotOf(at, offsetMs)]!;
  const residuals = recent.map((count, i) => count - usual(recentStart + i * STEP_MS));
  const ahead = forecastArima(residuals, steps);
  const values = ahead.map((residual, h) => Math.max(0, usual(startAt + h * STEP_MS) + residual));
  return { startAt, stepMs: series.stepMs, values, seasonal: true };
}

/**
 * The forecast amount between `from` and `until`, the rate taken as constant within each step;
 * past the forecast's end, its last step's rate continues.
 */
export function demandBetween(forecast: StepForecast, from: number, until: number): number {
  if (until <= from || forecast.values.length === 0) return 0;
  let total = 0;
  const { startAt, stepMs, values } = forecast;
  for (let i = Math.max(0, Math.floor((from - startAt) / stepMs)); ; i++) {
    const stepStart = startAt + i * stepMs;
    const stepEnd = stepStart + stepMs;
    if (stepStart >= until) break;
    const overlap = Math.min(until, stepEnd) - Math.max(from, stepStart);
    if (overlap > 0) total += (values[Math.min(i, values.length - 1)]! * overlap) / stepMs;
  }
  // A `from` before the forecast's start (the step in progress) is charged at the first step's rate.
  if (from < startAt) total += (values[0]! * (Math.min(until, startAt) - from)) / stepMs;
  return total;
}
