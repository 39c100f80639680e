/**
 * Hot reload: when the config file changes (or on SIGHUP) it is read and checked again, and its
 * routes and providers are swapped in for the NEXT requests. A request in flight keeps the plan and
 * Provider objects it already holds, so it finishes as it started. Which providers are kept, built
 * or closed is the provider lifecycle's business (providers/lifecycle.ts). Other sections (server,
 * queue, store …) need a restart and are left alone.
 */
import { watch, type FSWatcher } from 'node:fs';
import { isDeepStrictEqual } from 'node:util';
import { loadConfigFile } from './load.js';
import type { Config } from './schema.js';

/** What a reload changes in a running gateway. */
export interface Reloadable {
  config: Config;
  /** The provider lifecycle (providers/lifecycle.ts): applies the new providers, returns the names that changed. */
  readonly lifecycle: { apply(next: Config): string[] };
}

/** Swap routes and providers of a running gateway; returns what changed, for the log line. */
export function applyConfig(gw: Reloadable, next: Config): { changed: string[]; routesChanged: boolean } {
  const routesChanged = !isDeepStrictEqual(gw.config.routes, next.routes);
  // Providers and routes swap with no await between them: a request starting now sees one consistent pair.
  const changed = gw.lifecycle.apply(next);
  gw.config = { ...gw.config, routes: next.routes, providers: next.providers };
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
export function watchConfig(path: string, gw: Reloadable, log: (message: string) => void, options: { debounceMs?: number; signal?: boolean } = {}): ConfigWatcher {
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
