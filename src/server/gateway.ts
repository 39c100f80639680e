/**
 * A running gateway: the state built from config, and the HTTP server that serves it.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createAnswerCache } from '../cache/answer-cache.js';
import type { Config, ConfigInput } from '../config/schema.js';
import { parseConfig } from '../config/load.js';
import { DemandForecaster } from '../forecast/service.js';
import { readUsageHistory } from '../forecast/seed.js';
import { createObservability, type Observability } from '../observe/index.js';
import { priceTable } from '../observe/prices.js';
import type { GatewayView } from '../observe/view.js';
import { ProviderLifecycle } from '../providers/lifecycle.js';
import { createStore } from '../providers/provider.js';
import { RedisCacheStore } from '../store/redis-cache.js';
import { RedisSemanticLog } from '../store/redis-semantic.js';
import { RedisResponseKeeper } from '../store/responses-redis.js';
import { SqliteResponseKeeper } from '../store/responses-sqlite.js';
import type { RedisStore } from '../store/redis-store.js';
import { createTracing, type Tracing } from '../observe/tracing.js';
import { UpstreamClient } from '../providers/upstream.js';
import { TokenEstimator } from '../quota/estimate.js';
import { AdmissionQueue } from '../quota/queue.js';
import { RetryBudget } from '../resilience/budget.js';
import { BatchService } from '../batch/runner.js';
import { TenantRegistry } from '../tenants/registry.js';
import { redisTenantState } from '../store/redis-tenant-state.js';
import { TenantKeyStore } from '../tenants/key-store.js';
import { RedisTenantOverrides } from '../store/tenant-overrides-redis.js';
import { SqliteTenantOverrides } from '../store/tenant-overrides-sqlite.js';
import { RedisBatchStore } from '../batch/redis-store.js';
import { MemorySwitches } from '../routing/switches.js';
import { TrafficControl } from '../routing/traffic-control.js';
import { RedisSwitches } from '../store/redis-switches.js';
import { MemoryCanaryPoints } from '../routing/canary-points.js';
import { RedisCanaryPoints } from '../store/redis-canary-points.js';
import { ShadowRecorder } from '../pipeline/shadow.js';
import { SqliteShadowPairs } from '../store/sqlite-shadow.js';
import { RedisShadowPairs } from '../store/redis-shadow.js';
import { SqlitePrompts } from '../store/sqlite-prompts.js';
import { RedisPrompts } from '../store/redis-prompts.js';
import { captureBounds, PromptCapture } from '../pipeline/after-answer.js';
import { CanaryWatch } from '../routing/canary-watch.js';
import type { Observer } from '../observe/observer.js';
import { capConnectionsPerClient, countClientErrors, type EdgeRefusal } from './client-connections.js';
import { KeyProber } from './key-prober.js';
import { handleRequest } from './routes.js';
import type { Engine } from '../pipeline/engine.js';
import { MemoryResponseKeeper, type ResponseKeeper } from '../surfaces/openai-responses/kept.js';

/** Everything a request handler needs, built once from config: the request path's engine, and what only the server has. */
export interface Gateway extends Engine {
  /** Builds, swaps (on a hot reload, config/reload.ts) and closes the providers; `providers` and `leases` are its. */
  readonly lifecycle: ProviderLifecycle;
  /** Metrics, alerts, usage log and the dashboard's figures; `observer` is its request-path face. */
  observability: Observability;
  /** The Redis connection shared by pools, cache and batches, with `store: redis`. */
  redis?: RedisStore;
  /** OpenTelemetry export of request spans, with `telemetry.otlp_endpoint`. */
  tracing?: Tracing;
  /** The Message Batches service, when batches.enabled. */
  batches?: BatchService;
  /** Probes keys the providers refused and brings them back. */
  prober: KeyProber;
  /** Responses kept for previous_response_id. */
  responses: ResponseKeeper;
}

export interface RunningGateway {
  url: string;
  port: number;
  host: string;
  gateway: Gateway;
  close(): Promise<void>;
}

export interface StartOptions {
  port?: number;
  host?: string;
  /** No log lines (tests). */
  quiet?: boolean;
  log?: (message: string) => void;
}

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1']);

