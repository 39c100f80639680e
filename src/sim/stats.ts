/** Counters of what happened upstream, per key and in total. */
import type { SimKeyStats, SimStats } from './options.js';

export interface Counter {
  stats: SimKeyStats;
  inFlight: number;
}

export function emptyStats(): SimKeyStats {
  return { requests: 0, ok: 0, rateLimited: 0, errors: 0, inputTokens: 0, outputTokens: 0, peakConcurrency: 0 };
}

export function newCounter(): Counter {
  return { stats: emptyStats(), inFlight: 0 };
}

type Field = Exclude<keyof SimKeyStats, 'peakConcurrency'>;

/** Add to one field of a key's counter (if known) and of the total. */
export function bump(total: Counter, key: Counter | undefined, field: Field, n = 1): void {
  total.stats[field] += n;
  if (key) key.stats[field] += n;
}

export function enter(total: Counter, key: Counter): void {
  for (const c of [total, key]) {
    c.inFlight++;
    if (c.inFlight > c.stats.peakConcurrency) c.stats.peakConcurrency = c.inFlight;
  }
}

export function leave(total: Counter, key: Counter): void {
  total.inFlight--;
  key.inFlight--;
}

/** Zero the counters; the peak restarts from what is in flight now. */
export function resetCounter(c: Counter): void {
  c.stats = emptyStats();
  c.stats.peakConcurrency = c.inFlight;
}

export function snapshot(total: Counter, keys: Iterable<[string, Counter]>): SimStats {
  const out: SimStats = { total: { ...total.stats }, keys: {} };
  for (const [id, c] of keys) out.keys[id] = { ...c.stats };
  return out;
}
