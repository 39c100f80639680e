/**
 * The providers' life, from start to shutdown: built from config on the gateway's one store,
 * swapped when a reload changes the config, and closed. A provider whose config is unchanged keeps
 * its Provider object, and with it its key pool's state (buckets, learned limits, cool-downs,
 * resting keys); a new or changed one is built as at start, on the same store (so a Redis pool
 * finds the shared buckets it already has for unchanged key ids, and no second connection opens).
 * A replaced provider serves the requests that already hold it and is closed when the last of them
 * lets go (see leases.ts); shutdown closes everything still open, each pool once.
 */
import { isDeepStrictEqual } from 'node:util';
import type { Config } from '../config/schema.js';
import type { RedisStore } from '../store/redis-store.js';
import { ProviderLeases } from './leases.js';
import { createProvider, type Provider } from './provider.js';

/** `store`: the gateway's one connection, shared by every pool; in-process pools when absent. */
function createProviders(config: Config, names: Iterable<string>, store: RedisStore | undefined): Map<string, Provider> {
  const rest = { firstProbeMs: config.key_rest.first_probe, maxProbeMs: config.key_rest.max_probe };
  return new Map([...names].map((name) => [name, createProvider(name, config.providers[name]!, store, rest)]));
}

export class ProviderLifecycle {
  /** Which providers the requests in flight hold: a replaced one is closed after them. */
  readonly leases = new ProviderLeases();
  private current: Map<string, Provider>;
  /** Replaced, waiting for their last request; closed at shutdown if still waiting. */
  private readonly retiring = new Set<Provider>();
  /** Each pool is closed once (a Redis pool's close releases its hold on the shared connection). */
  private readonly closed = new WeakSet<Provider>();

  constructor(
    config: Config,
    private readonly store: RedisStore | undefined,
    private readonly log: (message: string) => void,
  ) {
    this.current = createProviders(config, Object.keys(config.providers), store);
  }

  /** The providers for new requests. */
  get providers(): Map<string, Provider> {
    return this.current;
  }

  /**
   * Swaps in the providers of `next` for the next requests, synchronously (the caller swaps its
   * routes in the same tick). Returns the names of providers added, changed or removed.
   */
  apply(next: Config): string[] {
    const providers = new Map<string, Provider>();
    const changed: string[] = [];
    for (const [name, config] of Object.entries(next.providers)) {
      const running = this.current.get(name);
      if (running && isDeepStrictEqual(running.config, config)) providers.set(name, running);
      else changed.push(name);
    }
    for (const [name, provider] of createProviders(next, changed, this.store)) providers.set(name, provider);
    for (const name of this.current.keys()) if (!providers.has(name)) changed.push(name);
    const replaced = [...this.current.values()].filter((provider) => providers.get(provider.name) !== provider);
    this.current = providers;
    for (const provider of replaced) {
      this.retiring.add(provider);
      this.leases.retire(provider, () => {
        this.retiring.delete(provider);
        this.closeOne(provider).catch((error: unknown) =>
          this.log(`spillway: closing the replaced provider ${provider.name} failed: ${error instanceof Error ? error.message : String(error)}`),
        );
      });
    }
    return changed;
  }

  /** Shutdown: closes every provider, the ones in service and the replaced ones still held. */
  async close(): Promise<void> {
    const all = [...this.current.values(), ...this.retiring];
    this.retiring.clear();
    await Promise.all(all.map((provider) => this.closeOne(provider)));
  }

  private async closeOne(provider: Provider): Promise<void> {
    if (this.closed.has(provider)) return;
    this.closed.add(provider);
    await provider.pool.close?.();
  }
}
