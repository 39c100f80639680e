/**
 * Issue 18: captured prompts and shadow pairs are bounded. The same contract for every store:
 * SQLite beside the usage log, and Redis (a real redis-server, skipped with a message when none
 * is installed): at most the cap per route, newest kept; nothing past the TTL; routes apart.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { CaptureBounds, CapturedPrompt, PromptStore } from '../../src/routing/prompt-capture.js';
import type { ShadowPair } from '../../src/routing/shadow-report.js';
import { RedisPrompts } from '../../src/store/redis-prompts.js';
import { RedisShadowPairs } from '../../src/store/redis-shadow.js';
import { RedisStore } from '../../src/store/redis-store.js';
import { SqlitePrompts } from '../../src/store/sqlite-prompts.js';
import { skipWithoutRedis, startRedis, type RedisServer } from '../support/redis.js';

let redis: RedisServer | undefined;
const connections: RedisStore[] = [];
const dirs: string[] = [];
before(async () => {
  if (!skipWithoutRedis) redis = await startRedis();
});
after(async () => {
  for (const connection of connections) await connection.close();
  await redis?.stop();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function prompt(route: string, i: number, at = Date.now()): CapturedPrompt {
  return {
    route,
    at: at + i,
    requestId: `${route}-${i}`,
    surface: 'anthropic',
    body: JSON.stringify({ model: 'm', max_tokens: 8, messages: [{ role: 'user', content: `question ${i}` }] }),
    answer: { provider: 'anthropic', model: 'm', latencyMs: 10, costUsd: 0.001, said: { text: `answer ${i}`, tools: [] } },
  };
}

function redisStore(): RedisStore {
  const store = new RedisStore({ url: redis!.url, prefix: `capture-${randomUUID()}:`, heartbeatMs: 0 });
  connections.push(store);
  return store;
}

const stores: Array<{ name: string; skip: string | false; open: (bounds: CaptureBounds) => PromptStore }> = [
  {
    name: 'sqlite',
    skip: false,
    open: (bounds) => {
      const dir = mkdtempSync(join(tmpdir(), 'spillway-capture-'));
      dirs.push(dir);
      return new SqlitePrompts(dir, bounds);
    },
  },
  { name: 'redis', skip: skipWithoutRedis, open: (bounds) => new RedisPrompts(redisStore(), bounds) },
];

for (const kind of stores) {
  describe(`captured prompts in ${kind.name}`, { skip: kind.skip }, () => {
    it('keeps at most max_prompts per route, the newest, each route apart', async () => {
      const store = kind.open({ maxBytes: 10_000, ttlMs: 60_000, maxPrompts: 3 });
      for (let i = 0; i < 5; i++) store.add(prompt('a', i));
      store.add(prompt('b', 0));
      const kept = await store.list('a', 0, 100);
      assert.deepEqual(
        kept.map((p) => p.requestId),
        ['a-4', 'a-3', 'a-2'],
      );
      assert.deepEqual(kept[0], prompt('a', 4, kept[0]!.at - 4), 'read back as written');
      // The cap is applied when written: later writes trim too.
      store.add(prompt('a', 5));
      assert.equal((await store.list('a', 0, 100)).length, 3);
      assert.equal((await store.list(undefined, 0, 100)).length, 4, 'every route: 3 of a, 1 of b');
      await store.close();
    });

    it('keeps nothing past the TTL', async () => {
      const store = kind.open({ maxBytes: 10_000, ttlMs: 300, maxPrompts: 100 });
      store.add(prompt('a', 0));
      assert.equal((await store.list('a', 0, 100)).length, 1);
      await sleep(400);
      store.add(prompt('a', 1));
      assert.deepEqual(
        (await store.list('a', 0, 100)).map((p) => p.requestId),
        ['a-1'],
      );
      await store.close();
    });
  });
}

describe('shadow pairs in redis', { skip: skipWithoutRedis }, () => {
  it('bounded per route by count, readable from another connection', async () => {
    const store = redisStore();
    const writer = new RedisShadowPairs(store, { cap: 4, ttlMs: 60_000 });
    const pair = (i: number): ShadowPair => ({
      route: 'r',
      at: Date.now() + i,
      requestId: `p${i}`,
      primary: { provider: 'a', model: 'm', latencyMs: 1, costUsd: undefined, text: 'x'.repeat(2000) },
      candidate: { provider: 'b', model: 'n', latencyMs: 2, costUsd: 0.1, text: 'y' },
      score: { exact: false, similarity: 0, sameTools: true, sameJsonShape: undefined, agree: false },
    });
    for (let i = 0; i < 6; i++) writer.add(pair(i));
    await writer.close();
    const other = new RedisStore({ url: redis!.url, prefix: store.key(''), heartbeatMs: 0 });
    connections.push(other);
    const read = await new RedisShadowPairs(other).list('r', 0, 100);
    assert.deepEqual(
      read.map((p) => p.requestId),
      ['p5', 'p4', 'p3', 'p2'],
    );
    assert.equal(read[0]!.primary.text.length, 500, 'answer texts are cut when stored');
  });
});
