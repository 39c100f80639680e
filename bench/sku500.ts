/**
 * SKU-500: 500 requests fired at once with the official Anthropic SDK (default settings) at two
 * keys, sent directly and through spillway, with per-minute and per-second enforcement. Prints
 * successes, upstream 429s and the makespan against the least time the keys' limits allow.
 *
 *   npm run bench:sku500
 */
import { fireBurst, minimumMakespanMs, SKU_LATENCY, SKU_OUTPUT_TOKENS, SKU_REQUEST_MS, SKU_SCENARIOS } from '../src/sim/burst.js';
import { startSimulator, type SimKey, type SimWindow } from '../src/sim/index.js';
import { startGateway } from '../src/server/gateway.js';

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

async function run(window: SimWindow, rpm: number, viaSpillway: boolean): Promise<Row> {
  const keys: SimKey[] = [1, 2].map((n) => ({ id: `k${n}`, key: `sk-sim-${n}`, limits: { rpm, itpm: 2_000_000, otpm: 400_000 } }));
  const sim = await startSimulator({ keys, window, latency: SKU_LATENCY, outputTokens: SKU_OUTPUT_TOKENS });
  const gateway = viaSpillway
    ? await startGateway(
        { providers: { anthropic: { type: 'anthropic', base_url: sim.url, keys } }, routes: { '*': { targets: [{ provider: 'anthropic' }] } } },
        { port: 0, quiet: true },
      )
    : undefined;
  try {
    const result = await fireBurst({
      baseURL: gateway?.url ?? sim.url,
      apiKeys: gateway ? ['client'] : keys.map((key) => key.key),
      count: COUNT,
    });
    const stats = sim.stats().total;
    return {
      scenario: `per ${window}, 2 × ${rpm} rpm`,
      path: viaSpillway ? 'spillway' : 'direct',
      succeeded: result.succeeded,
      failed: result.failed,
      upstream: stats.requests,
      upstream429: stats.rateLimited,
      makespan: result.makespanMs,
      minimum: minimumMakespanMs(keys, window, { ok: COUNT, inputTokens: stats.inputTokens, outputTokens: stats.outputTokens }) + SKU_REQUEST_MS,
    };
  } finally {
    await gateway?.close();
    await sim.close();
  }
}

const rows: Row[] = [];
for (const { window, rpm } of SKU_SCENARIOS) {
  for (const via of [false, true]) {
    const row = await run(window, rpm, via);
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
