/**
 * Batches with `store: redis`: two gateways share one Redis and one simulator. A batch created on
 * one is retrieved, listed and drained by both; when one gateway dies mid-batch the other takes
 * over its running requests once its heartbeat lapses, and nothing recorded as succeeded is sent
 * upstream again.
 *
 * Each gateway reaches the simulator through its own recording proxy, which notes per custom_id
 * which gateway sent it and every 200 it got back.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import Anthropic from '@anthropic-ai/sdk';
import { Redis } from 'ioredis';
import type { Limits } from '../../src/config/schema.js';
import { startGateway, type RunningGateway } from '../../src/server/gateway.js';
import { startSimulator, type SimKey, type SimOptions, type Simulator } from '../../src/sim/index.js';
import { skipWithoutRedis, startRedis, type RedisServer } from '../support/redis.js';
import { simKeys } from '../support/stack.js';

const TOTAL = 200;
const PREFIX = 'batches-redis:';

interface Sent {
  gateway: 'a' | 'b';
  customId: string;
  at: number;
}

const sent: Sent[] = [];
const answered: Sent[] = [];

function customIdOf(body: string): string {
  try {
    const content = (JSON.parse(body) as { messages?: Array<{ content?: unknown }> }).messages?.[0]?.content;
    return typeof content === 'string' ? content.replace(/^batch item /, '') : '?';
  } catch {
    return '?';
  }
}

function startProxy(tag: 'a' | 'b', target: string): Promise<Server> {
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', async () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const customId = customIdOf(body);
      sent.push({ gateway: tag, customId, at: Date.now() });
      const headers: Record<string, string> = {};
      for (const [name, value] of Object.entries(req.headers)) {
        if (typeof value === 'string' && !['host', 'content-length', 'connection'].includes(name)) headers[name] = value;
      }
      try {
        const upstream = await fetch(target + (req.url ?? '/'), { method: req.method, headers, body: req.method === 'POST' ? body : undefined });
        const text = await upstream.text();
        if (upstream.status === 200) answered.push({ gateway: tag, customId, at: Date.now() });
        const out: Record<string, string> = {};
        upstream.headers.forEach((value, name) => {
          if (!['content-length', 'content-encoding', 'transfer-encoding', 'connection'].includes(name)) out[name] = value;
        });
        res.writeHead(upstream.status, out);
        res.end(text);
      } catch {
        res.destroy();
      }
    });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

const urlOf = (server: Server) => `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

function requests(prefix: string) {
  return Array.from({ length: TOTAL }, (_, i) => {
    const customId = `${prefix}-${String(i).padStart(3, '0')}`;
    return { custom_id: customId, params: { model: 'claude-sonnet-4-6', max_tokens: 16, messages: [{ role: 'user' as const, content: `batch item ${customId}` }] } };
  });
}

async function waitEnded(client: Anthropic, id: string, timeoutMs: number): Promise<Anthropic.Messages.Batches.MessageBatch> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const batch = await client.messages.batches.retrieve(id);
    if (batch.processing_status === 'ended') return batch;
    assert.ok(Date.now() < deadline, `batch ${id} still ${batch.processing_status} after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function resultsOf(client: Anthropic, id: string): Promise<Map<string, Anthropic.Messages.Batches.MessageBatchResult>> {
  const out = new Map<string, Anthropic.Messages.Batches.MessageBatchResult>();
  for await (const line of await client.messages.batches.results(id)) {
    assert.ok(!out.has(line.custom_id), `custom_id ${line.custom_id} appears twice in the results`);
    out.set(line.custom_id, line.result);
  }
  return out;
}

const countBy = (items: Sent[], prefix: string, gateway?: 'a' | 'b') =>
  items.filter((item) => item.customId.startsWith(`${prefix}-`) && (gateway === undefined || item.gateway === gateway)).length;

describe('batches in Redis, two gateways', { skip: skipWithoutRedis }, () => {
  let redis: RedisServer;
  let sim: Simulator;
  const proxies: Server[] = [];
  const gateways: RunningGateway[] = [];
  const clients: Anthropic[] = [];
  const dirs: string[] = [];
  let closedA = false;

  before(async () => {
    redis = await startRedis();
    // 150 ms per answer and 8 batch requests in flight per gateway: one gateway alone would need
    // about 4 s for 200 requests, so the second one (polling every second) gets its share.
    sim = await startSimulator({ keys: simKeys(1), latency: { ttftMs: 150 } });
    for (const tag of ['a', 'b'] as const) {
      const proxy = await startProxy(tag, sim.url);
      proxies.push(proxy);
      const dataDir = mkdtempSync(join(tmpdir(), 'spillway-batches-redis-'));
      dirs.push(dataDir);
      const gateway = await startGateway(
        {
          providers: { anthropic: { type: 'anthropic', base_url: urlOf(proxy), keys: [{ id: 'k1', key: 'sk-sim-1', limits: { rpm: 1_000_000, concurrency: 100 } }] } },
          routes: { '*': { targets: [{ provider: 'anthropic' }] } },
          data_dir: dataDir,
          usage: { enabled: false },
          batches: { concurrency: 8 },
          store: { type: 'redis', url: redis.url, prefix: PREFIX },
        },
        { port: 0, quiet: true },
      );
      gateways.push(gateway);
      clients.push(new Anthropic({ baseURL: gateway.url, apiKey: 'client', maxRetries: 0 }));
    }
  });

  after(async () => {
    for (const [i, gateway] of gateways.entries()) if (i !== 0 || !closedA) await gateway.close();
    for (const proxy of proxies) await new Promise<void>((resolve) => proxy.close(() => resolve()));
    await sim.close();
    await redis.stop();
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  test('a batch created on one gateway is seen and drained by both, one result per custom_id', async () => {
    const [a, b] = clients as [Anthropic, Anthropic];
    const reqs = requests('shared');
    const created = await a.messages.batches.create({ requests: reqs });
    const seen = await b.messages.batches.retrieve(created.id);
    assert.equal(seen.id, created.id);
    assert.equal(seen.request_counts.processing, TOTAL);
    const listed = await b.messages.batches.list({ limit: 5 });
    assert.equal(listed.data[0]?.id, created.id, 'the other gateway lists it first (newest)');

    const ended = await waitEnded(b, created.id, 15_000);
    assert.deepEqual(ended.request_counts, { processing: 0, succeeded: TOTAL, errored: 0, canceled: 0, expired: 0 });
    const results = await resultsOf(a, created.id);
    assert.deepEqual([...results.keys()].sort(), reqs.map((r) => r.custom_id));
    assert.ok([...results.values()].every((result) => result.type === 'succeeded'));

    const byA = countBy(answered, 'shared', 'a');
    const byB = countBy(answered, 'shared', 'b');
    console.log(`served by gateway a: ${byA}, by gateway b: ${byB}`);
    assert.ok(byA > 0 && byB > 0, `both gateways drained the batch (a ${byA}, b ${byB})`);
    assert.equal(byA + byB, TOTAL, 'each request answered upstream exactly once');
    assert.equal(countBy(sent, 'shared'), TOTAL, 'each request sent upstream exactly once');
  });

  test('a gateway dies mid-batch: the other finishes every request, nothing succeeded is sent again', async () => {
    const b = clients[1]!;
    const [gatewayA] = gateways as [RunningGateway, RunningGateway];
    const reqs = requests('crash');
    const created = await b.messages.batches.create({ requests: reqs });
    // Let both gateways get going, then kill A while it has requests running.
    const deadline = Date.now() + 10_000;
    while (countBy(answered, 'crash', 'a') < 10 || countBy(answered, 'crash') < TOTAL / 4) {
      assert.ok(Date.now() < deadline, 'the batch made no progress on both gateways');
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    const redisA = gatewayA.gateway.redis!;
    // The crash, as Redis sees it: A's connection drops, it records nothing more and stops
    // heartbeating, and its running requests stay marked as its own.
    redisA.client.disconnect();
    closedA = true;
    const stopping = gatewayA.close();

    const probe = new Redis(redis.url);
    try {
      const owners = await probe.hvals(`${PREFIX}batch:${created.id}:running`);
      assert.ok(owners.includes(redisA.replicaId), 'the dead gateway had requests running');
      const recorded = new Set(await probe.hkeys(`${PREFIX}batch:${created.id}:result`));
      const snapshotAt = Date.now();
      assert.ok(recorded.size > 0 && recorded.size < TOTAL, `${recorded.size} recorded as succeeded at the crash`);
      await stopping;

      const ended = await waitEnded(b, created.id, 15_000);
      assert.deepEqual(ended.request_counts, { processing: 0, succeeded: TOTAL, errored: 0, canceled: 0, expired: 0 });
      const results = await resultsOf(b, created.id);
      assert.deepEqual([...results.keys()].sort(), reqs.map((r) => r.custom_id));

      const resent = sent.filter((item) => item.at > snapshotAt && recorded.has(item.customId)).map((item) => item.customId);
      assert.deepEqual(resent, [], 'requests recorded as succeeded were sent upstream again');
      for (const id of recorded) assert.equal(answered.filter((item) => item.customId === id).length, 1, `${id} answered upstream once`);
      const twice = reqs.filter((r) => answered.filter((item) => item.customId === r.custom_id).length > 1).length;
      console.log(
        `recorded at the crash: ${recorded.size}; running on the dead gateway: ${owners.filter((owner) => owner === redisA.replicaId).length}; answered upstream twice (in flight at the crash): ${twice}`,
      );
    } finally {
      probe.disconnect();
    }
  });

  test('while Redis is unreachable the batch endpoints answer 503 overloaded_error, and recover', async () => {
    const b = clients[1]!;
    await redis.stop();
    const deadline = Date.now() + 5_000;
    let refused: InstanceType<typeof Anthropic.APIError> | undefined;
    while (!refused) {
      assert.ok(Date.now() < deadline, 'the batch endpoints kept answering without Redis');
      try {
        await b.messages.batches.list({ limit: 1 });
        await new Promise((resolve) => setTimeout(resolve, 20));
      } catch (error) {
        refused = error as InstanceType<typeof Anthropic.APIError>;
      }
    }
    assert.equal(refused.status, 503);
    assert.equal((refused.error as { error?: { type?: string } }).error?.type, 'overloaded_error');
    await redis.start();
    for (;;) {
      assert.ok(Date.now() < deadline + 5_000, 'the batch endpoints did not recover once Redis was back');
      try {
        const page = await b.messages.batches.list({ limit: 1 });
        assert.equal(page.data.length, 0, 'the restarted Redis (no persistence) is empty');
        break;
      } catch {
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    }
  });
});

/**
 * Two gateways sharing one Redis and one simulator, for the tests below: they start before and stop
 * after the tests of the describe block that calls this.
 */
