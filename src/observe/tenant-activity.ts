/**
 * Each tenant's recent traffic, for the dashboard's tenant view and GET /admin/tenants: requests,
 * admissions (requests that took capacity from a key), the time they waited for it, refusals and
 * cost, in 5-second slots over five minutes. A tenant's share of capacity is its admissions over
 * everyone's. Bounded by the tenants config names (and server.auth.keys' "client-N").
 */
import type { RequestRecord } from './observer.js';
import { SlottedSeries } from './window.js';

const FIELDS = ['requests', 'admitted', 'queueMs', 'refused', 'costUsd'] as const;
export type TenantField = (typeof FIELDS)[number];

export interface TenantWindow {
  requests: number;
  admitted: number;
  /** Share of all tenants' admissions in the window; null when there were none. */
  share: number | null;
  /** Mean wait for capacity of the admitted requests (ms); null without any. */
  meanWaitMs: number | null;
  /** Answered 429 (ceiling, budget, deadline) or 503 by spillway or the provider. */
  refused: number;
  costUsd: number;
}

export class TenantActivity {
  private readonly series = new Map<string, SlottedSeries<TenantField>>();

  request(record: RequestRecord, now: number): void {
    const { tenant } = record;
    if (tenant === undefined) return;
    let series = this.series.get(tenant);
    if (!series) this.series.set(tenant, (series = new SlottedSeries(FIELDS, 5_000, 60)));
    series.add('requests', now);
    if (record.attempts > 0) {
      series.add('admitted', now);
      series.add('queueMs', now, record.queueMs);
    }
    if (record.status === 429 || record.status === 503) series.add('refused', now);
    if (record.costUsd) series.add('costUsd', now, record.costUsd);
  }

  /** Every tenant seen in the last `spanMs`, with its share of the admissions. */
  window(now: number, spanMs: number): Map<string, TenantWindow> {
    const sums = new Map([...this.series].map(([tenant, series]) => [tenant, series.sum(now, spanMs)] as const));
    let admittedAll = 0;
    for (const sum of sums.values()) admittedAll += sum.admitted;
    const out = new Map<string, TenantWindow>();
    for (const [tenant, sum] of sums) {
      out.set(tenant, {
        requests: sum.requests,
        admitted: sum.admitted,
        share: admittedAll > 0 ? sum.admitted / admittedAll : null,
        meanWaitMs: sum.admitted > 0 ? sum.queueMs / sum.admitted : null,
        refused: sum.refused,
        costUsd: sum.costUsd,
      });
    }
    return out;
  }
}
