import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { batchObject, emptyCounts, requestCounts, type BatchRecord } from '../../src/batch/shape.js';
import { SqliteBatchStore } from '../../src/batch/sqlite-store.js';

const dir = mkdtempSync(join(tmpdir(), 'spillway-batch-store-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function batch(id: string, total: number, now = 1_000): Omit<BatchRecord, 'seq'> {
  return {
    id,
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

test('claim, complete, crash recovery: running goes back to pending, succeeded never does', async () => {
  const path = join(dir, 'a');
  let store = new SqliteBatchStore(path);
  await store.createBatch(batch('b1', 4), reqs(4));
  const claimed = await store.claim(3);
  assert.deepEqual(claimed.map((c) => c.customId), ['r0', 'r1', 'r2']);
  assert.equal(await store.complete('b1', 'r0', 'succeeded', '{"type":"succeeded"}', 5), false);
  await store.close();

  // A new process on the same file: r1 and r2 were running, r0 had succeeded.
  store = new SqliteBatchStore(path);
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
  const store = new SqliteBatchStore(join(dir, 'b'));
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
  const store = new SqliteBatchStore(join(dir, 'c'));
  for (const id of ['x1', 'x2', 'x3', 'x4']) await store.createBatch(batch(id, 1), reqs(1));
  const first = await store.listBatches({ limit: 2 });
  assert.deepEqual(first.batches.map((b) => b.id), ['x4', 'x3']);
  assert.equal(first.hasMore, true);
  const next = await store.listBatches({ limit: 2, afterId: 'x3' });
  assert.deepEqual(next.batches.map((b) => b.id), ['x2', 'x1']);
  assert.equal(next.hasMore, false);
  const back = await store.listBatches({ limit: 1, beforeId: 'x2' });
  assert.deepEqual(back.batches.map((b) => b.id), ['x3']);
  await store.close();
});
