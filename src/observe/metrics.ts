/**
 * Prometheus metrics, in a registry of this gateway's own (several gateways can share a process in
 * tests). Counters and histograms are fed by the observer hooks; gauges of the pools and the queue
 * are read from the gateway when scraped. Every name is documented in the README ("Metrics").
 */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { DIMENSIONS } from '../quota/types.js';
import type { Activity } from './activity.js';
import type { MergeEvent, Observer, RequestRecord, UpstreamRecord } from './observer.js';
import { registerForecastMetrics } from './forecast-metrics.js';
import { TenantMetrics } from './tenant-metrics.js';
import { keyUtilisation } from './utilisation.js';
import type { Clock, GatewayView } from './view.js';

const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300];
const WAIT_BUCKETS = [0.001, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300];
const OVERHEAD_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5];

/** A request that never reached a provider is labelled with this instead of a provider or model. */
const NONE = 'none';

export interface RequestExtras {
  /** Time spillway itself added (ms): to the first byte, less queueing and the providers' own time. */
  overheadMs?: number;
}

export class Metrics implements Observer {
  readonly registry = new Registry();
  private readonly requests: Counter<'surface' | 'provider' | 'model' | 'status'>;
  private readonly upstreamRequests: Counter<'provider' | 'key' | 'status'>;
  private readonly upstream429: Counter<'provider' | 'key'>;
  private readonly client429: Counter<'surface' | 'reason'>;
  private readonly rejections: Counter<'surface' | 'reason'>;
  private readonly edgeRefusals: Counter<'reason'>;
  private readonly tokens: Counter<'provider' | 'model' | 'direction'>;
  private readonly cost: Counter<'provider' | 'model' | 'client'>;
  private readonly byTenant: TenantMetrics;
  private readonly cacheLookups: Counter<'kind'>;
  private readonly cacheHits: Counter<'kind'>;
  private readonly spills: Counter<'reason'>;
  private readonly fallbacks: Counter<'reason'>;
  private readonly keysDisabled: Counter<'provider' | 'key'>;
  private readonly keysRestored: Counter<'provider' | 'key'>;
  private readonly keyProbes: Counter<'provider' | 'key' | 'result'>;
  private readonly mergeSaved: Counter;
  private readonly mergeFailures: Counter<'reason'>;
  private readonly queueWait: Histogram<'surface'>;
  private readonly ttft: Histogram<'surface' | 'provider'>;
  private readonly duration: Histogram<'surface' | 'provider' | 'stream'>;
  private readonly overhead: Histogram<'surface'>;
  private readonly upstreamLatency: Histogram<'provider'>;
  private readonly semanticEnabled: boolean;

