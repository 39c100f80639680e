/**
 * Observability of one gateway: metrics, alerts, the usage log and the dashboard's activity, behind
 * one Observer that the request path calls. The composite prices each request, works out the
 * gateway's own overhead, and fans the record out; a failing sink is logged, never thrown back into
 * the request path.
 */
import type { Config } from '../config/schema.js';
import { Activity } from './activity.js';
import { AlertMonitor, type AlertInputs, type Send } from './alerts.js';
import { dashboardState, tenantRows, type DashboardState, type DashboardTenant } from './dashboard.js';
import { TenantActivity } from './tenant-activity.js';
import { Metrics } from './metrics.js';
import type { Observer, RequestRecord, UpstreamRecord } from './observer.js';
import { costOf, priceTable, type PriceTable } from './prices.js';
import { UsageLog } from './usage-log.js';
import { keyUtilisation } from './utilisation.js';
import { systemClock, type Clock, type GatewayView } from './view.js';

export interface ObservabilityOptions {
  clock?: Clock;
  log?: (message: string) => void;
  /** Webhook delivery (tests); HTTP POST by default. */
  send?: Send;
  /** Evaluate alerts on config.alerts.interval (default true). */
  startAlerts?: boolean;
}

export interface Observability {
  observer: Observer;
  metrics: Metrics;
  activity: Activity;
  alerts: AlertMonitor;
  usage: UsageLog | undefined;
  prices: PriceTable;
  dashboard(): Promise<DashboardState>;
  /** The tenant view: each tenant's settings, queue, budgets and last minute. */
  tenants(): DashboardTenant[];
  close(): void;
}

/** Upstream time per request in progress, to tell spillway's own overhead from the provider's. */
const UPSTREAM_MS_LIMIT = 100_000;

export function createObservability(config: Config, view: GatewayView, options: ObservabilityOptions = {}): Observability {
  const clock = options.clock ?? systemClock;
  const log = options.log ?? (() => {});
  const prices = priceTable(config.prices);
  const activity = new Activity(clock);
  const tenantActivity = new TenantActivity();
  const metrics = new Metrics(view, activity, clock, { semanticCache: config.cache.semantic.enabled });
  const usage = config.usage.enabled ? new UsageLog(config.data_dir, log) : undefined;

  const alertInputs = async (now: number): Promise<AlertInputs> => {
    const recent = activity.series.sum(now, 300_000);
    return {
      keys: (await view.pools(now)).flatMap((pool) =>
        pool.keys.map((key) => ({
          provider: pool.provider,
          keyId: key.id,
          healthy: key.healthy,
          ...(key.disabledReason !== undefined ? { disabledReason: key.disabledReason } : {}),
          utilisation: keyUtilisation(key, activity.lastMinute(pool.provider, key.id, now)),
        })),
      ),
      upstream429LastMinute: activity.series.sum(now, 60_000).upstream429,
      queueDepth: view.queueDepth(),
      recentRequests: recent.requests,
      recentFallbacks: recent.fallbacks,
      budgets: view.budgets?.(now) ?? [],
      forecasts: view.forecasts?.() ?? [],
    };
  };
  const alerts = new AlertMonitor({
    webhooks: config.alerts.webhooks,
    thresholds: config.alerts,
    intervalMs: config.alerts.interval,
    inputs: alertInputs,
    clock,
    log,
    ...(options.send ? { send: options.send } : {}),
  });
  if (options.startAlerts ?? true) alerts.start();

  const upstreamMs = new Map<string, number>();
  const guarded = (what: string, fn: () => void) => {
    try {
      fn();
    } catch (error) {
      log(`spillway: observer (${what}) failed: ${error instanceof Error ? error.message : String(error)}`);
    }
  };

  const observer: Observer = {
    request(input: RequestRecord) {
      const record = { ...input };
      if (record.costUsd === undefined && record.model !== undefined && record.cache !== 'hit' && record.cache !== 'semantic') {
        const cost = costOf(prices, record.model, record.inputTokens ?? 0, record.outputTokens ?? 0);
        if (cost !== undefined) record.costUsd = cost;
      }
      const upstream = upstreamMs.get(record.requestId);
      upstreamMs.delete(record.requestId);
      const overheadMs =
        upstream !== undefined && record.ttfbMs !== undefined ? Math.max(0, record.ttfbMs - record.queueMs - upstream) : undefined;
      guarded('activity', () => activity.request(record));
      guarded('tenant activity', () => tenantActivity.request(record, clock.now()));
      guarded('metrics', () => metrics.request(record, overheadMs !== undefined ? { overheadMs } : {}));
      if (usage) guarded('usage log', () => usage.request(record));
    },
    upstream(record: UpstreamRecord) {
      if (record.requestId !== undefined) {
        // Bounded: a request that never reports its end (it should) cannot grow this forever.
        if (upstreamMs.size >= UPSTREAM_MS_LIMIT) upstreamMs.clear();
        upstreamMs.set(record.requestId, (upstreamMs.get(record.requestId) ?? 0) + record.latencyMs);
      }
      guarded('activity', () => activity.upstream(record));
      guarded('metrics', () => metrics.upstream(record));
    },
    keyDisabled(provider: string, keyId: string) {
      guarded('activity', () => activity.keyDisabled());
      guarded('metrics', () => metrics.keyDisabled(provider, keyId));
      // Announce it now rather than at the next interval.
      void alerts.evaluate();
    },
    keyProbed(provider, keyId, result) {
      guarded('metrics', () => metrics.keyProbed(provider, keyId, result));
    },
    keyRestored(provider: string, keyId: string) {
      guarded('metrics', () => metrics.keyRestored(provider, keyId));
      // The key_disabled alert resolves now rather than at the next interval.
      void alerts.evaluate();
    },
  };

  return {
    observer,
    metrics,
    activity,
    alerts,
    usage,
    prices,
    dashboard: () => dashboardState(view, activity, alerts.firing(), clock.now(), tenantActivity),
    tenants: () => tenantRows(view, tenantActivity, clock.now()),
    close() {
      alerts.close();
      usage?.close();
    },
  };
}
