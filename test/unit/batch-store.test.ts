/**
 * The BatchStore contract, run against every implementation: SQLite (the default) and Redis (a
 * real redis-server; skipped with a message when none is installed).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { RedisBatchStore } from '../../src/batch/redis-store.js';
import { batchObject, emptyCounts, requestCounts, type BatchRecord } from '../../src/batch/shape.js';
import { SqliteBatchStore } from '../../src/batch/sqlite-store.js';
import type { BatchStore } from '../../src/batch/store.js';
import { RedisStore } from '../../src/store/redis-store.js';
import { skipWithoutRedis, startRedis, type RedisServer } from '../support/redis.js';

const dir = mkdtempSync(join(tmpdir(), 'spillway-batch-store-'));
after(() => rmSync(dir, { recursive: true, force: true }));

let redis: RedisServer | undefined;
before(async () => {
  if (!skipWithoutRedis) redis = await startRedis();
});
/** Every Redis connection the tests open, closed at the end even when a test failed halfway. */
const connections: RedisStore[] = [];
after(async () => {
  for (const connection of connections) await connection.close();
  await redis?.stop();
});

interface Implementation {
  name: string;
  skip: string | false;
  /**
   * A store over the namespace `ns` (a directory, a key prefix), as one process sees it: opening the
   * same namespace again is another process (a restart, another replica). `now` is that replica's clock.
   */
  open(ns: string, now?: () => number): Promise<BatchStore>;
}

const implementations: Implementation[] = [
  { name: 'sqlite', skip: false, open: async (ns) => new SqliteBatchStore(join(dir, ns)) },
  {
    name: 'redis',
    skip: skipWithoutRedis,
    async open(ns, now) {
      // No heartbeat timer: one heartbeat registers the replica, as the first tick of a gateway would.
      const store = new RedisStore({ url: redis!.url, prefix: `${ns}:`, heartbeatMs: 0, now });
      connections.push(store);
      await store.heartbeat();
      return new RedisBatchStore(store, { now });
    },
  },
];

/** `owner` '' is open mode, what every batch had before owners existed. */
function batch(id: string, total: number, now = 1_000, owner = ''): Omit<BatchRecord, 'seq'> {
  return {
    id,
    owner,
    processingStatus: 'in_progress',
    total,
    createdAt: now,
    expiresAt: now + 86_400_000,
    endedAt: null,
    cancelInitiatedAt: null,
    webhookUrl: null,
    webhookSentAt: null,
    headers: { 'anthropic-version': '2023-06-01' },
  };
}

const reqs = (n: number) => Array.from({ length: n }, (_, i) => ({ customId: `r${i}`, params: `{"i":${i}}` }));

test('request_counts stay in processing until the whole batch ends', () => {
  const states = { ...emptyCounts(), succeeded: 3, running: 1, pending: 1 };
  assert.deepEqual(requestCounts({ processingStatus: 'in_progress', total: 5 }, states), { processing: 5, succeeded: 0, errored: 0, canceled: 0, expired: 0 });
  const ended = { ...emptyCounts(), succeeded: 3, errored: 1, canceled: 1 };
  assert.deepEqual(requestCounts({ processingStatus: 'ended', total: 5 }, ended), { processing: 0, succeeded: 3, errored: 1, canceled: 1, expired: 0 });
  const object = batchObject({ ...batch('msgbatch_x', 5), seq: 1, processingStatus: 'ended', endedAt: 2_000 }, ended, 'http://h:1');
  assert.equal(object.results_url, 'http://h:1/v1/messages/batches/msgbatch_x/results');
  assert.equal(object.ended_at, new Date(2_000).toISOString());
});

