/** Tenants' ceilings and budgets shared by every replica through Redis (store: redis or redis-cluster). */
import type { TenantState } from '../tenants/registry.js';
import { RedisBudgetLedger } from './redis-budget.js';
import { RedisTenantCeiling } from './redis-ceiling.js';
import type { RedisStore } from './redis-store.js';

export function redisTenantState(store: RedisStore): TenantState {
  return {
    ceiling: (tenant, limits) => new RedisTenantCeiling(store, tenant, limits),
    ledger: (tenant, budget) => new RedisBudgetLedger(store, tenant, budget),
  };
}
