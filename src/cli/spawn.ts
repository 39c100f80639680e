/**
 * spillway's own commands as child processes (`spillway start`, `spillway sim`), each with an event
 * loop of its own, as a deployed gateway or a provider would have: the demo, the benchmarks and the
 * replica tests run them so. In one process with the load, a simulator would accept connections and
 * read requests only when the load lets it, and reorder them far beyond what any network does.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ConfigInput } from '../config/schema.js';
import type { SimBucketSize, SimKey, SimLatency, SimRateWindow, SimStats, SimWindow } from '../sim/index.js';

const HERE = fileURLToPath(import.meta.url);
/** The package's root, where `tsx` resolves when running from source. */
const ROOT = join(dirname(HERE), '..', '..');
/** The CLI entry beside this module: the built one, or the source through tsx. */
const CLI = HERE.endsWith('.ts') ? ['--import', 'tsx', join(dirname(HERE), 'main.ts')] : [join(dirname(HERE), 'main.js')];

export interface GatewayProcess {
  url: string;
  /** Everything the process printed. */
  output(): string;
  stop(): Promise<void>;
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
  const child: ChildProcess = spawn(process.execPath, [...CLI, command, '--config', file, '--port', '0'], {
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