for (const impl of implementations) {
  describe(`batch store: ${impl.name}`, { skip: impl.skip }, () => {
    test('claim, complete, crash recovery: running goes back to pending, succeeded never does', async () => {
      let store = await impl.open(`${impl.name}-a`);
      await store.createBatch(batch('b1', 4), reqs(4));
      const claimed = await store.claim(3);
      assert.deepEqual(claimed.map((c) => c.customId), ['r0', 'r1', 'r2']);
      assert.equal(await store.complete('b1', 'r0', 'succeeded', '{"type":"succeeded"}', 5), false);
      await store.close();

      // A new process on the same file: r1 and r2 were running, r0 had succeeded.
      store = await impl.open(`${impl.name}-a`);
      assert.equal(await store.requeueRunning(), 2);
      const again = await store.claim(10);
      assert.deepEqual(again.map((c) => c.customId).sort(), ['r1', 'r2', 'r3']);
      assert.equal(await store.complete('b1', 'r1', 'errored', '{"type":"errored"}', 6), false);
      assert.equal(await store.complete('b1', 'r2', 'succeeded', '{"type":"succeeded"}', 7), false);
      assert.equal(await store.complete('b1', 'r3', 'succeeded', '{"type":"succeeded"}', 8), true, 'the last answer ends the batch');
      const ended = (await store.getBatch('b1'))!;
      assert.equal(ended.processingStatus, 'ended');
      assert.equal(ended.endedAt, 8);
      const lines = [];
      for await (const line of store.results('b1')) lines.push(line.customId);
      assert.deepEqual(lines, ['r0', 'r1', 'r2', 'r3']);
      await store.close();
  });

    test('cancel: pending become canceled, running finish, then the batch ends', async () => {
      const store = await impl.open(`${impl.name}-b`);
      await store.createBatch(batch('b2', 3), reqs(3));
      await store.claim(1);
      assert.equal(await store.cancel('b2', 10), false, 'r0 is still running');
      assert.equal((await store.getBatch('b2'))!.processingStatus, 'canceling');
      assert.deepEqual(await store.claim(10), [], 'nothing is claimed from a canceling batch');
      assert.equal(await store.complete('b2', 'r0', 'succeeded', '{}', 11), true);
      const counts = await store.stateCounts('b2');
      assert.equal(counts.canceled, 2);
      assert.equal(counts.succeeded, 1);
      await store.close();
  });

    test('list pages newest first in both directions', async () => {
      const store = await impl.open(`${impl.name}-c`);
      for (const id of ['x1', 'x2', 'x3', 'x4']) await store.createBatch(batch(id, 1), reqs(1));
      const first = await store.listBatches({ owner: '', limit: 2 });
      assert.deepEqual(first.batches.map((b) => b.id), ['x4', 'x3']);
      assert.equal(first.hasMore, true);
      const next = await store.listBatches({ owner: '', limit: 2, afterId: 'x3' });
      assert.deepEqual(next.batches.map((b) => b.id), ['x2', 'x1']);
      assert.equal(next.hasMore, false);
      const back = await store.listBatches({ owner: '', limit: 1, beforeId: 'x2' });
      assert.deepEqual(back.batches.map((b) => b.id), ['x3']);
      await store.close();
  });
    test('each owner lists and pages through only its own batches; deleting one leaves the others listed', async () => {
      const store = await impl.open(`${impl.name}-h`);
      // Interleaved, so every page boundary of one owner falls between batches of the other.
      const created: Array<[string, string]> = [['a1', 'alice'], ['b1', 'bob'], ['a2', 'alice'], ['b2', 'bob'], ['a3', 'alice'], ['a4', 'alice'], ['b3', 'bob']];
      for (const [id, owner] of created) await store.createBatch(batch(id, 1, 1_000, owner), reqs(1));
      const list = async (owner: string, options: { limit: number; afterId?: string; beforeId?: string }) => {
        const { batches, hasMore } = await store.listBatches({ owner, ...options });
        return { ids: batches.map((b) => b.id), hasMore };
      };

      assert.equal((await store.getBatch('b1'))!.owner, 'bob', 'the owner is stored with the batch');
      assert.deepEqual(await list('alice', { limit: 2 }), { ids: ['a4', 'a3'], hasMore: true });
      assert.deepEqual(await list('alice', { limit: 2, afterId: 'a3' }), { ids: ['a2', 'a1'], hasMore: false });
      assert.deepEqual(await list('alice', { limit: 1, beforeId: 'a2' }), { ids: ['a3'], hasMore: true });
      assert.deepEqual(await list('alice', { limit: 5, beforeId: 'a1' }), { ids: ['a4', 'a3', 'a2'], hasMore: false });
      assert.deepEqual(await list('bob', { limit: 10 }), { ids: ['b3', 'b2', 'b1'], hasMore: false });
      assert.deepEqual(await list('', { limit: 10 }), { ids: [], hasMore: false }, 'open mode sees no client\'s batches');

      // Another owner's id pages exactly like a made-up one: where it sits does not show.
      assert.deepEqual(await list('alice', { limit: 2, afterId: 'b2' }), await list('alice', { limit: 2, afterId: 'msgbatch_nope' }));
      assert.deepEqual(await list('alice', { limit: 2, beforeId: 'b1' }), await list('alice', { limit: 2, beforeId: 'msgbatch_nope' }));

      assert.equal(await store.deleteBatch('a3'), true);
      assert.equal(await store.deleteBatch('a3'), false, 'gone');
      assert.equal(await store.getBatch('a3'), undefined);
      assert.deepEqual(await list('alice', { limit: 10 }), { ids: ['a4', 'a2', 'a1'], hasMore: false });
      assert.deepEqual(await list('bob', { limit: 10 }), { ids: ['b3', 'b2', 'b1'], hasMore: false });
      await store.close();

      // Another process on the same store: owners survive the restart.
      const reopened = await impl.open(`${impl.name}-h`);
      assert.equal((await reopened.getBatch('a4'))!.owner, 'alice');
      assert.deepEqual((await reopened.listBatches({ owner: 'bob', limit: 1 })).batches.map((b) => b.id), ['b3']);
      await reopened.close();
    });

    test('complete is idempotent: a second answer for a succeeded request changes nothing', async () => {
      const store = await impl.open(`${impl.name}-d`);
      await store.createBatch(batch('b4', 2), reqs(2));
      await store.claim(2);
      assert.equal(await store.complete('b4', 'r0', 'succeeded', '{"first":true}', 5), false);
      assert.equal(await store.complete('b4', 'r0', 'errored', '{"second":true}', 6), false);
      assert.equal(await store.complete('b4', 'r1', 'succeeded', '{}', 7), true);
      assert.equal(await store.complete('b4', 'r1', 'succeeded', '{"again":true}', 8), false, 'the batch ends once');
      const counts = await store.stateCounts('b4');
      assert.deepEqual(counts, { ...emptyCounts(), succeeded: 2 });
      const results = [];
      for await (const line of store.results('b4')) results.push(line.result);
      assert.deepEqual(results, ['{"first":true}', '{}']);
      await store.close();
    });

    test('two replicas claiming at once never get the same request; results keep submission order', async () => {
      const one = await impl.open(`${impl.name}-e`);
      const two = await impl.open(`${impl.name}-e`);
      await one.createBatch(batch('b5', 2500), reqs(2500));
      const seen = new Set<string>();
      for (let round = 0; round < 40; round++) {
        const [a, b] = await Promise.all([one.claim(37), two.claim(41)]);
        for (const claimed of [...a, ...b]) {
          assert.ok(!seen.has(claimed.customId), `${claimed.customId} claimed twice`);
          seen.add(claimed.customId);
          await (claimed.customId.length % 2 ? one : two).complete('b5', claimed.customId, 'succeeded', `"${claimed.customId}"`, 9);
        }
      }
      assert.equal(seen.size, 2500);
      assert.equal((await two.getBatch('b5'))!.processingStatus, 'ended');
      const order = [];
      for await (const line of one.results('b5')) order.push(line.customId);
      assert.deepEqual(order, reqs(2500).map((r) => r.customId));
      await one.close();
      await two.close();
    });

    test('expire: pending requests of a batch past its expiry become expired', async () => {
      const store = await impl.open(`${impl.name}-f`);
      await store.createBatch(batch('b6', 3, 1_000), reqs(3));
      await store.claim(1);
      assert.deepEqual(await store.expire(1_000 + 86_400_000), [], 'r0 is still running');
      assert.equal(await store.complete('b6', 'r0', 'succeeded', '{}', 90_000_000), true);
      const counts = await store.stateCounts('b6');
      assert.equal(counts.expired, 2);
      const results = [];
      for await (const line of store.results('b6')) results.push(JSON.parse(line.result) as unknown);
      assert.deepEqual(results, [{}, { type: 'expired' }, { type: 'expired' }]);
      await store.close();
    });

    test('a request released into a batch being canceled is canceled', async () => {
      const store = await impl.open(`${impl.name}-g`);
      await store.createBatch(batch('b7', 2), reqs(2));
      await store.claim(2);
      await store.cancel('b7', 10);
      await store.release('b7', 'r0');
      await store.complete('b7', 'r1', 'succeeded', '{}', 11);
      const ended = (await store.getBatch('b7'))!;
      assert.equal(ended.processingStatus, 'ended');
      assert.deepEqual(await store.stateCounts('b7'), { ...emptyCounts(), canceled: 1, succeeded: 1 });
      await store.close();
    });
  });
}

