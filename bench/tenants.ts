/**
 * Tenants sharing a saturated pool (issue 16): two keys serving 20 requests/s together; tenant
 * "ci" fires 600 requests at once, tenant "checkout" 30 requests 3 s later. Prints each tenant's
 * wait distribution (from its own start to each answer) when both are one tenant (first come
 * first served, as before tenants), as two tenants of equal weight, and with checkout at weight 3.
 * Each on one gateway, then on three replicas sharing one redis-server (each tenant's requests
 * round robin over the three, so the shares must hold fleet-wide). The simulator and the gateways
 * run in processes of their own; this process is the load.
 *
 *   npm run bench:tenants                (three replicas need redis-server; REPLICAS=1 skips them)
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SimKey } from '../src/sim/index.js';
import { redisBinary, startRedis, type RedisServer } from '../test/support/redis.js';
import { spawnGateway, spawnSimulator, type GatewayProcess } from '../test/support/replicas.js';
import { fireTenants, percentile, type BurstTimes } from '../test/support/tenant-load.js';

const CI_COUNT = Number(process.env.CI_COUNT ?? 600);
const CHECKOUT_COUNT = 30;
const RATE = 20; // requests per second the two keys serve together
const TOPOLOGIES = Number(process.env.REPLICAS ?? 3) > 1 && redisBinary ? [1, 3] : [1];

interface Scenario {
  name: string;
  /** Tenants in config; when absent both teams use the one key of server.auth.keys. */
  tenants?: Record<string, { keys: string[]; weight: number }>;
}

const scenarios: Scenario[] = [
  { name: 'one tenant (first come, first served)' },
  { name: 'two tenants, equal weights', tenants: { ci: { keys: ['sk-ci'], weight: 1 }, checkout: { keys: ['sk-checkout'], weight: 1 } } },
  { name: 'two tenants, checkout weight 3', tenants: { ci: { keys: ['sk-ci'], weight: 1 }, checkout: { keys: ['sk-checkout'], weight: 3 } } },
];

async function run(scenario: Scenario, replicas: number): Promise<{ ci: BurstTimes; checkout: BurstTimes; upstream: number; upstream429: number }> {
  const keys: SimKey[] = [1, 2].map((n) => ({ id: `k${n}`, key: `sk-sim-${n}`, limits: { rpm: RATE * 30, itpm: 10_000_000, otpm: 10_000_000 } }));
  const sim = await spawnSimulator({ keys, window: 'second', latency: { ttftMs: 100, tokensPerSecond: 400 }, outputTokens: 40 });
  const dataDir = mkdtempSync(join(tmpdir(), 'spillway-bench-'));
  const redis: RedisServer | undefined = replicas > 1 ? await startRedis() : undefined;
  const gateways: GatewayProcess[] = await Promise.all(
    Array.from({ length: replicas }, () =>
      spawnGateway({
        server: { host: '127.0.0.1', port: 0, ...(scenario.tenants ? {} : { auth: { keys: ['sk-shared'] } }) },
        ...(scenario.tenants ? { tenants: scenario.tenants, admin: { keys: ['sk-admin'] } } : {}),
        // A busy machine's Redis answers slowly, not never: the shares measured are the shared ones.
        ...(redis ? { store: { type: 'redis' as const, url: redis.url, prefix: 'spillway-bench-tenants:', command_timeout: '3s' } } : {}),
        data_dir: dataDir,
        usage: { enabled: false },
        providers: { anthropic: { type: 'anthropic', base_url: sim.url, keys } },
        routes: { '*': { targets: [{ provider: 'anthropic' }] } },
      }),
    ),
  );
  const urls = gateways.map((g) => g.url);
  try {
    const [ci, checkout] = await fireTenants(urls[0]!, [
      { apiKey: scenario.tenants ? 'sk-ci' : 'sk-shared', count: CI_COUNT, startMs: 0, baseURLs: urls },
      { apiKey: scenario.tenants ? 'sk-checkout' : 'sk-shared', count: CHECKOUT_COUNT, startMs: 3000, baseURLs: urls },
    ]);
    const stats = (await sim.stats()).total;
    return { ci: ci!, checkout: checkout!, upstream: stats.requests, upstream429: stats.rateLimited };
  } finally {
    await Promise.all(gateways.map((g) => g.stop()));
    await sim.stop();
    await redis?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

const seconds = (ms: number) => (ms / 1000).toFixed(1);
const rows = [];
for (const replicas of TOPOLOGIES)
for (const scenario of scenarios) {
  const result = await run(scenario, replicas);
  console.error(`done: ${scenario.name}, ${replicas} replica(s)`);
  for (const [tenant, times] of [['ci', result.ci], ['checkout', result.checkout]] as const) {
    rows.push({
      replicas: replicas === 1 ? '1' : `${replicas} on Redis`,
      scenario: scenario.name,
      tenant,
      answered: `${times.waits.length} (failed: ${JSON.stringify(times.failures)})`,
      'p50 s': seconds(percentile(times.waits, 50)),
      'p90 s': seconds(percentile(times.waits, 90)),
      'max s': seconds(Math.max(...times.waits)),
      'max / fair-share time': tenant === 'checkout' ? (Math.max(...times.waits) / 1000 / (CHECKOUT_COUNT / (RATE / 2))).toFixed(2) : '',
      'in queue p50 s': seconds(percentile(times.queuedMs, 50)),
      'in queue max s': seconds(Math.max(...times.queuedMs)),
      'upstream 429s': `${result.upstream429} / ${result.upstream}`,
    });
  }
}
const fair = CHECKOUT_COUNT / (RATE / 2);
console.log(`\nci: ${CI_COUNT} requests at t=0; checkout: ${CHECKOUT_COUNT} at t=3 s; the pool serves ${RATE}/s; one gateway, then ${TOPOLOGIES.at(-1)} replicas sharing Redis (each tenant round robin over them).`);
console.log(`checkout's fair-share time at equal weights: ${fair.toFixed(1)} s (half the pool); waits are from each tenant's own start\n`);
console.table(rows);