export function createGateway(config: Config, log: (message: string) => void): Gateway {
  const store = createStore(config, log);
  // The gateway holds the connection for its whole life: pools and caches come and go with reloads.
  store?.retain();
  const lifecycle = new ProviderLifecycle(config, store, log);
  const queue = new AdmissionQueue({ maxDepth: config.queue.max_depth });
  const cache = createAnswerCache(
    config.cache,
    store
      ? {
          exact: config.cache.exact.enabled ? new RedisCacheStore(store, { defaultTtlMs: config.cache.exact.ttl }) : undefined,
          openSemanticLog: () => new RedisSemanticLog(store, { log }),
        }
      : {},
  );
  const upstream = new UpstreamClient();
  const gateway: Omit<Gateway, 'observability' | 'observer' | 'prober' | 'traffic' | 'shadow'> = {
    config,
    lifecycle,
    get providers() {
      return lifecycle.providers;
    },
    leases: lifecycle.leases,
    queue,
    estimator: new TokenEstimator(),
    retryBudget: new RetryBudget(config.retry.budget_ratio, 60_000, config.retry.min_per_second * 60),
    upstream,
    cache,
    tenants: new TenantRegistry(config),
    redis: store,
    responses: openResponseKeeper(config, store),
    // Captured prompts and shadow pairs: in the Redis replicas share with `store: redis`, else beside the usage log.
    capture: new PromptCapture(() => (store ? new RedisPrompts(store, captureBounds(config), log) : new SqlitePrompts(config.data_dir, captureBounds(config), log))),
    log,
  };
  // Runtime tenant keys live beside the other durable data; only tenants from config can have them.
  if (Object.keys(config.tenants).length > 0) gateway.tenants.useStore(new TenantKeyStore(config.data_dir));
  // Tenants' limits and budgets changed at runtime: in the Redis every replica shares, else beside the keys.
  if (gateway.tenants.list().length > 0) void gateway.tenants.useOverrides(store ? new RedisTenantOverrides(store) : new SqliteTenantOverrides(config.data_dir));
  // With replicas sharing Redis, tenants' ceilings and budgets hold for the whole fleet.
  if (store) gateway.tenants.useSharedState(redisTenantState(store));
  const tracing = createTracing(config.telemetry);
  if (tracing) gateway.tracing = tracing;
  if (config.forecast.enabled) gateway.forecast = createForecaster(config, gateway, log);
  const observability = createObservability(config, viewOf(gateway), { log });
  const prober = new KeyProber({ providers: () => gateway.providers.values(), upstream, observer: observability.observer, log }, config.key_rest.first_probe);
  prober.start();
  const traffic = new TrafficControl(
    store ? new RedisSwitches(store) : new MemorySwitches(),
    store ? new RedisCanaryPoints(store) : new MemoryCanaryPoints(),
    () => gateway.config,
    observability.alerts,
    log,
  );
  const shadow = new ShadowRecorder(() => (store ? new RedisShadowPairs(store, undefined, log) : new SqliteShadowPairs(config.data_dir, log)));
  const watch = new CanaryWatch(() => gateway.config, traffic, throttled((route, since) => shadow.agreement(route, since), log), log);
  const observer: Observer = {
    ...observability.observer,
    request(record) {
      observability.observer.request(record);
      gateway.forecast?.record(record);
    },
    upstream(record) {
      observability.observer.upstream(record);
      try {
        watch.upstream(record);
      } catch (error) {
        log(`spillway: canary watch failed: ${error instanceof Error ? error.message : String(error)}`);
      }
    },
  };
  return Object.assign(gateway, { observer, observability, prober, traffic, shadow });
}

/** The day ahead (src/forecast/): seeded from the usage log's last week, refitted on its own timer. */
function createForecaster(config: Config, gw: Omit<Gateway, 'observability' | 'observer' | 'prober' | 'traffic' | 'shadow'>, log: (message: string) => void): DemandForecaster {
  const view = viewOf(gw);
  const forecaster = new DemandForecaster({
    timeZone: config.forecast.time_zone,
    intervalMs: config.forecast.interval,
    sources: { pools: view.pools, budgets: (now) => gw.tenants.budgetUse(now) },
    prices: priceTable(config.prices),
    log,
    replicas: () => gw.redis?.liveReplicas,
  });
  if (config.usage.enabled) forecaster.seed(readUsageHistory(config.data_dir, Date.now() - 7 * 86_400_000, log));
  forecaster.start();
  return forecaster;
}

type Agreement = { pairs: number; rate: number | undefined };

/**
 * The shadow agreement of a route as last read from the pairs, read again at most once a second
 * in the background (the store may be Redis): the canary watch runs on every upstream answer and
 * must not wait for it.
 */
function throttled(read: (route: string, since: number) => Promise<Agreement>, log: (message: string) => void): (route: string, since: number) => Agreement {
  const last = new Map<string, { at: number; value: Agreement; reading: boolean }>();
  return (route, since) => {
    const now = Date.now();
    const known = last.get(route) ?? { at: 0, value: { pairs: 0, rate: undefined }, reading: false };
    last.set(route, known);
    if (!known.reading && now - known.at >= 1_000) {
      known.reading = true;
      read(route, since)
        .then((value) => Object.assign(known, { value, at: Date.now() }))
        .catch((error: unknown) => log(`spillway: could not read the shadow agreement of route ${route}: ${error instanceof Error ? error.message : String(error)}`))
        .finally(() => (known.reading = false));
    }
    return known.value;
  };
}

