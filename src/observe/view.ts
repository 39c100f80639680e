/**
 * What observability reads from a running gateway: the key pools' state and the queue. An interface
 * rather than the Gateway itself, so metrics, alerts and the dashboard are tested on plain data.
 */
import type { KeySnapshot } from '../quota/types.js';

export interface PoolView {
  provider: string;
  keys: KeySnapshot[];
}

export interface TenantBudgetUse {
  tenant: string;
  window: 'daily' | 'monthly';
  limitUsd: number;
  spentUsd: number;
}

/** One tenant as it stands now: its settings (config and runtime changes), its waiting requests, its budgets. */
export interface TenantState {
  name: string;
  weight: number;
  priority: 'interactive' | 'batch';
  /** Its own ceiling, per dimension; empty without one. */
  limits: Partial<Record<string, number>>;
  maxWaitMs: number | null;
  models: string[] | null;
  /** Its requests waiting in the admission queue, and the longest wait among them (ms). */
  waiting: number;
  longestWaitMs: number;
  budgets: Array<TenantBudgetUse & { resetsAt: number }>;
  /** The settings changed at runtime (admin API), over config. */
  overridden: string[];
}

/** The day ahead of one daily cap (src/forecast/): a pool's requests per day or a tenant's daily budget. */
export interface CapForecast {
  kind: 'pool' | 'tenant';
  /** The provider (pool) or the tenant. */
  name: string;
  unit: 'requests' | 'usd';
  /** What is left now and the cap per day. */
  remaining: number;
  limit: number;
  demandNextHour: number;
  capacityNextHour: number;
  demandUntilReset: number;
  capacityUntilReset: number;
  resetAt: number;
  /** When the forecast demand spends the cap before its reset; absent when it lasts. */
  exhaustAt?: number;
  /** Batch admissions per minute while paced; absent when not. */
  batchPerMinute?: number;
  /** Whether the time-of-day profile (two days of history) shaped the forecast. */
  seasonal: boolean;
}

export interface GatewayView {
  /** Async: with a shared store (Redis) the pools live elsewhere. */
  pools(now: number): Promise<PoolView[]>;
  queueDepth(): number;
  /** Entries and bytes the exact cache holds (zero without one). */
  cacheHeld?(): { entries: number; bytes: number };
  /** Whether the shared store is unreachable and limits are split per replica. */
  degraded?(): boolean;
  /** Each budgeted tenant's spend in its current windows. */
  budgets?(now: number): TenantBudgetUse[];
  /** Every tenant, as it stands now. */
  tenants?(now: number): TenantState[];
  /** The day ahead of each daily cap, as the forecast last refitted it. */
  forecasts?(): CapForecast[];
  /** Replicas sharing the store, as its heartbeats last counted them (undefined: no shared store). */
  replicas?(): number | undefined;
}

export interface Clock {
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };
