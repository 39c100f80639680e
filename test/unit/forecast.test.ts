import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { difference, fitAr, forecastArima } from '../../src/forecast/arima.js';
import { Arrivals } from '../../src/forecast/arrivals.js';
import { arimaHour, arimaOnlyHour, backtest, lastHour } from '../../src/forecast/backtest.js';
import { createPace, exhaustionTime, foresightShare, paceTake, paceWait, projectDay, repace } from '../../src/forecast/day-ahead.js';
import { simulateDay, workdaySteps } from '../../src/forecast/day-sim.js';
import { demandBetween, type StepForecast } from '../../src/forecast/demand.js';
import { DAY_MS, seasonalProfile, STEP_MS, STEPS_PER_DAY } from '../../src/forecast/seasonal.js';
import { seededRandom } from '../../src/sim/random.js';

const MIDNIGHT = Date.UTC(2026, 2, 2);
const MINUTE = 60_000;
const HOUR = 3_600_000;

/** A forecast of `perMinute` arrivals per minute from `startAt` on. */
const steady = (perMinute: number, startAt: number): StepForecast => ({ startAt, stepMs: STEP_MS, values: new Array(STEPS_PER_DAY).fill(perMinute * 15), seasonal: false });

describe('ARIMA(5,1,0)', () => {
  it('recovers the AR coefficients of a synthetic process on the differences', () => {
    const random = seededRandom(11);
    const diffs = [0, 0];
    for (let t = 2; t < 3000; t++) diffs.push(0.5 * diffs[t - 1]! - 0.3 * diffs[t - 2]! + (random() - 0.5));
    const levels = [100];
    for (const d of diffs) levels.push(levels[levels.length - 1]! + d);
    const { coefficients } = fitAr(difference(levels), 5);
    assert.ok(Math.abs(coefficients[0]! - 0.5) < 0.06, `φ1 ${coefficients[0]}`);
    assert.ok(Math.abs(coefficients[1]! + 0.3) < 0.06, `φ2 ${coefficients[1]}`);
    for (const c of coefficients.slice(2)) assert.ok(Math.abs(c) < 0.06, `φ3..5 ${coefficients}`);
  });

  it('forecasts a flat series flat, and a short one as its last level', () => {
    assert.deepEqual(forecastArima(new Array(40).fill(7), 3).map((v) => Math.round(v * 1000) / 1000), [7, 7, 7]);
    assert.deepEqual(forecastArima([3, 4], 2), [4, 4]);
    assert.deepEqual(forecastArima([], 2), [0, 0]);
  });

  it('stays bounded on an explosive-looking series', () => {
    const levels = Array.from({ length: 60 }, (_, i) => (i % 2 === 0 ? 0 : 100) + i);
    const ahead = forecastArima(levels, 96);
    for (const v of ahead) assert.ok(Number.isFinite(v) && Math.abs(v) < 10_000, `forecast ${v}`);
  });
});

describe('demand forecast', () => {
  it('uses the time-of-day profile only from two days of history', () => {
    const random = seededRandom(3);
    assert.equal(seasonalProfile(workdaySteps(1, 10, random)), undefined);
    const profile = seasonalProfile(workdaySteps(3, 10, random))!;
    assert.equal(profile.length, STEPS_PER_DAY);
    // The afternoon peak is several times the night.
    assert.ok(profile[56]! > 3 * profile[8]!, `14:00 ${profile[56]} vs 02:00 ${profile[8]}`);
  });

  it('forecasts the next hour of a synthetic working day within 8% (weighted MAPE), better than without seasonality or repeating the last hour', () => {
    const series = workdaySteps(5, 10, seededRandom(7));
    const seasonal = backtest(series, arimaHour, 3 * STEPS_PER_DAY, 2);
    const plain = backtest(series, arimaOnlyHour, 3 * STEPS_PER_DAY, 2);
    const naive = backtest(series, lastHour, 3 * STEPS_PER_DAY, 2);
    assert.ok(seasonal.wmape < 0.08, `seasonal ARIMA error ${seasonal.wmape}`);
    assert.ok(seasonal.wmape < plain.wmape && seasonal.wmape < naive.wmape, `${seasonal.wmape} vs ${plain.wmape} / ${naive.wmape}`);
  });

  it('integrates a forecast over any span, the step in progress at the first step\'s rate', () => {
    const f = steady(2, MIDNIGHT + HOUR);
    assert.equal(demandBetween(f, MIDNIGHT + HOUR, MIDNIGHT + 2 * HOUR), 120);
    assert.equal(demandBetween(f, MIDNIGHT + HOUR - 10 * MINUTE, MIDNIGHT + HOUR + 5 * MINUTE), 30);
    assert.equal(demandBetween(f, MIDNIGHT + HOUR, MIDNIGHT + HOUR + 2 * DAY_MS), 2 * 2 * 1440);
  });
});

describe('arrivals', () => {
  it('sums per-minute arrivals into complete 15-minute steps and the step in progress', () => {
    const arrivals = new Arrivals(1440);
    for (let m = 0; m < 40; m++) arrivals.add('p', 1, MIDNIGHT + m * MINUTE + 500);
    const { steps, inProgress } = arrivals.steps('p', MIDNIGHT + 40 * MINUTE);
    assert.equal(steps.startAt, MIDNIGHT);
    assert.deepEqual(steps.counts, [15, 15]);
    assert.equal(inProgress, 10);
  });

  it('forgets minutes older than it keeps', () => {
    const arrivals = new Arrivals(60);
    arrivals.add('p', 5, MIDNIGHT);
    arrivals.add('p', 1, MIDNIGHT + 60 * MINUTE); // the same ring slot, a later minute
    assert.equal(arrivals.minute('p', MIDNIGHT / MINUTE), 0);
    assert.equal(arrivals.recent('p', MIDNIGHT + 60 * MINUTE, 59), 1);
  });
});

