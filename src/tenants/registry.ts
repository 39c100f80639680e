/**
 * The tenants of a running gateway and their client keys: the tenants and their config keys from
 * config at start (a restart changes them), keys made at runtime from the key store, re-read every
 * second so keys created or revoked on any replica sharing the store count here within a second.
 * Limits, budgets, weights, priorities and longest waits changed at runtime (overrides.ts) are laid
 * over config the same way, re-read twice a second; the ceilings and ledgers already made are told
 * through their setters, so what a tenant has used stays counted.
 */
import type { Config } from '../config/schema.js';
import type { Limits } from '../config/schema.js';
import { BudgetLedger, type BudgetUse, type SpendLedger } from './budget.js';
import { TenantCeiling, type TenantBuckets } from './ceiling.js';
import { configuredKeys, identify, type KeyEntry } from './key-directory.js';
import type { TenantKeyStore } from './key-store.js';
import { patchOverride, withOverride, type TenantOverride, type TenantOverrideStore, type TenantPatch } from './overrides.js';
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
  /** As config makes them. */
  private readonly configured: Map<string, Tenant>;
  /** As they are now: config with the runtime overrides laid over it. */
  private readonly tenants: Map<string, Tenant>;
  private overrides = new Map<string, TenantOverride>();
  private overrideStore: TenantOverrideStore | undefined;
  private overrideTimer: ReturnType<typeof setInterval> | undefined;
  private overridesRead: Promise<void> | undefined;
  private readonly configKeys: KeyEntry[];
  private runtimeKeys: KeyEntry[] = [];
  private store: TenantKeyStore | undefined;
  private timer: ReturnType<typeof setInterval> | undefined;
  private readonly ceilings = new Map<string, TenantBuckets>();
  private readonly ledgers = new Map<string, SpendLedger>();
  /** Where ceilings and budgets keep their state: this process, or (useSharedState) Redis for the fleet. */
  private state: TenantState = localTenantState;

  constructor(config: Pick<Config, 'server' | 'tenants'>) {
    this.configured = tenantsOf(config);
    this.tenants = new Map(this.configured);
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

  /** Runtime overrides from this store from now on, re-read every `refreshMs`. */
  useOverrides(store: TenantOverrideStore, refreshMs = 500): Promise<void> {
    this.overrideStore = store;
    this.overrideTimer = setInterval(() => void this.refreshOverrides(), refreshMs);
    this.overrideTimer.unref();
    return this.refreshOverrides();
  }

  /** Re-reads the overrides; while the store is out of reach the last ones read hold. */
  refreshOverrides(): Promise<void> {
    const store = this.overrideStore;
    if (!store) return Promise.resolve();
    this.overridesRead ??= store
      .readAll()
      .then((overrides) => this.applyOverrides(overrides, Date.now()), () => undefined)
      .finally(() => (this.overridesRead = undefined));
    return this.overridesRead;
  }

  /** Changes a tenant's settings at runtime for every replica sharing the store; the tenant as it now is. */
  async patch(name: string, patch: TenantPatch): Promise<Tenant> {
    const store = this.overrideStore;
    if (!store || !this.configured.has(name)) throw new Error(`no tenant ${name} to change`);
    await store.write(name, patchOverride(await store.read(name), patch));
    // A read begun before the write would miss it: the change is read after it.
    await this.overridesRead;
    await this.refreshOverrides();
    return this.tenants.get(name)!;
  }

  /** What runtime changes hold for the tenant (empty: config alone). */
  overrideOf(name: string): TenantOverride {
    return this.overrides.get(name) ?? {};
  }

  /** Lays the overrides over config, telling the tenants' ceilings and ledgers what changed. */
  applyOverrides(overrides: Map<string, TenantOverride>, now: number): void {
    // Only tenants config still names; nothing to do when nothing changed (the usual poll).
    const next = new Map([...overrides].filter(([name]) => this.configured.has(name)).sort(([a], [b]) => a.localeCompare(b)));
    if (JSON.stringify([...next]) === JSON.stringify([...this.overrides])) return;
    this.overrides = next;
    for (const [name, base] of this.configured) {
      const tenant = withOverride(base, this.overrides.get(name));
      this.tenants.set(name, tenant);
      const ceiling = this.ceilings.get(name);
      if (ceiling && tenant.limits) ceiling.setLimits(tenant.limits, now);
      else if (ceiling) this.ceilings.delete(name);
      const ledger = this.ledgers.get(name);
      if (ledger && tenant.budget) ledger.setBudget(tenant.budget);
      else if (ledger) this.ledgers.delete(name);
    }
  }

  close(): void {
    if (this.timer) clearInterval(this.timer);
    if (this.overrideTimer) clearInterval(this.overrideTimer);
    this.store?.close();
    void this.overrideStore?.close();
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
