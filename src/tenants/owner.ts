/**
 * Who a batch or a kept response belongs to. A tenant from `tenants:` owns what any of its keys made,
 * so its keys (config keys, keys made at runtime, a key rotated in for a revoked one) reach the
 * same batches and conversations, and another tenant's ids answer like unknown ones. A key of
 * server.auth.keys is a tenant of its own and is known by a hash of the key, which reordering the
 * list does not change.
 */
import type { Config } from '../config/schema.js';
import { clientKeyIdOfOwner, ownerOf } from '../config/client-keys.js';

const TENANT_PREFIX = 'tenant:';

/** The owner id of a request by `credential`, which belongs to the tenant `tenant`. */
export function ownerFor(config: Pick<Config, 'tenants'>, tenant: string, credential: string): string {
  return Object.hasOwn(config.tenants, tenant) ? `${TENANT_PREFIX}${tenant}` : ownerOf(credential);
}

/** The tenant an owner id stands for, or undefined (open mode, or a key no longer configured). */
export function tenantOfOwner(config: Pick<Config, 'tenants' | 'server'>, owner: string): string | undefined {
  if (owner.startsWith(TENANT_PREFIX)) {
    const name = owner.slice(TENANT_PREFIX.length);
    return Object.hasOwn(config.tenants, name) ? name : undefined;
  }
  return clientKeyIdOfOwner(config.server.auth.keys, owner);
}
