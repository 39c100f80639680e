/**
 * The day ahead (issue 17): a daily cap that steady demand would spend by 15:00, simulated minute
 * by minute on a fake clock through the gateway's own pure functions (per-minute arrivals →
 * ARIMA(5,1,0) + time-of-day profile → projection → batch pace), with and without the forecast,
 * side by side: the hour interactive requests start being refused, and what each priority got.
 * Then the forecast error on a synthetic working day (next-hour total, weighted MAPE), against
 * ARIMA without the profile and "the next hour repeats the last".
 *
 *   npm run bench:forecast            (CAP=9000 INTERACTIVE=4 BATCH=6 per minute, DAYS=5 for the error)
 */
import { arimaHour, arimaOnlyHour, backtest, lastHour } from '../src/forecast/backtest.js';
import { simulateDay, workdayRate, workdaySteps } from '../src/forecast/day-sim.js';
import { forecastDemand } from '../src/forecast/demand.js';
import { STEPS_PER_DAY } from '../src/forecast/seasonal.js';
import { seededRandom } from '../src/sim/random.js';

const CAP = Number(process.env.CAP ?? 9000);
const INTERACTIVE = Number(process.env.INTERACTIVE ?? 4);
const BATCH = Number(process.env.BATCH ?? 6);
const DAYS = Number(process.env.DAYS ?? 5);

const hour = (h: number | undefined) => (h === undefined ? 'never' : `${String(Math.floor(h)).padStart(2, '0')}:${String(Math.round((h % 1) * 60)).padStart(2, '0')}`);

function dayTable(title: string, interactiveAt: (day: number, minute: number) => number): void {
  console.log(`\n${title}`);
  console.log('forecast   first interactive 429   interactive served/refused   served 23:00-24:00   batch served   projected exhaustion at 06:00');
  for (const forecasting of [false, true]) {
    const started = performance.now();
    const r = simulateDay({ dailyCap: CAP, interactiveAt, batchAt: () => BATCH, historyDays: 2, forecasting });
    const exhaust = r.projectionAt6?.exhaustAt;
    const projected = exhaust === undefined ? (forecasting ? 'lasts the day' : '-') : hour(((exhaust / 3_600_000) % 24));
    console.log(
      `${(forecasting ? 'on' : 'off').padEnd(10)} ${hour(r.firstInteractiveRefusalHour).padEnd(23)} ${`${r.interactiveServed}/${r.interactiveRefused}`.padEnd(28)} ${String(r.interactiveServedLastHour).padEnd(20)} ${String(r.batchServed).padEnd(14)} ${projected}   (${Math.round(performance.now() - started)} ms to simulate 3 days)`,
    );
  }
}

console.log(`daily cap ${CAP} requests, reset at midnight UTC; batch wants ${BATCH}/min; two days of history before the measured day`);
dayTable(`steady interactive demand ${INTERACTIVE}/min (with batch, the cap is spent at ${hour(CAP / (INTERACTIVE + BATCH) / 60)})`, () => INTERACTIVE);
// The same daily volume shaped like a working day, with noise (seeded).
const noise = seededRandom(5);
dayTable(`interactive shaped like a working day, mean ${INTERACTIVE}/min, with noise`, (_day, minute) => {
  const expected = workdayRate(minute + 0.5, INTERACTIVE);
  return Math.max(0, Math.round(expected + Math.sqrt(expected) * (noise() + noise() + noise() - 1.5) * 2));
});

console.log(`\nforecast error, next hour's total, synthetic working day (mean 10/min, Poisson-like noise), ${DAYS} days, scored over days 4..${DAYS}:`);
const series = workdaySteps(DAYS, 10, seededRandom(7));
const from = 3 * STEPS_PER_DAY;
const rows: Array<[string, ReturnType<typeof backtest>, number]> = [];
for (const [name, forecaster] of [['ARIMA(5,1,0) + time-of-day profile', arimaHour], ['ARIMA(5,1,0) alone', arimaOnlyHour], ['next hour = last hour', lastHour]] as const) {
  const started = performance.now();
  const result = backtest(series, forecaster, from);
  rows.push([name, result, (performance.now() - started) / result.origins]);
}
for (const [name, result, ms] of rows) console.log(`  ${name.padEnd(36)} wMAPE ${(result.wmape * 100).toFixed(1).padStart(5)}%   (${result.origins} origins, ${ms.toFixed(2)} ms per refit)`);
console.log(`  ratio: seasonal ARIMA error / last-hour error = ${(rows[0]![1].wmape / rows[2]![1].wmape).toFixed(2)}`);

// One refit of a pool with a week of history: what the minute timer costs.
const week = workdaySteps(7, 10, seededRandom(9));
const started = performance.now();
for (let i = 0; i < 100; i++) forecastDemand(week, STEPS_PER_DAY);
console.log(`\none refit over 7 days of 15-minute steps, forecasting a day ahead: ${((performance.now() - started) / 100).toFixed(2)} ms (machine shared; judge by order of magnitude)`);
