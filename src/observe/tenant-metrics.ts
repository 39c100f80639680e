/**
 * Metrics by tenant (issue 16): requests, tokens, cost, queue wait and budget used, labelled with
 * the tenant's name (a config name or "client-N", never a key). Requests without a tenant (a gateway
 * without client keys) are not counted here; the gateway-wide metrics count everything.
 */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { RequestRecord } from './observer.js';
import type { Clock, GatewayView } from './view.js';

export class TenantMetrics {
  private readonly requests: Counter<'tenant' | 'status'>;
  private readonly tokens: Counter<'tenant' | 'direction'>;
  private readonly cost: Counter<'tenant'>;
  private readonly queueWait: Histogram<'tenant'>;

  constructor(registry: Registry, view: GatewayView, clock: Clock, waitBuckets: number[]) {
    const registers = [registry];
    this.requests = new Counter({ name: 'spillway_tenant_requests_total', help: 'Chat requests answered, by tenant and HTTP status', labelNames: ['tenant', 'status'], registers });
    this.tokens = new Counter({ name: 'spillway_tenant_tokens_total', help: 'Tokens reported by providers, by tenant and direction', labelNames: ['tenant', 'direction'], registers });
    this.cost = new Counter({ name: 'spillway_tenant_cost_usd_total', help: 'Cost in USD from the price table, by tenant', labelNames: ['tenant'], registers });
    this.queueWait = new Histogram({ name: 'spillway_tenant_queue_wait_seconds', help: 'Time requests waited for capacity, by tenant', labelNames: ['tenant'], buckets: waitBuckets, registers });
    const budgetUsed: Gauge<'tenant' | 'window'> = new Gauge({
      name: 'spillway_tenant_budget_used_ratio',
      help: "Share of a tenant's budget spent in the current window (daily, monthly)",
      labelNames: ['tenant', 'window'],
      registers,
      collect() {
        budgetUsed.reset();
        for (const use of view.budgets?.(clock.now()) ?? []) budgetUsed.set({ tenant: use.tenant, window: use.window }, use.spentUsd / use.limitUsd);
      },
    });
  }

  request(r: RequestRecord): void {
    const { tenant } = r;
    if (tenant === undefined) return;
    this.requests.inc({ tenant, status: String(r.status) });
    if (r.inputTokens) this.tokens.inc({ tenant, direction: 'input' }, r.inputTokens);
    if (r.outputTokens) this.tokens.inc({ tenant, direction: 'output' }, r.outputTokens);
    if (r.costUsd) this.cost.inc({ tenant }, r.costUsd);
    if (r.attempts > 0) this.queueWait.observe({ tenant }, r.queueMs / 1000);
  }
}
