/**
 * Tenant overrides (tenants/overrides.ts) in the Redis every replica shares: one hash, tenant →
 * JSON. Written by the replica that takes the admin request; every replica re-reads it on its
 * refresh (tenants/registry.ts), so a change holds fleet-wide within a second.
 */
import { parseOverride, type TenantOverride, type TenantOverrideStore } from '../tenants/overrides.js';
import type { RedisStore } from './redis-store.js';

export class RedisTenantOverrides implements TenantOverrideStore {
  private readonly key: string;

  constructor(private readonly store: RedisStore) {
    this.key = store.key('tenants', 'overrides');
  }

  async readAll(): Promise<Map<string, TenantOverride>> {
    const hash = await this.store.client.hgetall(this.key);
    return new Map(Object.entries(hash).flatMap(([tenant, text]) => {
      const override = parseOverride(text);
      return override ? [[tenant, override] as const] : [];
    }));
  }

  async read(tenant: string): Promise<TenantOverride> {
    const text = await this.store.client.hget(this.key, tenant);
    return (text !== null && parseOverride(text)) || {};
  }

  async write(tenant: string, override: TenantOverride): Promise<void> {
    if (Object.keys(override).length === 0) await this.store.client.hdel(this.key, tenant);
    else await this.store.client.hset(this.key, tenant, JSON.stringify(override));
  }

  async close(): Promise<void> {
    // The connection is the gateway's.
  }
}