/** Where responses are kept: Redis when replicas share one, SQLite in data_dir, or memory. */
function openResponseKeeper(config: Config, redis: RedisStore | undefined): ResponseKeeper {
  const { keep, ttl } = config.responses;
  if (keep === 'memory') return new MemoryResponseKeeper(ttl);
  return redis ? new RedisResponseKeeper(redis, ttl) : new SqliteResponseKeeper(config.data_dir, ttl);
}

/** What metrics, alerts and the dashboard read: the gateway's providers as they are now, after any reload. */
function viewOf(gw: Omit<Gateway, 'observability' | 'observer' | 'prober' | 'traffic' | 'shadow'>): GatewayView {
  return {
    pools: (now) => Promise.all([...gw.providers.values()].map(async (provider) => ({ provider: provider.name, keys: await provider.pool.snapshot(now) }))),
    queueDepth: () => gw.queue.depth,
    cacheHeld: () => gw.cache.exact?.stats() ?? { entries: 0, bytes: 0 },
    degraded: () => [...gw.providers.values()].some((provider) => provider.pool.degraded),
    replicas: () => gw.redis?.liveReplicas,
    budgets: (now) => gw.tenants.budgetUse(now),
    tenants: (now) => {
      const waiting = gw.queue.waitingByTenant(now);
      return gw.tenants.list().map((tenant) => ({
        name: tenant.name,
        weight: tenant.weight,
        priority: tenant.priority,
        limits: { ...tenant.limits },
        maxWaitMs: tenant.maxWaitMs ?? null,
        models: tenant.models ?? null,
        waiting: waiting.get(tenant.name)?.waiting ?? 0,
        longestWaitMs: waiting.get(tenant.name)?.longestMs ?? 0,
        budgets: (gw.tenants.ledgerOf(tenant)?.use(now) ?? []).map((use) => ({ tenant: tenant.name, ...use })),
        overridden: Object.keys(gw.tenants.overrideOf(tenant.name)),
      }));
    },
    forecasts: () => gw.forecast?.forecasts() ?? [],
  };
}

export async function startGateway(input: Config | ConfigInput, options: StartOptions = {}): Promise<RunningGateway> {
  const config = parseConfig(input, 'config');
  const log = options.quiet ? () => {} : (options.log ?? ((message: string) => console.log(message)));
  const gateway = createGateway(config, log);
  // Limits and budgets changed at runtime hold from the first request of a restarted replica.
  await gateway.tenants.refreshOverrides();
  let host = options.host ?? config.server.host;
  if (gateway.tenants.open && !LOOPBACK.has(host)) {
    log(`spillway: no client keys configured (server.auth.keys, tenants), so binding to 127.0.0.1 instead of ${host}`);
    host = '127.0.0.1';
  }
  const { timeouts } = config.server;
  const server: Server = createServer(
    {
      noDelay: true,
      keepAliveTimeout: 65_000,
      // Both bound only the receiving of a request; the answer itself may take as long as it takes.
      headersTimeout: timeouts.headers,
      requestTimeout: timeouts.body,
      // Node checks the two on this interval: often enough that a stalled client is closed close to its deadline.
      connectionsCheckingInterval: Math.min(5_000, Math.max(50, timeouts.headers / 4)),
    },
    (req, res) => {
      handleRequest(gateway, req, res);
    },
  );
  const refused = (reason: EdgeRefusal) => gateway.observability.metrics.edgeRefused(reason);
  capConnectionsPerClient(server, config.server.max_connections_per_client, log, refused);
  countClientErrors(server, refused);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? config.server.port, host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const shownHost = host.includes(':') ? `[${host}]` : host;
  if (config.batches.enabled) {
    const { redis } = gateway;
    gateway.batches = new BatchService(gateway, {
      dataDir: config.data_dir,
      concurrency: config.batches.concurrency,
      webhook: config.batches.webhook,
      webhookSecret: config.batches.webhook_secret,
      log,
      // With `store: redis` batches live in the Redis every replica shares; SQLite otherwise.
      openStore: redis ? () => new RedisBatchStore(redis) : undefined,
    });
    gateway.batches.baseUrl = `http://${shownHost}:${port}`;
    await gateway.batches.start();
  }
  return {
    url: `http://${shownHost}:${port}`,
    port,
    host,
    gateway,
    async close() {
      // Shadow copies in flight are let go first: they use the upstream client and the providers.
      await gateway.shadow.close();
      await gateway.capture.close();
      await gateway.batches?.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await gateway.upstream.close();
      await gateway.lifecycle.close();
      await gateway.cache.close();
      await gateway.traffic.close();
      await gateway.responses.close?.();
      await gateway.redis?.release();
      gateway.observability.close();
      await gateway.tracing?.close();
      gateway.prober.close();
      gateway.forecast?.close();
      gateway.tenants.close();
    },
  };
}
