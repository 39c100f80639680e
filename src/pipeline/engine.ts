import type { AnswerCache } from '../cache/answer-cache.js';
import type { Config } from '../config/schema.js';
import type { DemandForecaster } from '../forecast/service.js';
import type { Observer } from '../observe/observer.js';
import type { ProviderLeases } from '../providers/leases.js';
import type { Provider } from '../providers/provider.js';
import type { UpstreamClient } from '../providers/upstream.js';
import type { TokenEstimator } from '../quota/estimate.js';
import type { AdmissionQueue } from '../quota/queue.js';
import type { RetryBudget } from '../resilience/budget.js';
import type { TrafficControl } from '../routing/traffic-control.js';
import type { ShadowRecorder } from './shadow.js';
import type { TenantRegistry } from '../tenants/registry.js';

/**
 * The shared state the request path runs on, built once from config: the HTTP server's Gateway
 * is one, and the batch runner serves its requests through the same.
 */
export interface Engine {
  config: Config;
  /** The providers for new requests; a hot reload swaps them (see providers/lifecycle.ts). */
  readonly providers: Map<string, Provider>;
  /** Which providers requests in flight hold, so a replaced one is closed after them. */
  readonly leases: ProviderLeases;
  queue: AdmissionQueue;
  estimator: TokenEstimator;
  retryBudget: RetryBudget;
  upstream: UpstreamClient;
  cache: AnswerCache;
  /** The teams sharing the pool, their keys, ceilings and budgets. */
  tenants: TenantRegistry;
  observer: Observer;
  /** Run-time flags and canary shares (shared across replicas with Redis). */
  traffic: TrafficControl;
  /** Sends shadow copies after the answers and keeps the scored pairs. */
  shadow: ShadowRecorder;
  /** Told when a provider refused a key and this request took it out of service, so its probe may start. */
  prober: { rested(provider: Provider, keyId: string): void };
  /** The day ahead of each daily cap: batch pace per pool, tiers stepped down earlier (config.forecast). */
  forecast?: DemandForecaster;
  log(message: string): void;
}
