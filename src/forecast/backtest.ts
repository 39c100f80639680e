/**
 * How good the demand forecast is on a series: from each origin after a warm-up, forecast the
 * next hour (four steps) from what came before, and compare with what came. The error is the
 * weighted MAPE (Σ|actual − forecast| / Σ actual), which, unlike a mean of per-step percentages,
 * is not blown up by quiet steps near zero.
 */
import { forecastDemand } from './demand.js';
import type { StepSeries } from './seasonal.js';

export interface Backtest {
  /** Σ|error| / Σ actual over the origins, for the next hour's total. */
  wmape: number;
  origins: number;
}

/** Forecasts that predict the next hour from the steps before an origin. */
export type HourForecaster = (history: StepSeries) => number;

export const arimaHour: HourForecaster = (history) => forecastDemand(history, 4).values.reduce((a, b) => a + b, 0);
/** The baseline: the next hour repeats the last hour. */
export const lastHour: HourForecaster = (history) => history.counts.slice(-4).reduce((a, b) => a + b, 0);
/** ARIMA without the time-of-day profile, for comparison. */
export const arimaOnlyHour: HourForecaster = (history) => forecastDemand(history, 4, { seasonal: false }).values.reduce((a, b) => a + b, 0);

export function backtest(series: StepSeries, forecaster: HourForecaster, fromStep: number, everySteps = 1): Backtest {
  let error = 0;
  let actual = 0;
  let origins = 0;
  for (let t = fromStep; t + 4 <= series.counts.length; t += everySteps) {
    const history = { startAt: series.startAt, stepMs: series.stepMs, counts: series.counts.slice(0, t) };
    const truth = series.counts.slice(t, t + 4).reduce((a, b) => a + b, 0);
    error += Math.abs(truth - forecaster(history));
    actual += truth;
    origins++;
  }
  return { wmape: actual > 0 ? error / actual : 0, origins };
}
