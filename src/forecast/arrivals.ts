/**
 * Per-minute arrivals per series (a pool's interactive requests, a tenant's spend in USD), kept in
 * memory for a few days in a ring of minutes: adding is an array write on the request's settle, and
 * the once-a-minute refit reads them back as 15-minute steps.
 */
import { STEP_MS, type StepSeries } from './seasonal.js';

const MINUTE_MS = 60_000;
const MINUTES_PER_STEP = STEP_MS / MINUTE_MS;

interface Ring {
  amounts: Float64Array;
  /** The minute (ms / 60 000) each slot holds; a slot of an older minute counts as empty. */
  minutes: Float64Array;
  /** The same per 15-minute step, so the refit reads a step at once. */
  stepAmounts: Float64Array;
  steps: Float64Array;
  first: number;
}

export class Arrivals {
  private readonly rings = new Map<string, Ring>();

  /** Keeps `keepDays` days (the seasonal profile needs two; a few more steady it). */
  constructor(private readonly keepMinutes = 7 * 1440) {}

  add(series: string, amount: number, at: number): void {
    const minute = Math.floor(at / MINUTE_MS);
    let ring = this.rings.get(series);
    if (!ring) {
      const keepSteps = Math.ceil(this.keepMinutes / MINUTES_PER_STEP) + 1;
      ring = {
        amounts: new Float64Array(this.keepMinutes),
        minutes: new Float64Array(this.keepMinutes).fill(-1),
        stepAmounts: new Float64Array(keepSteps),
        steps: new Float64Array(keepSteps).fill(-1),
        first: minute,
      };
      this.rings.set(series, ring);
    }
    const slot = minute % this.keepMinutes;
    if (ring.minutes[slot] !== minute) {
      ring.minutes[slot] = minute;
      ring.amounts[slot] = 0;
    }
    ring.amounts[slot] += amount;
    const step = Math.floor(minute / MINUTES_PER_STEP);
    const stepSlot = step % ring.steps.length;
    if (ring.steps[stepSlot] !== step) {
      ring.steps[stepSlot] = step;
      ring.stepAmounts[stepSlot] = 0;
    }
    ring.stepAmounts[stepSlot] += amount;
    if (minute < ring.first) ring.first = minute;
  }

  has(series: string): boolean {
    return this.rings.has(series);
  }

  series(): string[] {
    return [...this.rings.keys()];
  }

  /** The amount of one minute. */
  minute(series: string, minute: number): number {
    const ring = this.rings.get(series);
    if (!ring) return 0;
    const slot = minute % this.keepMinutes;
    return ring.minutes[slot] === minute ? ring.amounts[slot]! : 0;
  }

  /**
   * The complete 15-minute steps before the one `now` is in, from the first kept, and the amount
   * so far in the step in progress.
   */
  steps(series: string, now: number): { steps: StepSeries; inProgress: number } {
    const ring = this.rings.get(series);
    const current = Math.floor(now / STEP_MS) * STEP_MS;
    if (!ring) return { steps: { startAt: current, stepMs: STEP_MS, counts: [] }, inProgress: 0 };
    const nowMinute = Math.floor(now / MINUTE_MS);
    const oldest = Math.max(ring.first, nowMinute - this.keepMinutes + 1);
    const startAt = Math.ceil((oldest * MINUTE_MS) / STEP_MS) * STEP_MS;
    const counts: number[] = [];
    for (let at = startAt; at < current; at += STEP_MS) {
      const step = at / STEP_MS;
      const stepSlot = step % ring.steps.length;
      counts.push(ring.steps[stepSlot] === step ? ring.stepAmounts[stepSlot]! : 0);
    }
    let inProgress = 0;
    for (let m = current / MINUTE_MS; m <= nowMinute; m++) inProgress += this.minute(series, m);
    return { steps: { startAt: Math.min(startAt, current), stepMs: STEP_MS, counts }, inProgress };
  }

  /** The amount over the last `minutes` whole minutes before `now`'s minute, and `now`'s minute so far. */
  recent(series: string, now: number, minutes: number): number {
    const nowMinute = Math.floor(now / MINUTE_MS);
    let sum = 0;
    for (let m = nowMinute - minutes; m <= nowMinute; m++) sum += this.minute(series, m);
    return sum;
  }
}
