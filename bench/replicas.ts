/**
 * SKU-500 across three replicas: 500 requests fired at once with the official Anthropic SDK,
 * round robin over three spillway processes that share one redis-server, through two keys, with
 * buckets holding the whole minute, one second of it, or a tenth of it. Prints successes, upstream
 * 429s and the makespan against the least time the keys' limits allow. The simulator runs in a
 * process of its own, as a provider would: beside the load generator it would read requests only
 * when 500 clients let it.
 *
 *   npm run bench:replicas        (needs redis-server)
 *   npm run bench:replicas -- --scenario tenth --runs 5     (see sku-args.ts)
 *   CLUSTER=1 npm run bench:replicas     (a three-node Redis Cluster instead of one server)
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { minimumMakespanMs, SKU_LATENCY, SKU_OUTPUT_TOKENS, SKU_REQUEST_MS } from '../src/sim/burst.js';
import type { SimKey } from '../src/sim/index.js';
import { redisBinary, startRedis, startRedisCluster } from '../test/support/redis.js';
import { fireAcross, replicaConfig, spawnGateway, spawnSimulator } from '../test/support/replicas.js';
import { skuArgs } from './sku-args.js';

const COUNT = Number(process.env.SKU_COUNT ?? 500);
const REPLICAS = Number(process.env.REPLICAS ?? 3);
const CLUSTER = process.env.CLUSTER === '1';

if (!redisBinary) {
  console.error('bench:replicas needs redis-server (looked in /usr/bin and /usr/local/bin)');
  process.exit(1);
}

const { scenarios, runs } = skuArgs();
const rows: Array<Record<string, string | number>> = [];
for (const { name, window, bucket, rpm } of scenarios.flatMap((s) => Array<typeof s>(runs).fill(s))) {
  const keys: SimKey[] = [1, 2].map((n) => ({ id: `k${n}`, key: `sk-sim-${n}`, limits: { rpm, itpm: 2_000_000, otpm: 400_000 } }));
  const redis = CLUSTER ? await startRedisCluster() : await startRedis();
  const sim = await spawnSimulator({ keys, window, bucket, latency: SKU_LATENCY, outputTokens: SKU_OUTPUT_TOKENS });
  const dataDir = mkdtempSync(join(tmpdir(), 'spillway-bench-'));
  const gateways = await Promise.all(Array.from({ length: REPLICAS }, () => spawnGateway(replicaConfig(sim.url, keys, 'urls' in redis ? redis.urls : redis.url, dataDir))));
  try {
    const result = await fireAcross(
      gateways.map((g) => g.url),
      COUNT,
    );
    const stats = (await sim.stats()).total;
    const minimum = minimumMakespanMs(keys, window, { ok: COUNT, inputTokens: stats.inputTokens, outputTokens: stats.outputTokens }, bucket) + SKU_REQUEST_MS;
    rows.push({
      scenario: `${name}, 2 × ${rpm} rpm`,
      replicas: REPLICAS,
      succeeded: result.succeeded,
      failed: result.failed,
      'upstream 429s': `${stats.rateLimited} / ${stats.requests} (${((100 * stats.rateLimited) / stats.requests).toFixed(1)}%)`,
      'makespan s': (result.makespanMs / 1000).toFixed(2),
      'minimum s': (minimum / 1000).toFixed(2),
      'makespan / minimum': result.failed === 0 ? (result.makespanMs / minimum).toFixed(3) : '(incomplete)',
    });
    console.error(`done: ${name}`);
  } finally {
    await Promise.all(gateways.map((g) => g.stop()));
    await sim.stop();
    await redis.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}
console.log(`\nSKU-${COUNT} across ${REPLICAS} replicas sharing ${CLUSTER ? 'a three-node Redis Cluster' : 'one Redis'}, round robin, Anthropic SDK defaults, two keys\n`);
console.table(rows);
