/**
 * The tenants of a running gateway and their client keys: the tenants and their config keys from
 * config at start (a restart changes them), keys made at runtime from the key store, re-read every
 * second so keys created or revoked on any replica sharing the store count here within a second.
 */
import type { Config } from '../config/schema.js';
import type { Limits } from '../config/schema.js';
import { BudgetLedger, type BudgetUse, type SpendLedger } from './budget.js';
import { TenantCeiling, type TenantBuckets } from './ceiling.js';
import { configuredKeys, identify, type KeyEntry } from './key-directory.js';
import type { TenantKeyStore } from './key-store.js';
import { tenantsOf, type Budget, type Tenant } from './tenant.js';

/** Makes a tenant's ceiling and budget ledger: in this process, or shared through a store (store/redis-tenant-state.ts). */
export interface TenantState {
  ceiling(tenant: string, limits: Limits): TenantBuckets;
  ledger(tenant: string, budget: Budget): SpendLedger;
}

const localTenantState: TenantState = {
  ceiling: (_, limits) => new TenantCeiling(limits, Date.now()),
  ledger: (_, budget) => new BudgetLedger(budget),
};

export class TenantRegistry {
  private readonly tenants: Map<string, Tenant>;
  private readonly configKeys: KeyEntry[];
  private runtimeKeys: KeyEntry[] = [];
  private store: TenantKeyStore | undefined;
  private timer: ReturnType<typeof setInterval> | undefined;
  private readonly ceilings = new Map<string, TenantBuckets>();
  private readonly ledgers = new Map<string, SpendLedger>();
  /** Where ceilings and budgets keep their state: this process, or (useSharedState) Redis for the fleet. */
  private state: TenantState = localTenantState;

  constructor(config: Pick<Config, 'server' | 'tenants'>) {
    this.tenants = tenantsOf(config);
    this.configKeys = configuredKeys(config);
  }

  /** Ceilings and budgets shared by the fleet from now on (store: redis); call before the first request. */
  useSharedState(state: TenantState): void {
    this.state = state;
  }

  /** Runtime keys from this store from now on, re-read every `refreshMs`. */
  useStore(store: TenantKeyStore, refreshMs = 1000): void {
    this.store = store;
    this.refresh();
    this.timer = setInterval(() => this.refresh(), refreshMs);
    this.timer.unref();
  }

  /** Re-reads the runtime keys (at once after a change made here). */
  refresh(): void {
    if (this.store) this.runtimeKeys = this.store.active().filter((entry) => this.tenants.has(entry.tenant));
  }

  get keyStore(): TenantKeyStore | undefined {
    return this.store;
  }

  close(): void {
    if (this.timer) clearInterval(this.timer);
    this.store?.close();
  }

  /** No client keys at all (configured or made at runtime): every caller is let in, as no tenant. */
  get open(): boolean {
    return this.configKeys.length === 0 && this.runtimeKeys.length === 0 && this.store === undefined;
  }

  /** The tenant and key id of a credential, or undefined for an unknown key. */
  identify(credential: string): { tenant: Tenant; keyId: string } | undefined {
    const found = identify([...this.configKeys, ...this.runtimeKeys], credential);
    const tenant = found && this.tenants.get(found.tenant);
    return tenant && { tenant, keyId: found.keyId };
  }

  get(name: string): Tenant | undefined {
    return this.tenants.get(name);
  }

  /** The tenant's own buckets, or undefined for a tenant without `limits`. */
  ceilingOf(tenant: Tenant): TenantBuckets | undefined {
    if (!tenant.limits) return undefined;
    let ceiling = this.ceilings.get(tenant.name);
    if (!ceiling) this.ceilings.set(tenant.name, (ceiling = this.state.ceiling(tenant.name, tenant.limits)));
    return ceiling;
  }

  /** The tenant's spend against its budget, or undefined for a tenant without one. */
  ledgerOf(tenant: Tenant): SpendLedger | undefined {
    if (!tenant.budget) return undefined;
    let ledger = this.ledgers.get(tenant.name);
    if (!ledger) this.ledgers.set(tenant.name, (ledger = this.state.ledger(tenant.name, tenant.budget)));
    return ledger;
  }

  /** Every budgeted tenant's spend now (alerts, metrics, the dashboard). */
  budgetUse(now: number): Array<BudgetUse & { tenant: string }> {
    return this.list().flatMap((tenant) => (this.ledgerOf(tenant)?.use(now) ?? []).map((use) => ({ tenant: tenant.name, ...use })));
  }

  list(): Tenant[] {
    return [...this.tenants.values()];
  }
}
