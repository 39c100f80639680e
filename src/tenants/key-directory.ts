/**
 * Which tenant a client credential belongs to. Keys are kept as SHA-256 digests only (config keys
 * digested at start, runtime keys stored that way), and a credential is compared with every one of
 * them in constant time, so neither the time taken nor memory says which key, or how much of one,
 * was guessed.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { Config } from '../config/schema.js';

/** The digest a client key is known by. */
export function keyDigest(key: string): Buffer {
  return createHash('sha256').update(key).digest();
}

export interface KeyEntry {
  digest: Buffer;
  tenant: string;
  /** How usage and logs name the key: never the key itself. */
  keyId: string;
}

export interface Identity {
  tenant: string;
  keyId: string;
}

/** The configured keys: server.auth.keys as tenants "client-N", then each tenant's keys as "<tenant>-N". */
export function configuredKeys(config: Pick<Config, 'server' | 'tenants'>): KeyEntry[] {
  const entries = config.server.auth.keys.map((key, i) => ({ digest: keyDigest(key), tenant: `client-${i}`, keyId: `client-${i}` }));
  for (const [name, tenant] of Object.entries(config.tenants)) {
    tenant.keys.forEach((key, i) => entries.push({ digest: keyDigest(key), tenant: name, keyId: `${name}-${i}` }));
  }
  return entries;
}

/** The entry whose key is `credential`, looking at every entry whatever matched. */
export function identify(entries: readonly KeyEntry[], credential: string): Identity | undefined {
  const given = keyDigest(credential);
  let found: KeyEntry | undefined;
  for (const entry of entries) {
    if (timingSafeEqual(given, entry.digest) && found === undefined) found = entry;
  }
  return found && { tenant: found.tenant, keyId: found.keyId };
}
