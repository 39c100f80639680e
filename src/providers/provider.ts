import { createHash } from 'node:crypto';
import type { Config, ProviderConfig, WindowConfig } from '../config/schema.js';
import { ConnectionSlots, DEFAULT_CONNECTIONS } from '../quota/connections.js';
import { KeyPool } from '../quota/pool.js';
import type { RestPolicy } from '../quota/rest.js';
import type { QuotaPool } from '../quota/types.js';
import type { WindowShape } from '../quota/window.js';
import { RedisKeyPool } from '../store/redis-pool.js';
import { RedisStore } from '../store/redis-store.js';
import { adapterFor } from './registry.js';
import type { ProviderAdapter } from './types.js';

/** A configured provider at run time: its adapter, its base URL, its keys and their shared pool. */
export interface Provider {
  name: string;
  config: ProviderConfig;
  adapter: ProviderAdapter;
  /** Base URL without a trailing slash. */
  baseUrl: string;
  pool: QuotaPool;
  /** Upstream connections this gateway may hold to the provider at once, taken at admission. */
  connections: ConnectionSlots;
  /** The secret for a key id; secrets never leave this map except in the upstream auth header. */
  secretOf(keyId: string): string;
}

/** A key's public name: its configured id, else a short hash of the secret. */
export function keyIdOf(key: { id?: string; key: string }): string {
  return key.id ?? `key-${createHash('sha256').update(key.key).digest('hex').slice(0, 8)}`;
}

/** A configured window as the pool takes it: none for a bucket. Configured either way, the key learns none from its headers. */
function windowOf(window: WindowConfig | undefined): { window?: WindowShape; windowConfigured?: boolean } {
  if (!window) return {};
  return window.type !== 'bucket' ? { window: { type: window.type, lengthMs: window.length }, windowConfigured: true } : { windowConfigured: true };
}

/** `store`: where the pool keeps its buckets; in this process when absent. `rest`: when refused keys are probed. */
export function createProvider(name: string, config: ProviderConfig, store?: RedisStore, rest?: RestPolicy): Provider {
  const adapter = adapterFor(config.type);
  const secrets = new Map<string, string>();
  const keys = (config.keys ?? []).map((key) => {
    const id = keyIdOf(key);
    secrets.set(id, key.key);
    return { id, limits: key.limits ?? config.limits ?? {}, ...windowOf(key.window ?? config.window) };
  });
  // A keyless provider (a local model) is one pseudo-key limited by the provider's own limits.
  if (keys.length === 0) keys.push({ id: 'local', limits: config.limits ?? {}, ...windowOf(config.window) });
  return {
    name,
    config,
    adapter,
    baseUrl: (config.base_url ?? adapter.defaultBaseUrl).replace(/\/+$/, ''),
    pool: store ? new RedisKeyPool(name, keys, store, rest ? { rest } : {}) : new KeyPool(name, keys, rest ? { rest } : {}),
    connections: new ConnectionSlots(config.connections ?? DEFAULT_CONNECTIONS),
    secretOf: (keyId) => secrets.get(keyId) ?? '',
  };
}

/** The shared-state connection when `store.type` is redis or redis-cluster; one per process. */
export function createStore(config: Config, log: (message: string) => void = () => {}): RedisStore | undefined {
  const { store } = config;
  const shared = {
    prefix: store.prefix,
    log,
    ...(store.replicas === undefined ? {} : { replicas: store.replicas }),
    ...(store.command_timeout === undefined ? {} : { commandTimeoutMs: store.command_timeout }),
  };
  if (store.type === 'redis') return new RedisStore({ ...shared, url: store.url });
  if (store.type === 'redis-cluster') return new RedisStore({ ...shared, nodes: store.nodes ?? [] });
  return undefined;
}
