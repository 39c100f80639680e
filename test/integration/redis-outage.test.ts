/**
 * Issue 7: a Redis outage in the middle of a run. Three replicas keep serving on their share of
 * each limit while redis-server is down (a warning says so, `pool.degraded` shows it), and share
 * the limits again once it is back; nothing fails and upstream 429s stay bounded.
 */
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { startGateway, type RunningGateway } from '../../src/server/gateway.js';
import { startSimulator, type Simulator } from '../../src/sim/index.js';
import { skipWithoutRedis, startRedis, type RedisServer } from '../support/redis.js';
import { fireAcross, replicaConfig } from '../support/replicas.js';
import { simKeys } from '../support/stack.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const COUNT = 200;

describe('Redis stops and restarts in the middle of a run', { skip: skipWithoutRedis }, () => {
  let redis: RedisServer;
  let sim: Simulator;
  let dataDir: string;
  const gateways: RunningGateway[] = [];
  const logs: string[] = [];
  // Per-second enforcement, 20/s per key: 200 requests take about 4.5 s.
  const keys = simKeys(2, { rpm: 1200, itpm: 10_000_000, otpm: 10_000_000 });

  before(async () => {
    redis = await startRedis();
    sim = await startSimulator({ keys, window: 'second', latency: { ttftMs: 20 } });
    dataDir = mkdtempSync(join(tmpdir(), 'spillway-outage-'));
    for (let i = 0; i < 3; i++) {
      const config = replicaConfig(sim.url, keys, redis.url, dataDir);
      gateways.push(await startGateway(config, { port: 0, log: (line) => logs.push(`[${i}] ${line}`) }));
    }
    await sleep(1200); // a heartbeat each: every replica has counted three
  });
  after(async () => {
    await Promise.all(gateways.map((g) => g.close()));
    await sim?.close();
    await redis?.stop();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it('nothing fails, 429s stay bounded, and the degraded flag flips and recovers', async () => {
    const pools = gateways.map((g) => g.gateway.providers.get('anthropic')!.pool);
    assert.ok(pools.every((pool) => !pool.degraded));
    const seenDegraded = new Set<number>();
    const watch = setInterval(() => pools.forEach((pool, i) => pool.degraded && seenDegraded.add(i)), 20);

    const burst = fireAcross(
      gateways.map((g) => g.url),
      COUNT,
    );
    await sleep(800);
    await redis.stop();
    await sleep(1500);
    await redis.start();
    const result = await burst;
    clearInterval(watch);
    // Recovery is the next heartbeat (1 s) at most.
    for (let i = 0; i < 30 && pools.some((pool) => pool.degraded); i++) await sleep(100);

    const upstream = sim.stats().total;
    console.log(`outage: ${result.succeeded}/${COUNT} ok, upstream 429s ${upstream.rateLimited}/${upstream.requests}, makespan ${(result.makespanMs / 1000).toFixed(2)} s`);
    assert.deepEqual(result.failures, {});
    assert.equal(result.succeeded, COUNT);
    assert.ok(upstream.rateLimited <= upstream.requests * 0.1, `upstream 429s: ${upstream.rateLimited} of ${upstream.requests}`);
    assert.deepEqual([...seenDegraded].sort(), [0, 1, 2], 'every replica ran degraded during the outage');
    assert.ok(pools.every((pool) => !pool.degraded), 'every replica shares the limits again');
    assert.ok(logs.some((line) => /warning: Redis .* unreachable.*1\/3/.test(line)), logs.join('\n'));
    assert.ok(logs.some((line) => line.includes('reachable again')), logs.join('\n'));
  });
});
