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

/**
 * One admitted request as the window counts it. The provider counts it when it arrives, which we
 * never see: only that it was after admission and, once its answer is in, no later than that.
 */
export interface WindowEntry {
  /**
   * The latest it can have arrived: its answer's time once answered. Until then, its admission
   * time (the log's order) and `answered` is false: it may arrive at any moment, so it counts in
   * the window in force now, whenever that is.
   */
  at: number;
  answered: boolean;
  amounts: number[];
}

export interface WindowLog {
  shape: WindowShape;
  /** Ascending `at`. */
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
 * The earliest arrival that counts in the provider's window in force at `t`. A sliding window
 * holds an answered request exactly one length after its answer (it arrived no later): nothing is
 * added, so the window is used whole. A fixed window's boundaries are the provider's clock's, a
 * little off ours: a request that may have arrived just before the start counts too.
 */
function countsFrom(shape: WindowShape, t: number): number {
  return shape.type === 'sliding' ? t - shape.lengthMs + 1 : fixedStart(shape, t) - DELIVERY_JITTER_MS;
}

/** Whether the entry counts in the window in force at `t`, seen from `now` (≤ t): an unanswered one may still arrive until it is answered. */
function counts(shape: WindowShape, entry: WindowEntry, t: number, now: number): boolean {
  return entry.at >= countsFrom(shape, t) || (!entry.answered && now >= countsFrom(shape, t));
}

/** Forgets answered entries no window from `now` on can count. */
export function prune(log: WindowLog, now: number): void {
  const horizon = countsFrom(log.shape, now);
  if (log.entries.length === 0 || log.entries[0]!.at >= horizon) return;
  log.entries = log.entries.filter((entry) => entry.at >= horizon || !entry.answered);
}

/** What the window in force at `t` counts of dimension `d`, seen from `now`. */
function usedAt(log: WindowLog, d: number, t: number, now: number): number {
  let used = 0;
  for (const entry of log.entries) if (counts(log.shape, entry, t, now)) used += entry.amounts[d] ?? 0;
  return used;
}

/** A demand larger than a whole window is admitted into an empty one (as bucket.ts does on a full bucket). */
function fitsIn(used: number, amount: number, allowance: number): boolean {
  return used + Math.min(amount, allowance) <= allowance + EPSILON;
}

/**
 * ms until the window admits `amounts` (0: now). Requests not yet answered are taken to be
 * answered now: the wait is the least one, and the answer's settle wakes the queue to look again.
 */
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
  let used = usedAt(log, d, now, now);
  if (fitsIn(used, amount, allowance)) return 0;
  if (shape.type === 'fixed') {
    const next = fixedStart(shape, now) + shape.lengthMs;
    return fitsIn(usedAt(log, d, next, now), amount, allowance) ? next - now : next + shape.lengthMs - now;
  }
  // Sliding: answered entries leave one length after their answer, oldest first; the unanswered
  // ones (all admitted before now) no earlier than one length from now.
  for (const entry of entries) {
    if (!entry.answered) continue;
    used -= entry.amounts[d] ?? 0;
    if (fitsIn(used, amount, allowance)) return Math.max(0, entry.at + shape.lengthMs - now);
  }
  return shape.lengthMs;
}

/** Share of the window left after taking `amounts` (the pool prefers the key where this is largest); 1 if none applies. */
export function windowHeadroom(log: WindowLog, amounts: readonly number[], allowances: ReadonlyArray<number | undefined>, now: number): number {
  let headroom = 1;
  for (let d = 0; d < allowances.length; d++) {
    const allowance = allowances[d];
    if (allowance === undefined || allowance <= 0) continue;
    headroom = Math.min(headroom, (allowance - usedAt(log, d, now, now) - (amounts[d] ?? 0)) / allowance);
  }
  return headroom;
}

/** Counts an admitted request, unanswered; the entry is returned so that its answer and settle can place it. */
export function record(log: WindowLog, amounts: number[], now: number, answered = false): WindowEntry {
  const entry: WindowEntry = { at: now, answered, amounts };
  insert(log, entry);
  return entry;
}

function insert(log: WindowLog, entry: WindowEntry): void {
  let i = log.entries.length;
  while (i > 0 && log.entries[i - 1]!.at > entry.at) i--;
  log.entries.splice(i, 0, entry);
}

/**
 * The request's answer came at `at`: it reached the provider no later. (An earlier bound, such as
 * its being sent plus some margin, is not certain: a busy provider or connection can hold a
 * request long, and a window that lets it go early admits one too many.)
 */
export function arrivedBy(log: WindowLog, entry: WindowEntry, at: number): void {
  if (entry.answered) return;
  const i = log.entries.indexOf(entry);
  if (i < 0) return;
  log.entries.splice(i, 1);
  entry.at = Math.max(entry.at, at);
  entry.answered = true;
  insert(log, entry);
}

/**
 * The request is over at `now`: the window counts what it really used (from its answer, or from
 * now if none was seen), or nothing if the provider never counted it.
 */
export function correct(log: WindowLog, entry: WindowEntry, amounts: number[] | undefined, now: number): void {
  if (!amounts) {
    const i = log.entries.indexOf(entry);
    if (i >= 0) log.entries.splice(i, 1);
    return;
  }
  entry.amounts = amounts;
  arrivedBy(log, entry, now);
}
