/**
 * A provider that counts per window instead of refilling: what was charged in the last `lengthMs`
 * (sliding), or since the current window began (fixed, windows aligned to multiples of the length
 * since the epoch). A bucket (bucket.ts) with a window answers from it; its capacity is the
 * window's allowance.
 */
export type SimWindowType = 'sliding' | 'fixed';

export interface SimRateWindow {
  type: SimWindowType;
  lengthMs: number;
}

export interface SimWindowLog extends SimRateWindow {
  /** Charges in time order (refunds are negative charges). */
  entries: Array<{ at: number; amount: number }>;
}

export function windowLog(shape: SimRateWindow): SimWindowLog {
  return { type: shape.type, lengthMs: shape.lengthMs, entries: [] };
}

/** When the window containing `now` began counting (sliding: strictly after this). */
function startOf(w: SimWindowLog, now: number): number {
  return w.type === 'sliding' ? now - w.lengthMs : Math.floor(now / w.lengthMs) * w.lengthMs;
}

function counts(w: SimWindowLog, at: number, now: number): boolean {
  return w.type === 'sliding' ? at > startOf(w, now) : at >= startOf(w, now);
}

export function windowUsed(w: SimWindowLog, now: number): number {
  let drop = 0;
  while (drop < w.entries.length && !counts(w, w.entries[drop]!.at, now)) drop++;
  if (drop > 0) w.entries.splice(0, drop);
  return w.entries.reduce((sum, e) => sum + e.amount, 0);
}

export function windowCharge(w: SimWindowLog, amount: number, now: number): void {
  w.entries.push({ at: now, amount });
}

/** ms until `need` fits under `capacity` (0: now). */
export function windowMsUntil(w: SimWindowLog, capacity: number, need: number, now: number): number {
  let used = windowUsed(w, now);
  if (used + need <= capacity) return 0;
  if (w.type === 'fixed') return startOf(w, now) + w.lengthMs - now;
  for (const e of w.entries) {
    used -= e.amount;
    if (used + need <= capacity) return e.at + w.lengthMs - now;
  }
  return w.lengthMs;
}

/** ms until nothing is counted any more: the `reset` a provider reports. */
export function windowMsUntilEmpty(w: SimWindowLog, now: number): number {
  if (windowUsed(w, now) <= 0 || w.entries.length === 0) return 0;
  return w.type === 'fixed' ? startOf(w, now) + w.lengthMs - now : w.entries[w.entries.length - 1]!.at + w.lengthMs - now;
}