describe('batch store: redis, several replicas', { skip: skipWithoutRedis }, () => {
  /** A replica with its own clock, heartbeating only when told to (as if its timer ticked). */
  async function replica(clock: { offset: number }) {
    const now = () => Date.now() + clock.offset;
    const redisStore = new RedisStore({ url: redis!.url, prefix: 'replicas:', heartbeatMs: 0, now });
    connections.push(redisStore);
    await redisStore.heartbeat();
    return { redisStore, store: new RedisBatchStore(redisStore, { now }) };
  }

  test('requeueRunning takes back only the requests of replicas whose heartbeat lapsed', async () => {
    const clock = { offset: 0 };
    const dying = await replica(clock);
    const survivor = await replica(clock);
    try {
      await dying.store.createBatch(batch('b8', 3), reqs(3));
      assert.equal((await dying.store.claim(2)).length, 2);
      // Both alive: neither takes the other's running requests.
      assert.equal(await survivor.store.requeueRunning(), 0);
      assert.deepEqual((await survivor.store.claim(10)).map((c) => c.customId), ['r2']);
      assert.equal(await dying.store.requeueRunning(), 0);

      // Ten seconds on, only the survivor kept heartbeating: the other's two requests go back, the survivor's stays.
      clock.offset = 10_000;
      await survivor.redisStore.heartbeat();
      assert.equal(await survivor.store.requeueRunning(), 2);
      assert.deepEqual((await survivor.store.claim(10)).map((c) => c.customId), ['r0', 'r1']);
      assert.deepEqual(await survivor.store.stateCounts('b8'), { ...emptyCounts(), running: 3 });

      // The presumed-dead replica answers after all: recorded once; the survivor's answer then changes nothing.
      assert.equal(await dying.store.complete('b8', 'r0', 'succeeded', '"late"', 20), false);
      assert.equal(await survivor.store.complete('b8', 'r0', 'succeeded', '"again"', 21), false);
      assert.equal(await survivor.store.complete('b8', 'r1', 'succeeded', '"r1"', 22), false);
      assert.equal(await survivor.store.complete('b8', 'r2', 'succeeded', '"r2"', 23), true);
      const results = [];
      for await (const line of survivor.store.results('b8')) results.push(line.result);
      assert.deepEqual(results, ['"late"', '"r1"', '"r2"']);
    } finally {
      await dying.store.close();
      await survivor.store.close();
    }
  });
});

