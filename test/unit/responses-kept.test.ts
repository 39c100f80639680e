/**
 * Kept responses (previous_response_id, GET/DELETE /v1/responses/{id}) in each store: found by
 * their owner only, gone after their TTL or a delete, and (SQLite) still there after a restart.
 */
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { MemoryResponseKeeper, type KeptResponse, type ResponseKeeper } from '../../src/surfaces/openai-responses/kept.js';
import { RedisResponseKeeper } from '../../src/store/responses-redis.js';
import { SqliteResponseKeeper } from '../../src/store/responses-sqlite.js';
import { RedisStore } from '../../src/store/redis-store.js';
import { skipWithoutRedis, startRedis, type RedisServer } from '../support/redis.js';

const TTL = 60_000;

function kept(id: string, owner: string): KeptResponse {
  return {
    owner,
    response: { id, object: 'response', created_at: 1, status: 'completed', error: null, incomplete_details: null, model: 'm', output: [], usage: null },
    items: [{ type: 'message', role: 'user', content: 'Hi' }],
  };
}

/** The same promises from every keeper; `expires` says whether this one judges expiry by the given clock. */
function behaves(name: string, open: () => ResponseKeeper, expires = true): void {
  it(`${name}: a kept response is found by its owner only, and not after a delete`, async () => {
    const keeper = open();
    await keeper.put(kept('resp_a', 'alice'), 1000);
    assert.deepEqual((await keeper.get('resp_a', 'alice', 1001))?.items, [{ type: 'message', role: 'user', content: 'Hi' }]);
    assert.equal(await keeper.get('resp_a', 'bob', 1001), undefined, "another client's response is not found");
    assert.equal(await keeper.delete('resp_a', 'bob', 1001), false, "nor deleted by it");
    assert.equal(await keeper.delete('resp_a', 'alice', 1001), true);
    assert.equal(await keeper.get('resp_a', 'alice', 1002), undefined);
    assert.equal(await keeper.delete('resp_a', 'alice', 1002), false);
    await keeper.close?.();
  });
  if (expires) {
    it(`${name}: a response is gone once its TTL has passed`, async () => {
      const keeper = open();
      await keeper.put(kept('resp_b', ''), 1000);
      assert.ok(await keeper.get('resp_b', '', 1000 + TTL - 1));
      assert.equal(await keeper.get('resp_b', '', 1000 + TTL), undefined);
      await keeper.close?.();
    });
  }
}

describe('kept responses', () => {
  behaves('memory', () => new MemoryResponseKeeper(TTL));
  const dir = mkdtempSync(join(tmpdir(), 'spillway-responses-'));
  behaves('SQLite', () => new SqliteResponseKeeper(dir, TTL));

  it('SQLite: a kept response outlives a restart', async () => {
    const first = new SqliteResponseKeeper(dir, TTL);
    await first.put(kept('resp_c', 'alice'), 1000);
    first.close();
    const second = new SqliteResponseKeeper(dir, TTL);
    assert.equal((await second.get('resp_c', 'alice', 2000))?.response.id, 'resp_c');
    second.close();
  });
});

describe('kept responses in Redis', { skip: skipWithoutRedis }, () => {
  let redis: RedisServer;
  let store: RedisStore;
  before(async () => {
    redis = await startRedis();
    store = new RedisStore({ url: redis.url, prefix: 'r:', heartbeatMs: 0 });
    store.retain(); // the test's own hold: a keeper closing lets go of its hold only
  });
  after(async () => {
    await store.close();
    await redis.stop();
  });
  // Redis expires keys by its own clock; the TTL is checked as the key's PTTL instead.
  behaves('Redis', () => new RedisResponseKeeper(store, TTL), false);

  it('Redis: a kept response carries its TTL', async () => {
    const keeper = new RedisResponseKeeper(store, TTL);
    await keeper.put(kept('resp_d', ''));
    const ttl = await store.client.pttl(store.key('response', 'resp_d'));
    assert.ok(ttl > TTL - 5000 && ttl <= TTL, `PTTL ${ttl}`);
  });
});
