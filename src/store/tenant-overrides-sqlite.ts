/**
 * Tenant overrides (tenants/overrides.ts) in SQLite in the data directory: replicas on one host
 * sharing the directory read each other's changes on their next refresh.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { parseOverride, type TenantOverride, type TenantOverrideStore } from '../tenants/overrides.js';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS tenant_overrides (
  tenant TEXT PRIMARY KEY,
  override TEXT NOT NULL,          -- JSON: only the fields changed at runtime
  updated_at INTEGER NOT NULL
);
`;

export class SqliteTenantOverrides implements TenantOverrideStore {
  private readonly db: Database.Database;

  constructor(dataDir: string) {
    mkdirSync(dataDir, { recursive: true });
    this.db = new Database(join(dataDir, 'tenant-overrides.sqlite'));
    this.db.pragma('busy_timeout = 5000');
    this.db.pragma('journal_mode = WAL');
    this.db.exec(SCHEMA);
  }

  async readAll(): Promise<Map<string, TenantOverride>> {
    const rows = this.db.prepare('SELECT tenant, override FROM tenant_overrides').all() as Array<{ tenant: string; override: string }>;
    return new Map(rows.flatMap((row) => {
      const override = parseOverride(row.override);
      return override ? [[row.tenant, override] as const] : [];
    }));
  }

  async read(tenant: string): Promise<TenantOverride> {
    const row = this.db.prepare('SELECT override FROM tenant_overrides WHERE tenant = ?').get(tenant) as { override: string } | undefined;
    return (row && parseOverride(row.override)) ?? {};
  }

  async write(tenant: string, override: TenantOverride): Promise<void> {
    if (Object.keys(override).length === 0) this.db.prepare('DELETE FROM tenant_overrides WHERE tenant = ?').run(tenant);
    else this.db.prepare('INSERT INTO tenant_overrides (tenant, override, updated_at) VALUES (?, ?, ?) ON CONFLICT(tenant) DO UPDATE SET override = excluded.override, updated_at = excluded.updated_at').run(tenant, JSON.stringify(override), Date.now());
  }

  async close(): Promise<void> {
    if (this.db.open) this.db.close();
  }
}