function twoGateways(sim: Partial<SimOptions> & { keys: SimKey[] }, batchConcurrency: number, limits?: Limits) {
  const running = { redis: undefined as RedisServer | undefined, sim: undefined as Simulator | undefined, gateways: [] as RunningGateway[], clients: [] as Anthropic[] };
  const dirs: string[] = [];
  before(async () => {
    running.redis = await startRedis();
    running.sim = await startSimulator(sim);
    for (let i = 0; i < 2; i++) {
      const dataDir = mkdtempSync(join(tmpdir(), 'spillway-batches-two-'));
      dirs.push(dataDir);
      const gateway = await startGateway(
        {
          providers: { anthropic: { type: 'anthropic', base_url: running.sim.url, keys: sim.keys.map((k) => ({ id: k.id, key: k.key, limits: limits ?? k.limits })) } },
          routes: { '*': { targets: [{ provider: 'anthropic' }] } },
          data_dir: dataDir,
          usage: { enabled: false },
          batches: { concurrency: batchConcurrency },
          store: { type: 'redis', url: running.redis.url, prefix: 'batches-two:' },
        },
        { port: 0, quiet: true },
      );
      running.gateways.push(gateway);
      running.clients.push(new Anthropic({ baseURL: gateway.url, apiKey: 'client', maxRetries: 0 }));
    }
  });
  after(async () => {
    for (const gateway of running.gateways) await gateway.close();
    await running.sim?.close();
    await running.redis?.stop();
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });
  return running;
}

