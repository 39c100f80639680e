/**
 * Issue 7: many replicas, one set of limits. Three spillway processes share one redis-server;
 * SKU-500 (per-second enforcement) sent round robin across them through two keys all succeeds,
 * with upstream 429s at most 1% of upstream requests, as if one gateway had sent it. (The makespan
 * against the minimum is measured side by side in bench/replicas.ts.)
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { minimumMakespanMs, SKU_LATENCY, SKU_OUTPUT_TOKENS, SKU_REQUEST_MS, SKU_SCENARIOS } from '../../src/sim/burst.js';
import { skipWithoutRedis, startRedis, type RedisServer } from '../support/redis.js';
import { fireAcross, replicaConfig, spawnGateway, spawnSimulator, type GatewayProcess, type SimulatorProcess } from '../support/replicas.js';
import { simKeys } from '../support/stack.js';

const COUNT = 500;
const SCENARIO = SKU_SCENARIOS.find((scenario) => scenario.window === 'second')!;

describe('three replicas sharing Redis', { skip: skipWithoutRedis }, () => {
  let redis: RedisServer;
  let sim: SimulatorProcess;
  let gateways: GatewayProcess[] = [];
  let dataDir: string;
  // A burst of 30 per key, then 30/s per key.
  const keys = simKeys(2, { rpm: SCENARIO.rpm, itpm: 2_000_000, otpm: 400_000 });

  before(async () => {
    redis = await startRedis();
    sim = await spawnSimulator({ keys, window: SCENARIO.window, latency: SKU_LATENCY, outputTokens: SKU_OUTPUT_TOKENS });
    dataDir = mkdtempSync(join(tmpdir(), 'spillway-replicas-'));
    gateways = await Promise.all([0, 1, 2].map(() => spawnGateway(replicaConfig(sim.url, keys, redis.url, dataDir))));
  });
  after(async () => {
    await Promise.all(gateways.map((g) => g.stop()));
    await sim?.stop();
    await redis?.stop();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it(`${COUNT} requests round robin across three gateways: all succeed, upstream 429s at most 1%`, async () => {
    const result = await fireAcross(
      gateways.map((g) => g.url),
      COUNT,
    );
    const stats = await sim.stats();
    const upstream = stats.total;
    const minimum = minimumMakespanMs(keys, SCENARIO.window, upstream) + SKU_REQUEST_MS;
    console.log(
      `replicas: ${result.succeeded}/${COUNT} ok, upstream 429s ${upstream.rateLimited}/${upstream.requests}, ` +
        `makespan ${(result.makespanMs / 1000).toFixed(2)} s vs minimum ${(minimum / 1000).toFixed(2)} s (×${(result.makespanMs / minimum).toFixed(3)})`,
    );
    assert.deepEqual(result.failures, {});
    assert.equal(result.succeeded, COUNT);
    assert.equal(upstream.ok, COUNT, 'each request went upstream once');
    assert.ok(upstream.rateLimited <= upstream.requests * 0.01, `upstream 429s: ${upstream.rateLimited} of ${upstream.requests}`);
    for (const key of keys) assert.ok(stats.keys[key.id]!.ok > COUNT / 4, `${key.id} served its share`);
    // Sharing, not three separate pools: each would admit a full burst per key and collide upstream.
    assert.ok(result.makespanMs < minimum * 1.5, `makespan ${result.makespanMs} ms vs minimum ${minimum} ms`);
  });

  it('each replica has registered itself, so each knows its share for an outage, and the metric shows it', async () => {
    const client = new Redis(redis.url);
    try {
      assert.equal(await client.zcard('spillway-test:replicas'), 3);
      // And says so to Prometheus (the heartbeats have run during the burst above).
      const metrics = await (await fetch(`${gateways[0]!.url}/metrics`)).text();
      assert.match(metrics, /^spillway_store_replicas 3$/m);
    } finally {
      client.disconnect();
    }
  });
});
