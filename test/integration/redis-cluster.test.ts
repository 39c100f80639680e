/**
 * Issue 19: past one Redis. Three spillway replicas share their limits through a three-node Redis
 * Cluster (started here with `redis-server --cluster-enabled yes` and `redis-cli --cluster
 * create`) as they do through one server; a lost node sends only the pools whose slots it held to
 * their local shares, loses no request, and sharing resumes when it returns.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import Anthropic from '@anthropic-ai/sdk';
import { minimumMakespanMs, SKU_LATENCY, SKU_OUTPUT_TOKENS, SKU_REQUEST_MS, SKU_SCENARIOS } from '../../src/sim/burst.js';
import { RedisKeyPool } from '../../src/store/redis-pool.js';
import { RedisStore } from '../../src/store/redis-store.js';
import { skipWithoutRedis, startRedisCluster, type RedisClusterServer } from '../support/redis.js';
import { fireAcross, replicaConfig, spawnGateway, spawnSimulator, type GatewayProcess, type SimulatorProcess } from '../support/replicas.js';
import { simKeys } from '../support/stack.js';

const COUNT = 500;
const SCENARIO = SKU_SCENARIOS.find((scenario) => scenario.window === 'second')!;
const PREFIX = 'spillway-test:';
const demand = { inputTokens: 100, outputTokens: 50 };

async function until(check: () => boolean, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('three replicas sharing a three-node Redis Cluster', { skip: skipWithoutRedis }, () => {
  let cluster: RedisClusterServer;
  let sim: SimulatorProcess;
  let gateways: GatewayProcess[] = [];
  let dataDir: string;
  const keys = simKeys(2, { rpm: SCENARIO.rpm, itpm: 2_000_000, otpm: 400_000 });

  before(async () => {
    cluster = await startRedisCluster();
    sim = await spawnSimulator({ keys, window: SCENARIO.window, latency: SKU_LATENCY, outputTokens: SKU_OUTPUT_TOKENS });
    dataDir = mkdtempSync(join(tmpdir(), 'spillway-cluster-'));
    gateways = await Promise.all([0, 1, 2].map(() => spawnGateway(replicaConfig(sim.url, keys, cluster.urls, dataDir, PREFIX))));
  });
  after(async () => {
    await Promise.all(gateways.map((g) => g.stop()));
    await sim?.stop();
    await cluster?.stop();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it(`${COUNT} requests round robin across three gateways (per-second limits): all succeed, upstream 429s at most 1%`, async () => {
    const result = await fireAcross(
      gateways.map((g) => g.url),
      COUNT,
    );
    const stats = await sim.stats();
    const upstream = stats.total;
    const minimum = minimumMakespanMs(keys, SCENARIO.window, upstream) + SKU_REQUEST_MS;
    console.log(
      `cluster replicas: ${result.succeeded}/${COUNT} ok, upstream 429s ${upstream.rateLimited}/${upstream.requests}, ` +
        `makespan ${(result.makespanMs / 1000).toFixed(2)} s vs minimum ${(minimum / 1000).toFixed(2)} s (×${(result.makespanMs / minimum).toFixed(3)})`,
    );
    assert.deepEqual(result.failures, {});
    assert.equal(result.succeeded, COUNT);
    assert.equal(upstream.ok, COUNT, 'each request went upstream once');
    assert.ok(upstream.rateLimited <= upstream.requests * 0.01, `upstream 429s: ${upstream.rateLimited} of ${upstream.requests}`);
    for (const key of keys) assert.ok(stats.keys[key.id]!.ok > COUNT / 4, `${key.id} served its share`);
    // Sharing, not three separate pools (the ratio itself is measured in bench:replicas CLUSTER=1).
    assert.ok(result.makespanMs < minimum * 1.5, `makespan ${result.makespanMs} ms vs minimum ${minimum} ms`);
  });

  it("killing the node that holds the pool's slot for 10 s loses no request, and the replicas share again once it is back", async () => {
    const node = await cluster.nodeOf(`${PREFIX}{anthropic}:k1`);
    const clients = gateways.map((g) => new Anthropic({ baseURL: g.url, apiKey: 'client', maxRetries: 0 }));
    const failures: string[] = [];
    let sent = 0;
    let stop = false;
    const worker = async (w: number) => {
      while (!stop) {
        const i = sent++;
        try {
          await clients[(i + w) % clients.length]!.messages.create({ model: 'claude-sonnet-4-6', max_tokens: 16, messages: [{ role: 'user', content: `cluster outage ${i}` }] });
        } catch (error) {
          failures.push(error instanceof Error ? error.message : String(error));
        }
      }
    };
    const workers = Promise.all([0, 1, 2, 3].map(worker));
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const seen = gateways.map((g) => g.output().length);
    await cluster.stopNode(node);
    await until(() => gateways.every((g) => g.output().includes('for {anthropic} is unreachable')), 'every replica to notice the lost slot');
    const duringOutage = sent;
    await new Promise((resolve) => setTimeout(resolve, 10_000));
    assert.ok(sent > duringOutage, 'requests kept being answered while the node was down');
    await cluster.startNode(node);
    await until(() => gateways.every((g) => g.output().includes('for {anthropic} is reachable again')), 'every replica to share again');
    await new Promise((resolve) => setTimeout(resolve, 1000));
    stop = true;
    await workers;
    assert.deepEqual(failures, [], `${failures.length} of ${sent} requests failed`);
    // Per pool: the lost node's slot was the pool's, never the whole store (unless it also held {shared}).
    const sharedNode = await cluster.nodeOf(`${PREFIX}{shared}:replicas`);
    if (sharedNode !== node) gateways.forEach((g, i) => assert.doesNotMatch(g.output().slice(seen[i]), /Redis Cluster at [0-9.:, ]+ is unreachable/));
  });
});

describe('a pool on a lost cluster node falls back alone', { skip: skipWithoutRedis }, () => {
  let cluster: RedisClusterServer;
  before(async () => {
    cluster = await startRedisCluster();
  });
  after(async () => {
    await cluster?.stop();
  });

  it('the pool whose slot is gone serves its local share; a pool on another node keeps sharing; both share again after', async () => {
    // Two pool names whose slots are on different nodes.
    const lost = 'provider-0';
    const lostNode = await cluster.nodeOf(`p:{${lost}}`);
    let kept = '';
    for (let i = 1; !kept; i++) if ((await cluster.nodeOf(`p:{provider-${i}}`)) !== lostNode) kept = `provider-${i}`;
    const lines: string[] = [];
    // A generous timeout: on a loaded machine a slow reply is not the lost node (which refuses at once).
    const store = new RedisStore({ nodes: cluster.urls, prefix: 'p:', replicas: 2, heartbeatMs: 200, commandTimeoutMs: 3000, log: (line) => lines.push(line) });
    const limits = { rpm: 600 };
    const lostPool = new RedisKeyPool(lost, [{ id: 'k1', limits }], store);
    const keptPool = new RedisKeyPool(kept, [{ id: 'k1', limits }], store);
    try {
      assert.equal((await lostPool.tryReserve(demand, Date.now())).ok, true);
      await cluster.stopNode(lostNode);
      // Its share starts empty (the others may just have spent the shared buckets) and refills.
      const during = await lostPool.tryReserve(demand, Date.now());
      assert.equal(lostPool.degraded, true);
      if (!during.ok) {
        assert.ok(during.waitMs < 1000, `the lost pool's share refills: wait ${during.waitMs} ms`);
        await new Promise((resolve) => setTimeout(resolve, during.waitMs + 10));
        assert.equal((await lostPool.tryReserve(demand, Date.now())).ok, true, 'the lost pool admits on its share');
      }
      const other = await keptPool.tryReserve(demand, Date.now());
      assert.equal(other.ok, true);
      assert.equal(keptPool.degraded, false, 'the other pool still shares through its node');
      // Its admissions went to Redis: the shared bucket of the kept pool shows them.
      await keptPool.refresh();
      assert.equal(keptPool.snapshot(Date.now())[0]!.inFlight, 1);
      await cluster.startNode(lostNode);
      await until(() => !lostPool.degraded, 'the lost pool to share again');
      // The node came back empty: the shared buckets start empty (as after a restart of one Redis)
      // and Redis answers the admission, with a finite wait or a reservation.
      const back = await lostPool.tryReserve(demand, Date.now());
      assert.ok(back.ok || Number.isFinite(back.waitMs), 'admitted, or told how long to wait');
      assert.equal(lostPool.degraded, false, 'answered by the returned node, not the local share');
      // The lost pool said it fell back: its slot unreachable, or (once the cluster had moved on) an error where its slot was.
      assert.ok(lines.some((line) => line.includes(`for {${lost}} is unreachable`) || line.includes(`for {${lost}} answered with an error`)), lines.join('\n'));
      assert.ok(!lines.some((line) => line.includes(`{${kept}}`)), lines.join('\n'));
    } finally {
      await lostPool.close();
      await keptPool.close();
    }
  });
});
