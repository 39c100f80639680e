/**
 * A running gateway: the state built from config, and the HTTP server that serves it.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createAnswerCache } from '../cache/answer-cache.js';
import type { Config, ConfigInput } from '../config/schema.js';
import { parseConfig } from '../config/load.js';
import { createObservability, type Observability } from '../observe/index.js';
import type { GatewayView } from '../observe/view.js';
import { ProviderLifecycle } from '../providers/lifecycle.js';
import { createStore } from '../providers/provider.js';
import { RedisCacheStore } from '../store/redis-cache.js';
import { RedisSemanticLog } from '../store/redis-semantic.js';
import type { RedisStore } from '../store/redis-store.js';
import { createTracing, type Tracing } from '../observe/tracing.js';
import { UpstreamClient } from '../providers/upstream.js';
import { TokenEstimator } from '../quota/estimate.js';
import { AdmissionQueue } from '../quota/queue.js';
import { RetryBudget } from '../resilience/budget.js';
import { BatchService } from '../batch/runner.js';
import { RedisBatchStore } from '../batch/redis-store.js';
import { capConnectionsPerClient } from './client-connections.js';
import { KeyProber } from './key-prober.js';
import { handleRequest } from './routes.js';
import type { Engine } from '../pipeline/engine.js';

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
  const gateway: Omit<Gateway, 'observability' | 'observer' | 'prober'> = {
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
    redis: store,
    log,
  };
  const tracing = createTracing(config.telemetry);
  if (tracing) gateway.tracing = tracing;
  const observability = createObservability(config, viewOf(gateway), { log });
  const prober = new KeyProber({ providers: () => gateway.providers.values(), upstream, observer: observability.observer, log }, config.key_rest.first_probe);
  prober.start();
  return Object.assign(gateway, { observer: observability.observer, observability, prober });
}

/** What metrics, alerts and the dashboard read: the gateway's providers as they are now, after any reload. */
function viewOf(gw: Omit<Gateway, 'observability' | 'observer' | 'prober'>): GatewayView {
  return {
    pools: (now) => Promise.all([...gw.providers.values()].map(async (provider) => ({ provider: provider.name, keys: await provider.pool.snapshot(now) }))),
    queueDepth: () => gw.queue.depth,
    cacheHeld: () => gw.cache.exact?.stats() ?? { entries: 0, bytes: 0 },
    degraded: () => [...gw.providers.values()].some((provider) => provider.pool.degraded),
    replicas: () => gw.redis?.liveReplicas,
  };
}

export async function startGateway(input: Config | ConfigInput, options: StartOptions = {}): Promise<RunningGateway> {
  const config = parseConfig(input, 'config');
  const log = options.quiet ? () => {} : (options.log ?? ((message: string) => console.log(message)));
  let host = options.host ?? config.server.host;
  if (config.server.auth.keys.length === 0 && !LOOPBACK.has(host)) {
    log(`spillway: no server.auth.keys configured, so binding to 127.0.0.1 instead of ${host}`);
    host = '127.0.0.1';
  }
  const gateway = createGateway(config, log);
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
  capConnectionsPerClient(server, config.server.max_connections_per_client, log);
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
      await gateway.batches?.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await gateway.upstream.close();
      await gateway.lifecycle.close();
      await gateway.cache.close();
      await gateway.redis?.release();
      gateway.observability.close();
      await gateway.tracing?.close();
      gateway.prober.close();
    },
  };
}
