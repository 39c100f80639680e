/**
 * Windowed limits. Many providers do not refill continuously: they count what arrived in the last
 * `length` ms (sliding) or since the window began (fixed, windows aligned to multiples of `length`
 * since the epoch). A per-minute limit N is enforced as N × length / 60 s per window. A bucket sized
 * for the same rate would send its next request as soon as the rate allows and be refused, so a key
 * with a window keeps a log of what it admitted and waits until the window has room.
 *
 * The log is plain data; the functions take `now`. Amounts are per dimension (DIMENSION_INDEX
 * order), `allowances` per window, undefined where the dimension has no windowed limit.
 */
import { DELIVERY_JITTER_MS, EPSILON, MINUTE_MS } from './policy.js';

export type WindowType = 'sliding' | 'fixed';

export interface WindowShape {
  type: WindowType;
  lengthMs: number;
}

/** One admitted request as the window counts it. */
export interface WindowEntry {
  at: number;
  amounts: number[];
}

export interface WindowLog {
  shape: WindowShape;
  /** In admission order (ascending `at`). */
  entries: WindowEntry[];
}

export function createWindowLog(shape: WindowShape): WindowLog {
  return { shape, entries: [] };
}

/** What a per-minute limit allows per window. */
export function allowanceOf(shape: WindowShape, perMinute: number): number {
  return (perMinute * shape.lengthMs) / MINUTE_MS;
}

function fixedStart(shape: WindowShape, t: number): number {
  return Math.floor(t / shape.lengthMs) * shape.lengthMs;
}

/**
 * The earliest admission time an entry must have to count in the provider's window at `t`.
 * A request reaches the provider up to a delivery margin after it was admitted (policy.ts): a
 * sliding window holds it that much longer, and a fixed window may count one admitted just before
 * its start.
 */
function countsFrom(shape: WindowShape, t: number): number {
  return shape.type === 'sliding' ? t - shape.lengthMs - DELIVERY_JITTER_MS : fixedStart(shape, t) - DELIVERY_JITTER_MS;
}

/** Forgets entries no window from `now` on can count. */
export function prune(log: WindowLog, now: number): void {
  const horizon = now - log.shape.lengthMs - DELIVERY_JITTER_MS;
  let drop = 0;
  while (drop < log.entries.length && log.entries[drop]!.at < horizon) drop++;
  if (drop > 0) log.entries.splice(0, drop);
}

/** What the window counts of dimension `d` at `t`, from entries admitted at or after `from`. */
function usedSince(log: WindowLog, d: number, from: number): number {
  let used = 0;
  for (const entry of log.entries) if (entry.at >= from) used += entry.amounts[d] ?? 0;
  return used;
}

/** A demand larger than a whole window is admitted into an empty one (as bucket.ts does on a full bucket). */
function fitsIn(used: number, amount: number, allowance: number): boolean {
  return used + Math.min(amount, allowance) <= allowance + EPSILON;
}

/** ms until the window admits `amounts` (0: now). */
export function windowWait(log: WindowLog, amounts: readonly number[], allowances: ReadonlyArray<number | undefined>, now: number): number {
  prune(log, now);
  let wait = 0;
  for (let d = 0; d < allowances.length; d++) {
    const allowance = allowances[d];
    const amount = amounts[d] ?? 0;
    if (allowance === undefined || amount <= 0) continue;
    wait = Math.max(wait, dimensionWait(log, d, amount, allowance, now));
  }
  return wait;
}

function dimensionWait(log: WindowLog, d: number, amount: number, allowance: number, now: number): number {
  const { shape, entries } = log;
  let used = usedSince(log, d, countsFrom(shape, now));
  if (fitsIn(used, amount, allowance)) return 0;
  if (shape.type === 'fixed') {
    const next = fixedStart(shape, now) + shape.lengthMs;
    return fitsIn(usedSince(log, d, next - DELIVERY_JITTER_MS), amount, allowance) ? next - now : next + shape.lengthMs - now;
  }
  // Sliding: the oldest entries leave first; wait until enough of them have.
  const from = countsFrom(shape, now);
  for (const entry of entries) {
    if (entry.at < from) continue;
    used -= entry.amounts[d] ?? 0;
    if (fitsIn(used, amount, allowance)) return Math.ceil(entry.at + shape.lengthMs + DELIVERY_JITTER_MS - now);
  }
  return shape.lengthMs; // unreachable: an empty window admits anything
}

/** Share of the window left after taking `amounts` (the pool prefers the key where this is largest); 1 if none applies. */
export function windowHeadroom(log: WindowLog, amounts: readonly number[], allowances: ReadonlyArray<number | undefined>, now: number): number {
  let headroom = 1;
  const from = countsFrom(log.shape, now);
  for (let d = 0; d < allowances.length; d++) {
    const allowance = allowances[d];
    if (allowance === undefined || allowance <= 0) continue;
    headroom = Math.min(headroom, (allowance - usedSince(log, d, from) - (amounts[d] ?? 0)) / allowance);
  }
  return headroom;
}

/** Counts an admitted request; the entry is returned so that settle can correct it. */
export function record(log: WindowLog, amounts: number[], now: number): WindowEntry {
  const entry: WindowEntry = { at: now, amounts };
  insert(log, entry);
  return entry;
}

function insert(log: WindowLog, entry: WindowEntry): void {
  let i = log.entries.length;
  while (i > 0 && log.entries[i - 1]!.at > entry.at) i--;
  log.entries.splice(i, 0, entry);
}

/**
 * The request reached the provider by `at` (policy.ts WINDOW_ARRIVAL_MS): the window counts it
 * from then. Arrival lies after sending, and a request can take long to reach a busy provider (a
 * new connection, its event loop): counting from admission alone would free its room too early.
 */
export function arrivedBy(log: WindowLog, entry: WindowEntry, at: number): void {
  if (at <= entry.at) return;
  const i = log.entries.indexOf(entry);
  if (i < 0) return; // already out of every window
  log.entries.splice(i, 1);
  entry.at = at;
  insert(log, entry);
}

/** The request is answered: the window counts what it really used, or nothing if the provider never counted it. */
export function correct(log: WindowLog, entry: WindowEntry, amounts: number[] | undefined): void {
  if (amounts) {
    entry.amounts = amounts;
    return;
  }
  const i = log.entries.indexOf(entry);
  if (i >= 0) log.entries.splice(i, 1);
}
