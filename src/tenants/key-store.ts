/**
 * Tenant keys created at runtime (admin API, `spillway keys`): kept in SQLite in the data
 * directory as SHA-256 digests only; the key itself is shown once, when it is made. Replicas that
 * share the file see new and revoked keys on their next refresh.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { keyDigest, type KeyEntry } from './key-directory.js';

export interface RuntimeKey {
  id: string;
  tenant: string;
  createdAt: number;
  revokedAt: number | null;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS tenant_keys (
  id TEXT PRIMARY KEY,            -- how the key is named in lists, usage and logs
  tenant TEXT NOT NULL,
  digest BLOB NOT NULL UNIQUE,    -- SHA-256 of the key; the key itself is never stored
  created_at INTEGER NOT NULL,
  revoked_at INTEGER
);
`;

export class TenantKeyStore {
  private readonly db: Database.Database;

  constructor(dataDir: string) {
    mkdirSync(dataDir, { recursive: true });
    this.db = new Database(join(dataDir, 'tenant-keys.sqlite'));
    this.db.pragma('busy_timeout = 5000');
    this.db.pragma('journal_mode = WAL');
    this.db.exec(SCHEMA);
  }

  /** A new key for the tenant: the only time the key itself is seen. */
  create(tenant: string, now = Date.now()): RuntimeKey & { key: string } {
    const id = `key_${randomBytes(6).toString('hex')}`;
    const key = `sk-spw-${randomBytes(24).toString('base64url')}`;
    this.db.prepare('INSERT INTO tenant_keys (id, tenant, digest, created_at) VALUES (?, ?, ?, ?)').run(id, tenant, keyDigest(key), now);
    return { id, tenant, createdAt: now, revokedAt: null, key };
  }

  list(): RuntimeKey[] {
    const rows = this.db.prepare('SELECT id, tenant, created_at, revoked_at FROM tenant_keys ORDER BY created_at').all() as Array<{ id: string; tenant: string; created_at: number; revoked_at: number | null }>;
    return rows.map((row) => ({ id: row.id, tenant: row.tenant, createdAt: row.created_at, revokedAt: row.revoked_at }));
  }

  /** Whether a key of that id was in service (and is no longer). */
  revoke(id: string, now = Date.now()): boolean {
    return this.db.prepare('UPDATE tenant_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL').run(now, id).changes > 0;
  }

  /** The keys in service, as the key directory compares them. */
  active(): KeyEntry[] {
    const rows = this.db.prepare('SELECT id, tenant, digest FROM tenant_keys WHERE revoked_at IS NULL').all() as Array<{ id: string; tenant: string; digest: Buffer }>;
    return rows.map((row) => ({ digest: row.digest, tenant: row.tenant, keyId: row.id }));
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}