  constructor(view: GatewayView, activity: Activity, clock: Clock, options: { semanticCache: boolean }) {
    const registers = [this.registry];
    this.semanticEnabled = options.semanticCache;
    this.byTenant = new TenantMetrics(this.registry, view, clock, WAIT_BUCKETS);
    registerForecastMetrics(this.registry, view, clock);
    this.requests = new Counter({
      name: 'spillway_requests_total',
      help: 'Chat requests answered, by client surface, provider, model and HTTP status',
      labelNames: ['surface', 'provider', 'model', 'status'],
      registers,
    });
    this.upstreamRequests = new Counter({
      name: 'spillway_upstream_requests_total',
      help: 'Upstream attempts by provider, key id and answer status (or timeout / connection)',
      labelNames: ['provider', 'key', 'status'],
      registers,
    });
    this.upstream429 = new Counter({
      name: 'spillway_upstream_429_total',
      help: 'Upstream 429s: admissions the quota engine got wrong (prediction misses)',
      labelNames: ['provider', 'key'],
      registers,
    });
    this.client429 = new Counter({
      name: 'spillway_client_429_total',
      help: '429s clients received: reason deadline or full when spillway refused, upstream when a provider 429 was relayed after retries',
      labelNames: ['surface', 'reason'],
      registers,
    });
    this.rejections = new Counter({
      name: 'spillway_rejections_total',
      help: 'Requests spillway refused itself without going upstream (deadline, full: 429; unavailable: 503)',
      labelNames: ['surface', 'reason'],
      registers,
    });
    this.edgeRefusals = new Counter({
      name: 'spillway_edge_refusals_total',
      help: 'Connections closed before a request reached the gateway: per_client_cap, timeout (408), headers_too_large (431), malformed (400)',
      labelNames: ['reason'],
      registers,
    });
    this.tokens = new Counter({
      name: 'spillway_tokens_total',
      help: 'Tokens reported by providers, by direction (input, output)',
      labelNames: ['provider', 'model', 'direction'],
      registers,
    });
    this.cost = new Counter({
      name: 'spillway_cost_usd_total',
      help: 'Cost in USD from the price table, by provider, model and client key id',
      labelNames: ['provider', 'model', 'client'],
      registers,
    });
    this.cacheLookups = new Counter({ name: 'spillway_cache_lookups_total', help: 'Cache lookups by kind (exact, semantic)', labelNames: ['kind'], registers });
    this.cacheHits = new Counter({ name: 'spillway_cache_hits_total', help: 'Cache hits by kind (exact, semantic)', labelNames: ['kind'], registers });
    this.spills = new Counter({
      name: 'spillway_spills_total',
      help: "Requests served by a route target other than the first, by reason",
      labelNames: ['reason'],
      registers,
    });
    this.fallbacks = new Counter({
      name: 'spillway_fallbacks_total',
      help: "Requests served by a route's fallback chain, by reason",
      labelNames: ['reason'],
      registers,
    });
    this.keysDisabled = new Counter({
      name: 'spillway_key_disabled_total',
      help: 'Times a provider key was taken out of service because the provider refused it (it rests until a probe succeeds)',
      labelNames: ['provider', 'key'],
      registers,
    });
    this.keysRestored = new Counter({
      name: 'spillway_key_restored_total',
      help: 'Times a resting provider key came back into service after a successful probe',
      labelNames: ['provider', 'key'],
      registers,
    });
    this.mergeSaved = new Counter({
      name: 'spillway_merge_calls_saved_total',
      help: 'Upstream calls prompt merging saved (a merged call answering n requests saves n - 1)',
      registers,
    });
    this.mergeFailures = new Counter({
      name: 'spillway_merge_failures_total',
      help: 'Merged calls whose answer could not be split with certainty, by reason; their requests were sent alone',
      labelNames: ['reason'],
      registers,
    });
    this.keyProbes = new Counter({
      name: 'spillway_key_probes_total',
      help: 'Probes of resting provider keys, by result (accepted, refused, inconclusive)',
      labelNames: ['provider', 'key', 'result'],
      registers,
    });
    this.queueWait = new Histogram({
      name: 'spillway_queue_wait_seconds',
      help: 'Time requests waited for capacity before their first upstream attempt (all attempts summed)',
      labelNames: ['surface'],
      buckets: WAIT_BUCKETS,
      registers,
    });
    this.ttft = new Histogram({
      name: 'spillway_time_to_first_token_seconds',
      help: 'From request arrival to the first byte of the answer sent to the client',
      labelNames: ['surface', 'provider'],
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.duration = new Histogram({
      name: 'spillway_request_duration_seconds',
      help: 'From request arrival to the end of the answer',
      labelNames: ['surface', 'provider', 'stream'],
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.overhead = new Histogram({
      name: 'spillway_gateway_overhead_seconds',
      help: "Time spillway added to the first byte beyond queueing and the provider's own response time",
      labelNames: ['surface'],
      buckets: OVERHEAD_BUCKETS,
      registers,
    });
    this.upstreamLatency = new Histogram({
      name: 'spillway_upstream_latency_seconds',
      help: 'From sending an upstream request to its response headers',
      labelNames: ['provider'],
      buckets: LATENCY_BUCKETS,
      registers,
    });

    // Gauges read the gateway's state at scrape time.
    new Gauge({
      name: 'spillway_queue_depth',
      help: 'Requests waiting for capacity now',
      registers,
      collect() {
        this.set(view.queueDepth());
      },
    });
    new Gauge({
      name: 'spillway_cache_entries',
      help: 'Answers held by the exact cache',
      registers,
      collect() {
        this.set(view.cacheHeld?.().entries ?? 0);
      },
    });
    new Gauge({
      name: 'spillway_cache_bytes',
      help: 'Bytes held by the exact cache (its own accounting, within cache.exact.max_bytes)',
      registers,
      collect() {
        this.set(view.cacheHeld?.().bytes ?? 0);
      },
    });
    new Gauge({
      name: 'spillway_store_degraded',
      help: '1 while the shared store (Redis) is unreachable and each replica serves on its share of the limits',
      registers,
      collect() {
        this.set(view.degraded?.() ? 1 : 0);
      },
    });
    new Gauge({
      name: 'spillway_store_replicas',
      help: 'Replicas sharing the store (Redis), by their heartbeats; 1 without a shared store',
      registers,
      collect() {
        this.set(view.replicas?.() ?? 1);
      },
    });
    // The pool gauges are filled from one snapshot per scrape, so their figures agree with each
    // other; a registry collects its metrics concurrently, so each joins the same fill.
    let keyCount = 0;
    let filling: Promise<void> | undefined;
    const fill = (): Promise<void> =>
      (filling ??= (async () => {
        const now = clock.now();
        const pools = await view.pools(now);
        for (const gauge of Object.values(poolGauges)) gauge.reset();
        keyCount = 0;
        for (const pool of pools) {
          for (const key of pool.keys) {
            keyCount += 1;
            const labels = { provider: pool.provider, key: key.id };
            poolGauges.healthy.set(labels, key.healthy ? 1 : 0);
            poolGauges.cooling.set(labels, key.coolingUntil > now ? 1 : 0);
            poolGauges.inFlight.set(labels, key.inFlight);
            if (key.window) poolGauges.window.set({ ...labels, type: key.window.type, learned: String(key.window.learned) }, key.window.lengthMs / 1000);
            const utilisation = keyUtilisation(key, activity.lastMinute(pool.provider, key.id, now));
            for (const dimension of DIMENSIONS) {
              const snap = key.dimensions[dimension];
              if (!snap) continue;
              const dl = { ...labels, dimension };
              poolGauges.limit.set(dl, snap.limit);
              poolGauges.remaining.set(dl, snap.remaining);
              poolGauges.utilisation.set(dl, utilisation[dimension] ?? 0);
            }
          }
        }
      })().finally(() => {
        filling = undefined;
      }));
    const collect = async () => {
      await fill();
    };
    new Gauge({
      name: 'spillway_keys',
      help: 'Provider keys configured',
      registers,
      async collect() {
        await fill();
        this.set(keyCount);
      },
    });
    const poolGauges = {
      window: new Gauge({
        name: 'spillway_quota_window_seconds',
        help: "The length of the window a key's per-minute limits are counted in (sliding or fixed; learned: from its resets), absent for a bucket",
        labelNames: ['provider', 'key', 'type', 'learned'],
        registers,
        collect,
      }),
      limit: new Gauge({
        name: 'spillway_quota_limit',
        help: 'A key\'s limit per dimension (rpm, rpd, itpm, otpm, tpm, concurrency), configured or learned from headers',
        labelNames: ['provider', 'key', 'dimension'],
        registers,
        collect,
      }),
      remaining: new Gauge({
        name: 'spillway_quota_remaining',
        help: "What is left in a key's bucket per dimension now",
        labelNames: ['provider', 'key', 'dimension'],
        registers,
        collect,
      }),
      utilisation: new Gauge({
        name: 'spillway_quota_utilisation',
        help: 'Share of a key\'s limit in use: per-minute limits over the trailing minute, rpd spent today, concurrency in flight',
        labelNames: ['provider', 'key', 'dimension'],
        registers,
        collect,
      }),
      healthy: new Gauge({ name: 'spillway_key_healthy', help: '1 while a key is in service, 0 once taken out', labelNames: ['provider', 'key'], registers, collect }),
      cooling: new Gauge({ name: 'spillway_key_cooling', help: '1 while a key rests after an upstream 429', labelNames: ['provider', 'key'], registers, collect }),
      inFlight: new Gauge({ name: 'spillway_key_in_flight', help: 'Requests in flight on a key', labelNames: ['provider', 'key'], registers, collect }),
    };
  }

  request(r: RequestRecord, extras: RequestExtras = {}): void {
    const provider = r.provider ?? NONE;
    this.requests.inc({ surface: r.surface, provider, model: r.model ?? r.requestedModel ?? NONE, status: String(r.status) });
    if (r.rejected) this.rejections.inc({ surface: r.surface, reason: r.rejected });
    if (r.status === 429) this.client429.inc({ surface: r.surface, reason: r.rejected ?? 'upstream' });
    if (r.inputTokens) this.tokens.inc({ provider, model: r.model ?? NONE, direction: 'input' }, r.inputTokens);
    if (r.outputTokens) this.tokens.inc({ provider, model: r.model ?? NONE, direction: 'output' }, r.outputTokens);
    if (r.costUsd) this.cost.inc({ provider, model: r.model ?? NONE, client: r.clientKeyId ?? 'anonymous' }, r.costUsd);
    this.byTenant.request(r);
    if (r.cache !== 'bypass') {
      this.cacheLookups.inc({ kind: 'exact' });
      // A semantic lookup follows an exact miss when the semantic cache is on.
      if (r.cache === 'semantic' || (r.cache === 'miss' && this.semanticEnabled)) this.cacheLookups.inc({ kind: 'semantic' });
    }
    if (r.cache === 'hit') this.cacheHits.inc({ kind: 'exact' });
    if (r.cache === 'semantic') this.cacheHits.inc({ kind: 'semantic' });
    if (r.spill) (r.spill.fallback ? this.fallbacks : this.spills).inc({ reason: r.spill.reason });
    if (r.attempts > 0) this.queueWait.observe({ surface: r.surface }, r.queueMs / 1000);
    if (r.ttfbMs !== undefined) this.ttft.observe({ surface: r.surface, provider }, r.ttfbMs / 1000);
    this.duration.observe({ surface: r.surface, provider, stream: String(r.stream) }, r.durationMs / 1000);
    if (extras.overheadMs !== undefined) this.overhead.observe({ surface: r.surface }, extras.overheadMs / 1000);
  }

  upstream(r: UpstreamRecord): void {
    this.upstreamRequests.inc({ provider: r.provider, key: r.keyId, status: String(r.status) });
    if (r.status === 429) this.upstream429.inc({ provider: r.provider, key: r.keyId });
    this.upstreamLatency.observe({ provider: r.provider }, r.latencyMs / 1000);
  }

  keyDisabled(provider: string, keyId: string): void {
    this.keysDisabled.inc({ provider, key: keyId });
  }

  merged(event: MergeEvent): void {
    if ('saved' in event) this.mergeSaved.inc(event.saved);
    else this.mergeFailures.inc({ reason: event.failure });
  }

  keyRestored(provider: string, keyId: string): void {
    this.keysRestored.inc({ provider, key: keyId });
  }

  /** The edge closed a connection before a request reached the gateway. */
  edgeRefused(reason: string): void {
    this.edgeRefusals.inc({ reason });
  }

  keyProbed(provider: string, keyId: string, result: string): void {
    this.keyProbes.inc({ provider, key: keyId, result });
  }

  async text(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