describe('batches in Redis: a cancel through one gateway reaches the others', { skip: skipWithoutRedis }, () => {
  // Two requests a second: each gateway claims 20 and most of them wait in its admission queue.
  const running = twoGateways({ keys: simKeys(1, { rpm: 120 }), window: 'second' }, 20);

  test('the other gateway withdraws its queued requests: the batch ends soon, and little more goes upstream', async () => {
    const [a, b] = running.clients as [Anthropic, Anthropic];
    const sim = running.sim!;
    const created = await a.messages.batches.create({ requests: requests('cancel').slice(0, 100) });
    // Both gateways have claimed their share and are sending at the key's pace.
    const deadline = Date.now() + 10_000;
    while (sim.stats().total.ok < 4) {
      assert.ok(Date.now() < deadline, 'the batch started');
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const canceled = await b.messages.batches.cancel(created.id);
    assert.equal(canceled.processing_status, 'canceling');
    const sentAtCancel = sim.stats().total.requests;
    // Gateway a's queued requests would take ~10 s at two a second; withdrawn, the batch ends at once.
    const ended = await waitEnded(a, created.id, 4000);
    const { succeeded, canceled: withdrawn } = ended.request_counts;
    assert.equal(succeeded + withdrawn, 100);
    assert.ok(withdrawn >= 80, `${withdrawn} canceled`);
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const sentAfter = sim.stats().total.requests - sentAtCancel;
    assert.ok(sentAfter <= 6, `${sentAfter} requests went upstream after the cancel`);
    assert.equal(sim.stats().total.ok, succeeded, 'every request sent upstream is in the results as succeeded');
  });
});

describe('batches in Redis: interactive requests on one gateway go before batch requests on another', { skip: skipWithoutRedis }, () => {
  // Four upstream requests at a time, 40 ms each: a free slot every 10 ms; 100 batch requests on
  // gateway b would take about a second to drain.
  const running = twoGateways({ keys: simKeys(1), latency: { ttftMs: 40 } }, 256, { rpm: 100_000, concurrency: 4 });

  test('while gateway b drains a batch, requests to gateway a wait a slot or two, not for the batch', async () => {
    const [a, b] = running.clients as [Anthropic, Anthropic];
    const batch = await b.messages.batches.create({ requests: requests('priority').slice(0, 100) });
    const deadline = Date.now() + 5000;
    while (running.sim!.stats().total.ok < 8) {
      assert.ok(Date.now() < deadline, 'the batch started');
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    const waits: number[] = [];
    for (let i = 0; i < 5; i++) {
      await new Promise((resolve) => setTimeout(resolve, 50)); // the slot this gateway freed is b's by now
      const { response } = await a.messages
        .create({ model: 'claude-sonnet-4-6', max_tokens: 16, messages: [{ role: 'user', content: `interactive ${i}` }] })
        .withResponse();
      waits.push(Number(response.headers.get('x-spillway-queue-ms')));
    }
    const during = await a.messages.batches.retrieve(batch.id);
    assert.equal(during.processing_status, 'in_progress', 'the batch was still draining');
    // Without the yield, b's own settles hand it most freed slots first, and a waits for the batch.
    for (const wait of waits) assert.ok(wait < 150, `interactive queue waits ${waits.join(', ')} ms`);
    await waitEnded(a, batch.id, 15_000);
  });
});