describe('batch store: redis, after an upgrade', { skip: skipWithoutRedis }, () => {
  test('batches stored before owners existed are listed in open mode', async () => {
    const redisStore = new RedisStore({ url: redis!.url, prefix: 'upgrade:', heartbeatMs: 0 });
    connections.push(redisStore);
    const previous = new RedisBatchStore(redisStore);
    await previous.createBatch(batch('old1', 1), reqs(1));
    await previous.createBatch(batch('old2', 1), reqs(1));
    // What the previous version left: batch hashes without an owner, and no per-owner index.
    for (const id of ['old1', 'old2']) await redisStore.client.hdel(redisStore.key('batch', id), 'owner');
    await redisStore.client.del(redisStore.key('batches', 'owner', ''));

    const store = new RedisBatchStore(redisStore);
    assert.equal((await store.getBatch('old1'))!.owner, '');
    assert.deepEqual((await store.listBatches({ owner: '', limit: 10 })).batches.map((b) => b.id), ['old2', 'old1']);
    await store.createBatch(batch('new1', 1, 1_000, 'alice'), reqs(1));
    assert.deepEqual((await store.listBatches({ owner: 'alice', limit: 10 })).batches.map((b) => b.id), ['new1']);
    assert.equal(await store.deleteBatch('old1'), true);
    assert.deepEqual((await store.listBatches({ owner: '', limit: 10 })).batches.map((b) => b.id), ['old2']);
  });
});
