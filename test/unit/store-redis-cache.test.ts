/** The exact cache in Redis: entries round-trip as JSON, expire with their TTL, and an outage is a miss, never an error. */
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { anthropicEntry, type AnthropicMessage } from '../../src/cache/entry.js';
import { RedisCacheStore } from '../../src/store/redis-cache.js';
import { RedisStore } from '../../src/store/redis-store.js';
import { skipWithoutRedis, startRedis, type RedisServer } from '../support/redis.js';

const message: AnthropicMessage = {
  id: 'msg_1',
  type: 'message',
  role: 'assistant',
  model: 'claude-sonnet-4-6',
  content: [{ type: 'text', text: 'Hello — ünïcode too' }],
  stop_reason: 'end_turn',
  stop_sequence: null,
  usage: { input_tokens: 10, output_tokens: 3 },
};

describe('Redis exact-cache store', { skip: skipWithoutRedis }, () => {
  let redis: RedisServer;
  let store: RedisStore;
  let other: RedisStore;

  before(async () => {
    redis = await startRedis();
    store = new RedisStore({ url: redis.url, prefix: 'c:', heartbeatMs: 0, commandTimeoutMs: 200 });
    other = new RedisStore({ url: redis.url, prefix: 'c:', heartbeatMs: 0 });
  });
  after(async () => {
    await store.close();
    await other.close();
    await redis.stop();
  });

  it('an entry written by one replica is read by another, intact', async () => {
    const cache = new RedisCacheStore(store);
    const entry = anthropicEntry(message, 1_700_000_000_000);
    await cache.set('k1', entry);
    assert.deepEqual(await new RedisCacheStore(other).get('k1'), entry);
    assert.equal(await cache.get('missing'), undefined);
    await cache.delete('k1');
    assert.equal(await cache.get('k1'), undefined);
  });

  it('entries expire with their TTL', async () => {
    const cache = new RedisCacheStore(store);
    await cache.set('short', anthropicEntry(message, 0), 50);
    await cache.set('long', anthropicEntry(message, 0));
    assert.ok(await cache.get('short'));
    await sleep(120);
    assert.equal(await cache.get('short'), undefined);
    assert.ok(await cache.get('long'));
    assert.equal((await cache.refreshStats()).entries, 1);
    assert.equal(cache.stats().entries, 1);
  });

  it('with Redis down, reads miss and writes are dropped without an error', async () => {
    const cache = new RedisCacheStore(store);
    await redis.stop();
    assert.equal(await cache.get('long'), undefined);
    await cache.set('x', anthropicEntry(message, 0));
    assert.equal(store.degraded, true);
    await redis.start();
  });
});
