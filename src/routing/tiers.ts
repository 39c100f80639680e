/**
 * Tiering by remaining quota: step down models as the preferred provider's quota drains
 * (e.g. opus while more than 70% remains, sonnet while more than 30%, then haiku).
 */
import type { TierConfig } from '../config/schema.js';
import type { KeySnapshot } from '../quota/types.js';

/**
 * The share of a pool's capacity left now, 0..1: per key, its tightest dimension (remaining over
 * what its bucket holds when full); over keys, the sum of what is left over the sum of limits, weighting each key by its
 * tightest limit. Keys out of service count as empty. A pool with no known limit counts as full.
 */
export function remainingShare(keys: KeySnapshot[], now: number): number {
  let left = 0;
  let total = 0;
  for (const key of keys) {
    const dims = Object.values(key.dimensions);
    if (dims.length === 0) continue;
    let tightest = 1;
    for (const dim of dims) {
      // Over what the bucket holds when full: a per-minute bucket that holds limit/60 until headers
      // show a bigger burst is full at limit/60, not at 2% left.
      const full = dim && dim.capacity > 0 ? Math.min(dim.capacity, dim.limit) : dim?.limit;
      if (dim && full && full > 0) tightest = Math.min(tightest, Math.max(0, dim.remaining) / full);
    }
    const usable = key.healthy && key.coolingUntil <= now ? tightest : 0;
    left += usable;
    total += 1;
  }
  return total === 0 ? 1 : left / total;
}

/**
 * The tier for a remaining share: the first (in config order) whose min_remaining the share
 * reaches; the last tier when none does, so a drained pool still gets its cheapest model.
 */
export function chooseTier(tiers: TierConfig[], share: number): TierConfig | undefined {
  if (tiers.length === 0) return undefined;
  return tiers.find((tier) => share >= tier.min_remaining) ?? tiers[tiers.length - 1];
}