describe('the day ahead of a daily cap', () => {
  const cap = { remaining: 9000, limit: 9000, refillPerMs: 0, resetAt: MIDNIGHT + DAY_MS };

  it('projects steady demand of 10 a minute to spend 9000 requests at 15:00', () => {
    const at = exhaustionTime(cap, [steady(4, MIDNIGHT), steady(6, MIDNIGHT)], MIDNIGHT, cap.resetAt);
    assert.equal(at, MIDNIGHT + 15 * HOUR);
  });

  it('counts a refilled bucket\'s refill: the same demand lasts longer, and a rate below the refill never runs out', () => {
    const bucket = { ...cap, refillPerMs: 9000 / DAY_MS };
    const at = exhaustionTime(bucket, [steady(10, MIDNIGHT)], MIDNIGHT, bucket.resetAt)!;
    // 9000 + 6.25/min · t = 10/min · t → t = 2400 min: past the reset.
    assert.equal(at, undefined);
    const busier = exhaustionTime(bucket, [steady(16.25, MIDNIGHT)], MIDNIGHT, bucket.resetAt)!;
    assert.equal(busier, MIDNIGHT + 15 * HOUR);
  });

  it('paces batch to what interactive leaves of the day once the day runs short, and not before', () => {
    const now = MIDNIGHT + 6 * HOUR;
    const short = projectDay({ cap: { ...cap, remaining: 5400 }, now, interactive: steady(4, now), batch: steady(6, now), pacedBefore: false });
    assert.equal(short.exhaustAt, now + 9 * HOUR);
    // 18 h left: interactive 4320 (+15% margin = 4968) of 5400 leaves 432 for batch, 0.4 a minute.
    assert.ok(Math.abs(short.batchPerMinute! - 0.4) < 1e-9, `allowance ${short.batchPerMinute}`);
    assert.equal(short.demandNextHour, 600);
    const ample = projectDay({ cap: { ...cap, remaining: 9000 }, now, interactive: steady(1, now), batch: steady(2, now), pacedBefore: false });
    assert.equal(ample.exhaustAt, undefined);
    assert.equal(ample.batchPerMinute, undefined);
    const held = projectDay({ cap: { ...cap, remaining: 9000 }, now, interactive: steady(1, now), batch: steady(2, now), pacedBefore: true });
    assert.ok(held.batchPerMinute! > 0, 'pacing holds until the reset');
  });

  it('steps tiers down earlier in proportion to how soon the cap runs out', () => {
    const now = MIDNIGHT + 12 * HOUR;
    assert.equal(foresightShare(0.6, { exhaustAt: now + 3 * HOUR }, MIDNIGHT + DAY_MS, now), 0.15);
    assert.equal(foresightShare(0.6, { exhaustAt: undefined }, MIDNIGHT + DAY_MS, now), 0.6);
    assert.equal(foresightShare(0.6, undefined, MIDNIGHT + DAY_MS, now), 0.6);
  });

  it('admits batch at the pace on a fake clock', () => {
    let now = MIDNIGHT;
    const pace = createPace(2, now);
    let admitted = 0;
    for (; now < MIDNIGHT + 10 * MINUTE; now += 1000) {
      while (paceWait(pace, now) === 0) {
        paceTake(pace, now);
        admitted++;
      }
    }
    assert.ok(admitted >= 20 && admitted <= 22, `admitted ${admitted} in 10 minutes at 2 a minute`);
    while (paceWait(pace, now) === 0) paceTake(pace, now);
    const wait = paceWait(pace, now);
    assert.ok(wait > 0 && wait <= 30_000, `the next batch admission in ${wait} ms at 2 a minute`);
    repace(pace, 0, now);
    assert.equal(paceWait(pace, now), MINUTE, 'a zero allowance is re-asked at the next refit');
  });
});

describe('a day on a fake clock', () => {
  const day = { dailyCap: 9000, interactiveAt: () => 4, batchAt: () => 6, historyDays: 2 };

  it('a cap steady demand spends by 15:00 refuses interactive requests from 15:00 without the forecast', () => {
    const without = simulateDay({ ...day, forecasting: false });
    assert.equal(without.firstInteractiveRefusalHour, 15);
    assert.equal(without.interactiveServedLastHour, 0);
  });

  it('with the forecast, batch is spread over the day and interactive requests are still served at 23:00', () => {
    const withForecast = simulateDay({ ...day, forecasting: true });
    assert.equal(withForecast.firstInteractiveRefusalHour, undefined);
    assert.equal(withForecast.interactiveServedLastHour, 240);
    assert.equal(withForecast.interactiveRefused, 0);
    // Batch still gets what interactive leaves (9000 − 5760), less the forecast margin.
    assert.ok(withForecast.batchServed > 2500 && withForecast.batchServed <= 3240, `batch ${withForecast.batchServed}`);
    assert.ok(withForecast.projectionAt6?.exhaustAt !== undefined);
  });
});
