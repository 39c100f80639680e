/**
 * The figures the dashboard shows, as one JSON document: built from the pools, the queue and the
 * recent activity, with `now` passed in.
 */
import { DIMENSIONS, type Dimension, type KeySnapshot } from '../quota/types.js';
import type { Activity, RecentRequest, SeriesField, Totals } from './activity.js';
import type { Condition } from './alerts.js';
import { keyUtilisation } from './utilisation.js';
import type { TenantActivity, TenantWindow } from './tenant-activity.js';
import type { CapForecast, GatewayView, TenantState } from './view.js';

const FIVE_MINUTES = 300_000;

export interface DashboardKey {
  provider: string;
  id: string;
  healthy: boolean;
  disabledReason?: string;
  /** While the key rests: when it is probed next (ms). */
  nextProbeAt?: number;
  cooling: boolean;
  inFlight: number;
  learning: boolean;
  predictionMisses: number;
  dimensions: Array<{ dimension: Dimension; limit: number; remaining: number; utilisation: number }>;
  /** How its per-minute limits are counted when not by a bucket (configured, or learned from its resets). */
  window?: KeySnapshot['window'];
}

/** A tenant in the dashboard's tenant view: as it stands, and its last minute of traffic (share of admissions, wait, spend). */
export interface DashboardTenant extends TenantState {
  lastMinute: TenantWindow;
}

const NO_TRAFFIC: TenantWindow = { requests: 0, admitted: 0, share: null, meanWaitMs: null, refused: 0, costUsd: 0 };

/** Every tenant with its last minute; tenants not in the view (gone from config) are left out. */
export function tenantRows(view: GatewayView, activity: TenantActivity | undefined, now: number): DashboardTenant[] {
  const recent = activity?.window(now, 60_000);
  return (view.tenants?.(now) ?? []).map((tenant) => ({ ...tenant, lastMinute: recent?.get(tenant.name) ?? NO_TRAFFIC }));
}

export interface DashboardState {
  now: number;
  totals: Totals;
  queueDepth: number;
  /** Shares over the last five minutes; null when nothing to divide by. */
  rates: { cacheHit: number | null; spill: number | null; fallback: number | null; upstream429: number | null };
  window: Record<SeriesField, number>;
  series: Array<{ t: number } & Record<SeriesField, number>>;
  slotMs: number;
  keys: DashboardKey[];
  alerts: Array<Pick<Condition, 'kind' | 'summary'>>;
  recent: RecentRequest[];
  tenants: DashboardTenant[];
  /** The day ahead of each daily cap: forecast demand against capacity (src/forecast/). */
  forecasts: CapForecast[];
}

const share = (part: number, whole: number): number | null => (whole > 0 ? part / whole : null);

export async function dashboardState(view: GatewayView, activity: Activity, firing: Condition[], now: number, tenants?: TenantActivity): Promise<DashboardState> {
  const window = activity.series.sum(now, FIVE_MINUTES);
  const keys: DashboardKey[] = [];
  for (const pool of await view.pools(now)) {
    for (const key of pool.keys) {
      const utilisation = keyUtilisation(key, activity.lastMinute(pool.provider, key.id, now));
      const entry: DashboardKey = {
        provider: pool.provider,
        id: key.id,
        healthy: key.healthy,
        cooling: key.coolingUntil > now,
        inFlight: key.inFlight,
        learning: key.learning,
        predictionMisses: key.predictionMisses,
        dimensions: DIMENSIONS.flatMap((dimension) => {
          const snap = key.dimensions[dimension];
          return snap ? [{ dimension, limit: snap.limit, remaining: snap.remaining, utilisation: utilisation[dimension] ?? 0 }] : [];
        }),
        ...(key.window ? { window: key.window } : {}),
      };
      if (key.disabledReason !== undefined) entry.disabledReason = key.disabledReason;
      if (key.nextProbeAt !== undefined) entry.nextProbeAt = key.nextProbeAt;
      keys.push(entry);
    }
  }
  return {
    now,
    totals: { ...activity.totals },
    queueDepth: view.queueDepth(),
    rates: {
      cacheHit: share(window.cacheHits, window.cacheLookups),
      spill: share(window.spills, window.requests),
      fallback: share(window.fallbacks, window.requests),
      upstream429: share(window.upstream429, window.upstream),
    },
    window,
    series: activity.series.points(now),
    slotMs: activity.series.slotMs,
    keys,
    alerts: firing.map(({ kind, summary }) => ({ kind, summary })),
    recent: activity.recent(),
    tenants: tenantRows(view, tenants, now),
    forecasts: view.forecasts?.() ?? [],
  };
}
