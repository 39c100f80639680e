/**
 * Watches each canary with `rollback_when`: every upstream attempt of the route's candidate or
 * primary targets joins the route's sliding window, and when rollback.ts says the candidate is
 * worse, the canary is rolled back (TrafficControl: share to 0, an alert naming the figure).
 * Each replica watches the traffic it serves; the rollback it decides is shared with all.
 */
import type { Config, RouteConfig, TargetConfig } from '../config/schema.js';
import type { UpstreamRecord } from '../observe/observer.js';
import type { CanarySide } from './canary.js';
import { rollbackVerdict, type Sample } from './rollback.js';
import type { TrafficControl } from './traffic-control.js';

/** Samples kept per route at most, whatever the window: memory stays bounded under any load. */
const MAX_SAMPLES = 5_000;

const isTarget = (target: TargetConfig, record: UpstreamRecord) => target.provider === record.provider && (target.model === undefined || target.model === record.model);

/** Which side of the route's canary an attempt is on, if either. */
export function sideOf(route: RouteConfig, record: UpstreamRecord): CanarySide | undefined {
  if (!route.canary) return undefined;
  if (isTarget(route.canary.target, record)) return 'candidate';
  if (route.targets.some((target) => isTarget(target, record))) return 'primary';
  return undefined;
}

export const isFailure = (status: UpstreamRecord['status']) => typeof status !== 'number' || status >= 500;

export class CanaryWatch {
  private readonly windows = new Map<string, Sample[]>();
  private readonly rolling = new Set<string>();

  constructor(
    private readonly config: () => Config,
    private readonly traffic: TrafficControl,
    /** The route's shadow agreement since a time (only read for rules that use it). */
    private readonly agreement: (route: string, since: number) => { pairs: number; rate: number | undefined },
    private readonly log: (message: string) => void,
    private readonly now: () => number = Date.now,
  ) {}

  upstream(record: UpstreamRecord): void {
    for (const [name, route] of Object.entries(this.config().routes)) {
      const rule = route.canary?.rollback_when;
      if (!rule || this.rolling.has(name) || this.traffic.canaryShare(name) <= 0) continue;
      const side = sideOf(route, record);
      if (!side) continue;
      const now = this.now();
      const fresh = this.windows.get(name) ?? [];
      this.windows.set(name, fresh);
      fresh.push({ at: now, side, error: isFailure(record.status), latencyMs: record.latencyMs });
      // Samples arrive in time order: the stale ones are at the front.
      let stale = 0;
      while (stale < fresh.length && fresh[stale]!.at <= now - rule.window) stale++;
      fresh.splice(0, Math.max(stale, fresh.length - MAX_SAMPLES));
      if (side !== 'candidate') continue;
      const verdict = rollbackVerdict(fresh, rule, rule.shadow_agreement_below !== undefined ? this.agreement(name, now - rule.window) : undefined);
      if (!verdict) continue;
      this.rolling.add(name);
      this.windows.delete(name);
      this.traffic
        .rollBack(name, verdict)
        .catch((error: unknown) => this.log(`spillway: could not roll back the canary of route ${name}: ${error instanceof Error ? error.message : String(error)}`))
        .finally(() => this.rolling.delete(name));
    }
  }
}
