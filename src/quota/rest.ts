/**
 * A key the provider refused (see resilience/key-fault.ts) rests: it takes no requests, and is
 * probed with a cheap call on a backoff until the provider accepts it again. The first probe runs
 * at once, to confirm the refusal; then after 30 s, doubling up to 10 min (configurable).
 */

export interface RestPolicy {
  /** Wait after the first failed probe. */
  firstProbeMs: number;
  /** The longest wait between probes. */
  maxProbeMs: number;
}

export const DEFAULT_REST_POLICY: RestPolicy = { firstProbeMs: 30_000, maxProbeMs: 600_000 };

/** ms from the moment probe number `probes` (0-based) may run until the one after it, were it to fail. */
export function probeDelayMs(probes: number, policy: RestPolicy): number {
  if (probes <= 0) return 0;
  return Math.min(policy.maxProbeMs, policy.firstProbeMs * 2 ** (probes - 1));
}

/** A resting key: why, when it may next be probed, and how many probes it has had. */
export interface Rest {
  reason: string;
  probeAt: number;
  probes: number;
}

/** Taking a key out of service; the first probe is due at once. */
export function startRest(reason: string, now: number): Rest {
  return { reason, probeAt: now, probes: 0 };
}

/**
 * Claims the due probe: undefined when none is due yet. The next one is scheduled as the claim is
 * made, so a probe that never returns (its replica died) does not leave the key unprobed.
 */
export function claimProbe(rest: Rest, now: number, policy: RestPolicy): Rest | undefined {
  if (rest.probeAt > now) return undefined;
  const probes = rest.probes + 1;
  return { reason: rest.reason, probes, probeAt: now + probeDelayMs(probes, policy) };
}
