/**
 * Hot reload: when the config file changes (or on SIGHUP) the routes and providers are re-read and
 * swapped in for the NEXT requests. A request in flight keeps the plan and Provider objects it
 * already holds, so it finishes as it started. A provider whose config is unchanged keeps its
 * Provider object, and with it its key pool's state (buckets, learned limits, cooldowns); a changed
 * provider starts afresh, on the gateway's one Redis connection when there is one; the replaced
 * Provider's pool is closed once the last request holding it is done. Other sections (server,
 * queue, store …) need a restart and are left alone.
 */
import { watch, type FSWatcher } from 'node:fs';
import { isDeepStrictEqual } from 'node:util';
import { createProviders, type Provider } from '../providers/provider.js';
import type { Gateway } from '../server/gateway.js';
import type { RedisStore } from '../store/redis-store.js';
import { loadConfigFile } from './load.js';
import type { Config } from './schema.js';

/** The providers for a new config, reusing the running ones whose config did not change. Pure but for construction. */
export function nextProviders(
  current: Map<string, Provider>,
  next: Config,
  store: RedisStore | undefined,
): { providers: Map<string, Provider>; changed: string[]; replaced: Provider[] } {
  const providers = new Map<string, Provider>();
  const changed: string[] = [];
  for (const [name, config] of Object.entries(next.providers)) {
    const running = current.get(name);
    if (running && isDeepStrictEqual(running.config, config)) providers.set(name, running);
    else changed.push(name);
  }
  // New and changed providers are built as at startup, on the running store (so a Redis store
  // finds the shared buckets it already has for unchanged key ids, and no second connection opens).
  const fresh = Object.fromEntries(changed.map((name) => [name, next.providers[name]!]));
  if (changed.length > 0) for (const [name, provider] of createProviders({ ...next, providers: fresh }, store)) providers.set(name, provider);
  for (const name of current.keys()) if (!providers.has(name)) changed.push(name);
  const replaced = [...current.values()].filter((provider) => providers.get(provider.name) !== provider);
  return { providers, changed, replaced };
}

/** Swap routes and providers of a running gateway; returns what changed, for the log line. */
export function applyConfig(gw: Gateway, next: Config): { changed: string[]; routesChanged: boolean } {
  const { providers, changed, replaced } = nextProviders(gw.providers, next, gw.redis);
  const routesChanged = !isDeepStrictEqual(gw.config.routes, next.routes);
  // Two assignments, no await between them: a request starting now sees one consistent pair.
  gw.providers = providers;
  gw.config = { ...gw.config, routes: next.routes, providers: next.providers };
  for (const provider of replaced) {
    gw.leases.retire(provider, () => {
      provider.pool.close?.().catch((error: unknown) => gw.log(`spillway: closing the replaced provider ${provider.name} failed: ${error instanceof Error ? error.message : String(error)}`));
    });
  }
  return { changed, routesChanged };
}

export interface ConfigWatcher {
  /** Re-read the file now (what SIGHUP does). */
  reload(): boolean;
  close(): void;
}

/**
 * Watch a config file and reload on change or SIGHUP. An invalid file is reported and ignored:
 * the running config stays. Editors save by rename, so the directory entry is watched again.
 */
export function watchConfig(path: string, gw: Gateway, log: (message: string) => void, options: { debounceMs?: number; signal?: boolean } = {}): ConfigWatcher {
  const debounceMs = options.debounceMs ?? 100;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let watcher: FSWatcher | undefined;

  const reload = (): boolean => {
    try {
      const next = loadConfigFile(path);
      const { changed, routesChanged } = applyConfig(gw, next);
      if (changed.length > 0 || routesChanged) {
        log(`spillway: config ${path} reloaded (${routesChanged ? 'routes changed' : 'routes unchanged'}${changed.length > 0 ? `; providers changed: ${changed.join(', ')}` : ''})`);
      }
      return true;
    } catch (error) {
      log(`spillway: config ${path} not reloaded, keeping the running one: ${error instanceof Error ? error.message : String(error)}`);
      return false;
    }
  };
  const schedule = () => {
    if (timer) clearTimeout(timer);
    timer = setTimeout(() => {
      timer = undefined;
      reload();
      arm(); // the file may have been replaced (rename on save)
    }, debounceMs);
    timer.unref?.();
  };
  const arm = () => {
    watcher?.close();
    try {
      watcher = watch(path, { persistent: false }, schedule);
      watcher.on('error', () => undefined);
    } catch {
      watcher = undefined;
    }
  };
  const onHup = () => {
    reload();
  };
  arm();
  if (options.signal !== false) process.on('SIGHUP', onHup);
  return {
    reload,
    close() {
      if (timer) clearTimeout(timer);
      watcher?.close();
      process.off('SIGHUP', onHup);
    },
  };
}
