/**
 * KeyProber: brings rested keys back. A key the provider refused (resilience/key-fault.ts) takes
 * no requests; when its probe is due (quota/rest.ts) one replica claims it and makes the provider's
 * cheap authenticated call (its adapter's `probe`, a model list). An answer of 2xx puts the key back
 * in service; a refusal leaves it resting until the next, later probe; anything else (the provider
 * down, a timeout) says nothing about the key and waits for the next probe too.
 */
import type { Observer } from '../observe/observer.js';
import type { Provider } from '../providers/provider.js';
import type { UpstreamClient } from '../providers/upstream.js';
import { keyFaultOf } from '../resilience/key-fault.js';

export type ProbeResult = 'accepted' | 'refused' | 'inconclusive';

/** What a probe's answer says about the key. */
export function probeResult(status: number | undefined, body: string): ProbeResult {
  if (status === undefined) return 'inconclusive';
  if (status >= 200 && status < 300) return 'accepted';
  return keyFaultOf(status, body) ? 'refused' : 'inconclusive';
}

export interface ProberDeps {
  /** Read at each pass: a reload swaps the providers. */
  providers(): Iterable<Provider>;
  upstream: UpstreamClient;
  observer: Observer;
  log(message: string): void;
}

const PROBE_TIMEOUT_MS = 10_000;
/** How often resting keys are looked at; a shorter first probe wait (tests) looks more often. */
const MAX_TICK_MS = 1000;
const MIN_TICK_MS = 20;

export class KeyProber {
  private readonly deps: ProberDeps;
  private readonly tickMs: number;
  private timer: ReturnType<typeof setInterval> | undefined;
  /** Probes in flight, by provider and key, so one key is never probed twice at once here. */
  private readonly running = new Set<string>();

  constructor(deps: ProberDeps, firstProbeMs: number) {
    this.deps = deps;
    this.tickMs = Math.max(MIN_TICK_MS, Math.min(MAX_TICK_MS, firstProbeMs / 4));
  }

  /** Its timer does not keep the process alive. */
  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => void this.pass(), this.tickMs);
    this.timer.unref();
  }

  close(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** A request just took this key out of service: its first probe confirms the refusal now. */
  rested(provider: Provider, keyId: string): void {
    void this.tryProbe(provider, keyId);
  }

  /** Probes every resting key whose probe is due. */
  async pass(): Promise<void> {
    const now = Date.now();
    const due: Array<Promise<void>> = [];
    for (const provider of this.deps.providers()) {
      for (const key of provider.pool.snapshot(now)) {
        // A stale view (another replica claimed the probe) costs one claim that fails.
        if (!key.healthy && (key.nextProbeAt ?? 0) <= now) due.push(this.tryProbe(provider, key.id));
      }
    }
    await Promise.all(due);
  }

  private async tryProbe(provider: Provider, keyId: string): Promise<void> {
    const name = `${provider.name}\u0000${keyId}`;
    if (this.running.has(name)) return;
    this.running.add(name);
    try {
      if (!(await provider.pool.claimProbe(keyId, Date.now()))) return;
      const result = await this.probe(provider, keyId);
      this.deps.observer.keyProbed(provider.name, keyId, result);
      if (result === 'accepted' && (await provider.pool.enable(keyId))) {
        this.deps.log(`spillway: key ${keyId} of provider ${provider.name} is back in service: its probe succeeded`);
        this.deps.observer.keyRestored(provider.name, keyId);
      }
    } catch (error) {
      this.deps.log(`spillway: probing key ${keyId} of provider ${provider.name} failed: ${error instanceof Error ? error.message : String(error)}`);
    } finally {
      this.running.delete(name);
    }
  }

  private async probe(provider: Provider, keyId: string): Promise<ProbeResult> {
    const { adapter } = provider;
    try {
      const response = await this.deps.upstream.send({
        url: provider.baseUrl + adapter.probe.path,
        method: 'GET',
        headers: { ...adapter.probe.headers, ...provider.config.headers, ...adapter.authHeaders(provider.secretOf(keyId)) },
        timeoutMs: PROBE_TIMEOUT_MS,
      });
      return probeResult(response.statusCode, await response.body.text());
    } catch {
      return 'inconclusive';
    }
  }
}
