/**
 * A request no key can ever admit: providers count input tokens when a request arrives and refuse
 * outright one whose input exceeds a per-minute limit (itpm, or tpm where input and output share
 * one), however long it waits. Sent anyway, it gets a 429 that no retry cures; waiting, it would
 * hold its queue until its deadline. So it is refused at once, before admission.
 */
import type { Demand, KeySnapshot } from './types.js';

/**
 * Estimates err high (estimate.ts) until calibrated: a request is refused only when its estimate
 * is this far past the largest limit, so one that might fit goes to the provider, which decides.
 */
export const OVERSIZE_MARGIN = 1.2;

export interface Oversize {
  dimension: 'itpm' | 'tpm';
  /** The largest limit of that dimension among the keys. */
  limit: number;
}

/** The limit the demand's input exceeds on every key (by OVERSIZE_MARGIN), or undefined when some key could admit it. */
export function oversize(keys: readonly KeySnapshot[], demand: Pick<Demand, 'inputTokens'>): Oversize | undefined {
  if (keys.length === 0) return undefined;
  let found: Oversize | undefined;
  for (const key of keys) {
    const refusing = (['itpm', 'tpm'] as const).find((d) => {
      const limit = key.dimensions[d]?.limit;
      return limit !== undefined && demand.inputTokens > limit * OVERSIZE_MARGIN;
    });
    if (!refusing) return undefined;
    const limit = key.dimensions[refusing]!.limit;
    if (!found || limit > found.limit) found = { dimension: refusing, limit };
  }
  return found;
}
