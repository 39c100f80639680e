/**
 * SKU-500: 500 requests fired at once with the official Anthropic SDK (default settings) at two
 * keys, sent directly and through spillway, with buckets holding the whole minute, one second of
 * it, or a tenth of it. Prints successes, upstream 429s and the makespan against the least time
 * the keys' limits allow. The simulator and the gateway run in processes of their own, as a
 * provider and a deployed gateway would; this process is the load.
 *
 *   npm run bench:sku500
 *   npm run bench:sku500 -- --scenario tenth --runs 5     (see sku-args.ts)
 */
import { fireBurst, minimumMakespanMs, SKU_LATENCY, SKU_OUTPUT_TOKENS, SKU_REQUEST_MS, type SkuScenario } from '../src/sim/burst.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SimKey } from '../src/sim/index.js';
import { spawnGateway, spawnSimulator } from '../test/support/replicas.js';
import { skuArgs } from './sku-args.js';

const COUNT = Number(process.env.SKU_COUNT ?? 500);

interface Row {
  scenario: string;
  path: string;
  succeeded: number;
  failed: number;
  upstream: number;
  upstream429: number;
  makespan: number;
  minimum: number;
}

async function run({ name, window, bucket, rpm }: SkuScenario, viaSpillway: boolean): Promise<Row> {
  const keys: SimKey[] = [1, 2].map((n) => ({ id: `k${n}`, key: `sk-sim-${n}`, limits: { rpm, itpm: 2_000_000, otpm: 400_000 } }));
  const sim = await spawnSimulator({ keys, window, bucket, latency: SKU_LATENCY, outputTokens: SKU_OUTPUT_TOKENS });
  const dataDir = mkdtempSync(join(tmpdir(), 'spillway-bench-'));
  const gateway = viaSpillway
    ? await spawnGateway({
        server: { host: '127.0.0.1', port: 0 },
        data_dir: dataDir,
        usage: { enabled: false },
        providers: { anthropic: { type: 'anthropic', base_url: sim.url, keys } },
        routes: { '*': { targets: [{ provider: 'anthropic' }] } },
      })
    : undefined;
  try {
    const result = await fireBurst({
      baseURL: gateway?.url ?? sim.url,
      apiKeys: gateway ? ['client'] : keys.map((key) => key.key),
      count: COUNT,
    });
    const stats = (await sim.stats()).total;
    return {
      scenario: `${name}, 2 × ${rpm} rpm`,
      path: viaSpillway ? 'spillway' : 'direct',
      succeeded: result.succeeded,
      failed: result.failed,
      upstream: stats.requests,
      upstream429: stats.rateLimited,
      makespan: result.makespanMs,
      minimum: minimumMakespanMs(keys, window, { ok: COUNT, inputTokens: stats.inputTokens, outputTokens: stats.outputTokens }, bucket) + SKU_REQUEST_MS,
    };
  } finally {
    await gateway?.stop();
    await sim.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

const { scenarios, runs } = skuArgs();
const rows: Row[] = [];
for (const scenario of scenarios) {
  for (const via of [false, ...Array<boolean>(runs).fill(true)]) {
    const row = await run(scenario, via);
    rows.push(row);
    console.error(`done: ${row.scenario} ${row.path}`);
  }
}
console.log(`\nSKU-${COUNT}: ${COUNT} requests at once, Anthropic SDK defaults (2 retries), two keys\n`);
console.table(
  rows.map((row) => ({
    scenario: row.scenario,
    path: row.path,
    succeeded: row.succeeded,
    failed: row.failed,
    'upstream 429s': `${row.upstream429} / ${row.upstream} (${((100 * row.upstream429) / row.upstream).toFixed(1)}%)`,
    'makespan s': (row.makespan / 1000).toFixed(2),
    'minimum s': (row.minimum / 1000).toFixed(2),
    'makespan / minimum': row.failed === 0 ? (row.makespan / row.minimum).toFixed(3) : '(incomplete)',
  })),
);
