import { windowCharge, windowMsUntil, windowMsUntilEmpty, windowUsed, type SimWindowLog } from './window.js';

/**
 * A continuously refilled token bucket, or (with `window`) a limit counted per window whose
 * capacity is the window's allowance. Plain data plus functions that take `now` (ms), so the
 * math is testable with a fake clock. The level may go negative when usage is charged after the
 * fact (generated output tokens); it then has to refill past zero before admitting again.
 */
export interface Bucket {
  capacity: number;
  /** Tokens added per millisecond. */
  ratePerMs: number;
  level: number;
  /** When `level` was last computed. */
  at: number;
  /** Counted per window instead (window.ts): `level`, `ratePerMs` and `at` are unused. */
  window?: SimWindowLog;
}

export function fullBucket(capacity: number, ratePerMs: number, now: number): Bucket {
  return { capacity, ratePerMs, level: capacity, at: now };
}

export function levelAt(b: Bucket, now: number): number {
  if (b.window) return b.capacity - windowUsed(b.window, now);
  const elapsed = now > b.at ? now - b.at : 0;
  const level = b.level + elapsed * b.ratePerMs;
  return level > b.capacity ? b.capacity : level;
}

/** Remove `amount` (negative = give back, never above capacity). */
export function charge(b: Bucket, amount: number, now: number): void {
  if (b.window) return windowCharge(b.window, amount, now);
  const level = levelAt(b, now) - amount;
  b.level = level > b.capacity ? b.capacity : level;
  b.at = now > b.at ? now : b.at;
}

/** Milliseconds until the level reaches `need` (0 if it already has). */
export function msUntil(b: Bucket, need: number, now: number): number {
  if (b.window) return windowMsUntil(b.window, b.capacity, need, now);
  const level = levelAt(b, now);
  return level >= need ? 0 : (need - level) / b.ratePerMs;
}

/** Milliseconds until the bucket is full again. */
export function msUntilFull(b: Bucket, now: number): number {
  if (b.window) return windowMsUntilEmpty(b.window, now);
  return msUntil(b, b.capacity, now);
}
