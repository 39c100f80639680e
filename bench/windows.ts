/**
 * Windowed limits (issue 17): a burst several windows deep, fired at once with the official
 * Anthropic SDK (default settings) through spillway at two keys whose provider counts per window.
 * Side by side in one run, for a sliding and a fixed window: the window configured, a bucket
 * configured (only the per-minute rate), and nothing configured (the window learned from the
 * answers' resets). Prints successes, upstream 429s and the makespan against the least time the
 * windows allow, and the machine's load (timings are noisy on a busy machine; counts are not).
 * The simulator and the gateway run in processes of their own; this process is the load.
 *
 *   npm run bench:windows            (WINDOW_S=10 WINDOW_COUNT=200 by default)
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { WindowConfig } from '../src/config/schema.js';
import { fireBurst, SKU_LATENCY, SKU_OUTPUT_TOKENS, SKU_REQUEST_MS } from '../src/sim/burst.js';
import type { SimKey, SimRateWindow } from '../src/sim/index.js';
import { spawnGateway, spawnSimulator } from '../test/support/replicas.js';

const LENGTH_MS = Number(process.env.WINDOW_S ?? 10) * 1000;
const COUNT = Number(process.env.WINDOW_COUNT ?? 200);
const RPM = 120; // per key: 120 × length / 60 s per window (20 in 10 s)
const KEYS = 2;

interface Row {
  provider: string;
  spillway: string;
  succeeded: number;
  failed: number;
  upstream: number;
  upstream429: number;
  makespan: number;
  minimum: number;
}

/**
 * The least time the windows allow from `start`: each window takes one allowance per key, the
 * last request's answer included. A fixed window's first one ends at its boundary.
 */
function minimumMakespanMs(window: SimRateWindow, start: number): number {
  const perWindow = KEYS * ((RPM * window.lengthMs) / 60_000);
  const windows = Math.ceil(COUNT / perWindow);
  if (windows <= 1) return SKU_REQUEST_MS;
  const first = window.type === 'sliding' ? window.lengthMs : Math.ceil(start / window.lengthMs) * window.lengthMs - start;
  return first + (windows - 2) * window.lengthMs + SKU_REQUEST_MS;
}

async function run(rateWindow: SimRateWindow, configured: WindowConfig | undefined): Promise<Row> {
  // Anthropic's resets are whole seconds: the window is learned from the answers of the first window.
  const keys: SimKey[] = Array.from({ length: KEYS }, (_, i) => ({ id: `k${i + 1}`, key: `sk-sim-${i + 1}`, limits: { rpm: RPM, itpm: 10_000_000, otpm: 1_000_000 } }));
  const sim = await spawnSimulator({ keys, window: 'minute', rateWindow, latency: SKU_LATENCY, outputTokens: SKU_OUTPUT_TOKENS });
  const dataDir = mkdtempSync(join(tmpdir(), 'spillway-bench-'));
  const gateway = await spawnGateway({
    server: { host: '127.0.0.1', port: 0 },
    data_dir: dataDir,
    usage: { enabled: false },
    providers: { anthropic: { type: 'anthropic', base_url: sim.url, keys, ...(configured ? { window: configured } : {}) } },
    routes: { '*': { targets: [{ provider: 'anthropic' }] } },
  });
  try {
    // A fixed window's burst starts just after a boundary: a start late in a window would leave
    // the first window to the machine's luck (how soon the first requests get through).
    if (rateWindow.type === 'fixed') await sleep(rateWindow.lengthMs - (Date.now() % rateWindow.lengthMs) + 100);
    const start = Date.now();
    const result = await fireBurst({ baseURL: gateway.url, apiKeys: ['client'], count: COUNT });
    const stats = (await sim.stats()).total;
    return {
      provider: `${rateWindow.type} ${rateWindow.lengthMs / 1000} s`,
      spillway: !configured ? 'nothing (learns the window)' : configured.type === 'bucket' ? 'bucket (rpm only)' : `window ${configured.type} ${configured.length / 1000} s`,
      succeeded: result.succeeded,
      failed: result.failed,
      upstream: stats.requests,
      upstream429: stats.rateLimited,
      makespan: result.makespanMs,
      minimum: minimumMakespanMs(rateWindow, start),
    };
  } finally {
    await gateway.stop();
    await sim.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

const sliding: SimRateWindow = { type: 'sliding', lengthMs: LENGTH_MS };
const fixed: SimRateWindow = { type: 'fixed', lengthMs: LENGTH_MS };
const rows: Row[] = [];
const bucket: WindowConfig = { type: 'bucket', length: 60_000 };
const load = [loadavg()];
for (const [provider, configured] of [
  [sliding, { type: 'sliding', length: LENGTH_MS }],
  [sliding, bucket],
  [sliding, undefined],
  [fixed, { type: 'fixed', length: LENGTH_MS }],
  [fixed, bucket],
  [fixed, undefined],
] as Array<[SimRateWindow, WindowConfig | undefined]>) {
  const row = await run(provider, configured);
  rows.push(row);
  console.error(`done: ${row.provider} / ${row.spillway}`);
}
load.push(loadavg());
console.log(`\nload average (1 min) ${load[0]![0]!.toFixed(2)} before, ${load[1]![0]!.toFixed(2)} after, on ${cpus().length} cores`);
console.log(`${COUNT} requests at once, Anthropic SDK defaults (2 retries), ${KEYS} keys of ${RPM} rpm counted per ${LENGTH_MS / 1000} s window\n`);
console.table(
  rows.map((row) => ({
    'provider counts': row.provider,
    'spillway told': row.spillway,
    succeeded: row.succeeded,
    failed: row.failed,
    'upstream 429s': `${row.upstream429} / ${row.upstream} (${((100 * row.upstream429) / row.upstream).toFixed(1)}%)`,
    'makespan s': (row.makespan / 1000).toFixed(2),
    'minimum s': (row.minimum / 1000).toFixed(2),
    'makespan / minimum': row.failed === 0 ? (row.makespan / row.minimum).toFixed(3) : '(incomplete)',
  })),
);
