/**
 * A day of a daily-capped pool on a fake clock, minute by minute, through the same pure functions
 * the gateway uses (arrivals → forecast → projection → batch pace): for the test and the benchmark
 * that show when interactive requests start being refused with and without the forecast.
 */
import { Arrivals } from './arrivals.js';
import { createPace, paceTake, paceWait, projectDay, repace, type DayAhead, type Pace } from './day-ahead.js';
import { forecastDemand } from './demand.js';
import { DAY_MS, STEPS_PER_DAY, type StepSeries } from './seasonal.js';

const MINUTE_MS = 60_000;

export interface DaySimOptions {
  /** Requests the cap allows per day (a fixed window: whole at midnight UTC, no refill). */
  dailyCap: number;
  /** Requests wanting service in minute m of the day (0..1439), by priority. */
  interactiveAt(day: number, minute: number): number;
  batchAt(day: number, minute: number): number;
  /** Whole days simulated before the measured one, so the forecast has history (their demand is served unpaced in the same way). */
  historyDays: number;
  forecasting: boolean;
  /** Midnight UTC of the first simulated day. */
  epoch?: number;
}

export interface DaySimResult {
  /** Hour of the measured day at which an interactive request was first refused; undefined: none was. */
  firstInteractiveRefusalHour: number | undefined;
  interactiveServed: number;
  interactiveRefused: number;
  batchServed: number;
  /** Interactive served in the day's last hour (23:00-24:00). */
  interactiveServedLastHour: number;
  /** The projection at 06:00 of the measured day (undefined without forecasting). */
  projectionAt6?: DayAhead;
}

export function simulateDay(options: DaySimOptions): DaySimResult {
  const epoch = options.epoch ?? Date.UTC(2026, 0, 5);
  const arrivals = new Arrivals();
  let result: DaySimResult = { firstInteractiveRefusalHour: undefined, interactiveServed: 0, interactiveRefused: 0, batchServed: 0, interactiveServedLastHour: 0 };
  for (let day = 0; day <= options.historyDays; day++) {
    const measured = day === options.historyDays;
    const dayStart = epoch + day * DAY_MS;
    let left = options.dailyCap;
    let pace: Pace | undefined;
    const out: DaySimResult = { firstInteractiveRefusalHour: undefined, interactiveServed: 0, interactiveRefused: 0, batchServed: 0, interactiveServedLastHour: 0 };
    for (let minute = 0; minute < 1440; minute++) {
      const now = dayStart + minute * MINUTE_MS;
      if (options.forecasting) {
        // The gateway's minute timer: refit on what arrived, project, repace.
        const interactive = arrivals.steps('interactive', now);
        const batch = arrivals.steps('batch', now);
        const day = projectDay({
          cap: { remaining: left, limit: options.dailyCap, refillPerMs: 0, resetAt: dayStart + DAY_MS },
          now,
          interactive: forecastDemand(interactive.steps, STEPS_PER_DAY),
          batch: forecastDemand(batch.steps, STEPS_PER_DAY),
          pacedBefore: pace !== undefined,
        });
        if (measured && minute === 360) out.projectionAt6 = day;
        if (day.batchPerMinute !== undefined) {
          if (pace) repace(pace, day.batchPerMinute, now);
          else pace = createPace(day.batchPerMinute, now);
        }
      }
      const wantedInteractive = options.interactiveAt(day, minute);
      for (let i = 0; i < wantedInteractive; i++) {
        if (left >= 1) {
          left -= 1;
          out.interactiveServed++;
          if (minute >= 23 * 60) out.interactiveServedLastHour++;
          arrivals.add('interactive', 1, now + i);
        } else {
          out.interactiveRefused++;
          out.firstInteractiveRefusalHour ??= minute / 60;
        }
      }
      const wantedBatch = options.batchAt(day, minute);
      for (let i = 0; i < wantedBatch; i++) {
        const at = now + 30_000 + i;
        if (left < 1 || (pace && paceWait(pace, at) > 0)) break; // the rest waits for a later minute (batch is patient)
        if (pace) paceTake(pace, at);
        left -= 1;
        out.batchServed++;
        arrivals.add('batch', 1, at);
      }
    }
    if (measured) result = out;
  }
  return result;
}

/**
 * A working day's demand, per minute: quiet at night, a ramp into a peak in the early afternoon,
 * and Poisson-like noise (seeded, reproducible). `mean` is the day's average per minute.
 */
export function workdayRate(minuteOfDay: number, mean: number): number {
  const hour = minuteOfDay / 60;
  // A floor of 20% of the peak at night plus a bell centred on 14:00 (σ ≈ 3.5 h).
  const shape = 0.2 + Math.exp(-((hour - 14) ** 2) / (2 * 3.5 ** 2));
  // The shape's mean over the day is ≈ 0.2 + 3.5·√(2π)/24 ≈ 0.566.
  return (mean * shape) / 0.5656;
}

/** Arrivals per 15-minute step over `days` days of the workday pattern, with noise from `random`. */
export function workdaySteps(days: number, meanPerMinute: number, random: () => number, epoch = Date.UTC(2026, 0, 5)): StepSeries {
  const counts: number[] = [];
  for (let step = 0; step < days * STEPS_PER_DAY; step++) {
    const minute = (step % STEPS_PER_DAY) * 15 + 7.5;
    const expected = workdayRate(minute, meanPerMinute) * 15;
    // Normal approximation to Poisson noise (Box-Muller), rounded, never negative.
    const normal = Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
    counts.push(Math.max(0, Math.round(expected + Math.sqrt(expected) * normal)));
  }
  return { startAt: epoch, stepMs: 15 * MINUTE_MS, counts };
}
