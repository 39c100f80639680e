/**
 * The tenants of a running gateway and their client keys: built from config at start (tenants need
 * a restart to change in config; runtime keys and changes come through the admin API).
 */
import type { Config } from '../config/schema.js';
import { BudgetLedger, type BudgetUse } from './budget.js';
import { TenantCeiling } from './ceiling.js';
import { configuredKeys, identify, type KeyEntry } from './key-directory.js';
import { tenantsOf, type Tenant } from './tenant.js';

export class TenantRegistry {
  private readonly tenants: Map<string, Tenant>;
  private readonly keys: KeyEntry[];
  private readonly ceilings = new Map<string, TenantCeiling>();
  private readonly ledgers = new Map<string, BudgetLedger>();

  constructor(config: Pick<Config, 'server' | 'tenants'>) {
    this.tenants = tenantsOf(config);
    this.keys = configuredKeys(config);
  }

  /** No client keys at all: every caller is let in, as no tenant. */
  get open(): boolean {
    return this.keys.length === 0;
  }

  /** The tenant and key id of a credential, or undefined for an unknown key. */
  identify(credential: string): { tenant: Tenant; keyId: string } | undefined {
    const found = identify(this.keys, credential);
    const tenant = found && this.tenants.get(found.tenant);
    return tenant && { tenant, keyId: found.keyId };
  }

  get(name: string): Tenant | undefined {
    return this.tenants.get(name);
  }

  /** The tenant's own buckets, or undefined for a tenant without `limits`. */
  ceilingOf(tenant: Tenant): TenantCeiling | undefined {
    if (!tenant.limits) return undefined;
    let ceiling = this.ceilings.get(tenant.name);
    if (!ceiling) this.ceilings.set(tenant.name, (ceiling = new TenantCeiling(tenant.limits, Date.now())));
    return ceiling;
  }

  /** The tenant's spend against its budget, or undefined for a tenant without one. */
  ledgerOf(tenant: Tenant): BudgetLedger | undefined {
    if (!tenant.budget) return undefined;
    let ledger = this.ledgers.get(tenant.name);
    if (!ledger) this.ledgers.set(tenant.name, (ledger = new BudgetLedger(tenant.budget)));
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
