/**
 * Tenants: the teams that share one pool of provider keys. Each has client keys, a weight (its
 * share of a saturated pool), a default priority, and optionally its own ceiling, budget, models
 * and longest wait. Every key of server.auth.keys is a tenant of its own ("client-N"), so a
 * one-tenant setup needs no `tenants:` section.
 */
import type { Config, Limits, TenantConfig } from '../config/schema.js';
import type { Priority } from '../quota/types.js';
import { matches } from '../routing/plan.js';

export interface Budget {
  dailyUsd?: number;
  monthlyUsd?: number;
  /** IANA time zone the daily and monthly windows start in. */
  timeZone: string;
}

export interface Tenant {
  name: string;
  weight: number;
  priority: Priority;
  limits: Limits | undefined;
  budget: Budget | undefined;
  /** Model-name globs it may ask for; undefined: any. */
  models: string[] | undefined;
  maxWaitMs: number | undefined;
}

function tenantOf(name: string, config: TenantConfig): Tenant {
  const { budget } = config;
  return {
    name,
    weight: config.weight,
    priority: config.priority,
    limits: config.limits,
    budget: budget && (budget.daily_usd !== undefined || budget.monthly_usd !== undefined)
      ? { dailyUsd: budget.daily_usd, monthlyUsd: budget.monthly_usd, timeZone: budget.time_zone }
      : undefined,
    models: config.models,
    maxWaitMs: config.max_wait,
  };
}

/** The tenant a key of server.auth.keys stands for: weight 1, interactive, no ceiling. */
export function keyTenant(index: number): Tenant {
  return { name: `client-${index}`, weight: 1, priority: 'interactive', limits: undefined, budget: undefined, models: undefined, maxWaitMs: undefined };
}

/** Every tenant the config names, server.auth.keys' own included. */
export function tenantsOf(config: Pick<Config, 'server' | 'tenants'>): Map<string, Tenant> {
  const tenants = new Map<string, Tenant>();
  config.server.auth.keys.forEach((_, i) => tenants.set(keyTenant(i).name, keyTenant(i)));
  for (const [name, tenant] of Object.entries(config.tenants)) tenants.set(name, tenantOf(name, tenant));
  return tenants;
}

/** Whether the tenant may ask for this model (its `models` globs; all when it has none). */
export function mayUseModel(tenant: Tenant, model: string): boolean {
  return tenant.models === undefined || tenant.models.some((pattern) => matches(pattern, model));
}

/** The longest a request of this tenant may wait: what it asked (already cut to the gateway's cap), cut to the tenant's own. */
export function tenantMaxWait(tenant: Tenant | undefined, askedMs: number): number {
  return tenant?.maxWaitMs === undefined ? askedMs : Math.min(askedMs, tenant.maxWaitMs);
}
