/**
 * Several spillway gateway processes sharing one Redis, as a deployment with replicas would run
 * them, and a burst spread round robin across them.
 */
import Anthropic from '@anthropic-ai/sdk';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ConfigInput } from '../../src/config/schema.js';
import { burstPrompt, type BurstResult } from '../../src/sim/burst.js';
import type { SimBucketSize, SimKey, SimLatency, SimRateWindow, SimStats, SimWindow } from '../../src/sim/index.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

export interface GatewayProcess {
  url: string;
  /** Everything the process printed. */
  output(): string;
  stop(): Promise<void>;
}

/** `redis` is one server's URL, or a Redis Cluster's node URLs. */
export function replicaConfig(simUrl: string, keys: SimKey[], redis: string | string[], dataDir: string, prefix = 'spillway-test:'): ConfigInput {
  return {
    server: { host: '127.0.0.1', port: 0 },
    store: typeof redis === 'string' ? { type: 'redis', url: redis, prefix } : { type: 'redis-cluster', nodes: redis, prefix },
    data_dir: dataDir,
    usage: { enabled: false },
    providers: { anthropic: { type: 'anthropic', base_url: simUrl, keys: keys.map(({ id, key, limits }) => ({ id, key, limits })) } },
    routes: { '*': { targets: [{ provider: 'anthropic' }] } },
  };
}

export interface SimulatorProcess extends GatewayProcess {
  /** The simulator's counters, read over HTTP (/_sim/stats). */
  stats(): Promise<SimStats>;
}

/**
 * `spillway <command> --config FILE --port 0` as a child process, resolved once it prints the
 * address it listens on (`<what> listening on <url>`).
 */
async function spawnSpillway(command: 'start' | 'sim', what: string, config: unknown): Promise<GatewayProcess> {
  const dir = mkdtempSync(join(tmpdir(), `spillway-${command}-`));
  const file = join(dir, 'config.yaml');
  writeFileSync(file, JSON.stringify(config, null, 2)); // JSON is YAML
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', command, '--config', file, '--port', '0'], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const listening = new RegExp(`${what} listening on (http://[^\\s]+)`);
  const url = await new Promise<string>((resolve, reject) => {
    // Generous: several processes compiling at once on a loaded machine take a while.
    const timer = setTimeout(() => reject(new Error(`${what} did not start in 180 s:\n${output}`)), 180_000);
    const check = () => {
      const match = listening.exec(output);
      if (match) {
        clearTimeout(timer);
        child.stdout!.off('data', check);
        resolve(match[1]!);
      }
    };
    child.stdout!.on('data', check);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${what} exited (${code}):\n${output}`));
    });
  });
  return {
    url,
    output: () => output,
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
        await exited;
        clearTimeout(timer);
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** `spillway start` with this config. */
export function spawnGateway(config: ConfigInput): Promise<GatewayProcess> {
  return spawnSpillway('start', 'spillway', config);
}

/**
 * `spillway sim` in a process of its own, as a provider is a machine of its own: in the process
 * that fires a burst, the simulator would read requests only when the load generator lets it.
 */
export async function spawnSimulator(options: {
  keys: SimKey[];
  window: SimWindow;
  bucket?: SimBucketSize;
  latency: SimLatency;
  outputTokens?: number;
  /** As in the simulator's YAML (snake_case). */
  faults?: Record<string, unknown>;
  seed?: number;
  rateWindow?: SimRateWindow;
}): Promise<SimulatorProcess> {
  const config = {
    keys: options.keys,
    window: options.window,
    bucket: options.bucket,
    rate_window: options.rateWindow && { type: options.rateWindow.type, length_ms: options.rateWindow.lengthMs },
    latency: { ttft_ms: options.latency.ttftMs, tokens_per_second: options.latency.tokensPerSecond },
    output_tokens: options.outputTokens,
    faults: options.faults,
    seed: options.seed,
  };
  const sim = await spawnSpillway('sim', 'spillway simulator', config);
  return {
    ...sim,
    async stats() {
      const response = await fetch(`${sim.url}/_sim/stats`);
      return (await response.json()) as SimStats;
    },
  };
}

/** Like fireBurst, with request i sent to gateway i mod n (official SDK, default retries). */
export async function fireAcross(baseURLs: string[], count: number, maxTokens = 64): Promise<BurstResult> {
  const clients = baseURLs.map((baseURL) => new Anthropic({ baseURL, apiKey: 'client' }));
  const failures: Record<string, number> = {};
  let succeeded = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: count }, async (_, i) => {
      try {
        await clients[i % clients.length]!.messages.create({
          model: 'claude-sonnet-4-6',
          max_tokens: maxTokens,
          messages: [{ role: 'user', content: burstPrompt(i) }],
        });
        succeeded += 1;
      } catch (error) {
        const status = error instanceof Anthropic.APIError && error.status !== undefined ? String(error.status) : 'network';
        failures[status] = (failures[status] ?? 0) + 1;
      }
    }),
  );
  return { succeeded, failed: count - succeeded, makespanMs: performance.now() - started, failures };
}
