import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { admissionPool, ConnectionSlots } from '../../src/quota/connections.js';
import { KeyPool } from '../../src/quota/pool.js';
import { AdmissionQueue, type Clock } from '../../src/quota/queue.js';
import { small, T0 } from '../support/quota.js';

/** Time stands still: only a settle can end the wait for a connection. */
const stillClock: Clock = { now: () => T0, setTimeout: () => 0, clearTimeout: () => {} };

describe('connection slots at admission', () => {
  it('a request beyond the connections waits in the queue until a settle frees one, within its deadline', async () => {
    const pool = new KeyPool('p', [{ id: 'a', limits: { rpm: 600_000 } }]);
    const slots = new ConnectionSlots(2);
    const queue = new AdmissionQueue({ maxDepth: 10, clock: stillClock });
    const candidates = () => [{ pool: admissionPool(pool, slots, new Set()), demand: small }];
    const first = await queue.admit(candidates(), { priority: 'interactive', deadline: T0 + 1000 });
    await queue.admit(candidates(), { priority: 'interactive', deadline: T0 + 1000 });
    assert.equal(slots.inUse, 2);
    let third = false;
    const waiting = queue.admit(candidates(), { priority: 'interactive', deadline: T0 + 1000 }).then(() => (third = true));
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(third, false, 'no connection free: it waits');
    assert.equal(queue.depth, 1, 'and the queue sees it');
    slots.release();
    pool.settle(first.reservation, { inputTokens: 10, outputTokens: 10 }, T0);
    queue.notify();
    await waiting;
    assert.equal(slots.inUse, 2);
  });

  it('a request that cannot get a connection before its deadline is refused at once', async () => {
    const pool = new KeyPool('p', [{ id: 'a', limits: { rpm: 600_000 } }]);
    const slots = new ConnectionSlots(1);
    const queue = new AdmissionQueue({ maxDepth: 10, clock: stillClock });
    const candidates = () => [{ pool: admissionPool(pool, slots, new Set()), demand: small }];
    await queue.admit(candidates(), { priority: 'interactive', deadline: T0 });
    await assert.rejects(queue.admit(candidates(), { priority: 'interactive', deadline: T0 }), { reason: 'deadline' });
    assert.equal(slots.inUse, 1, 'a refused admission holds no slot');
  });

  it('keys that refused the request are passed over, and a pool with none left is unavailable', async () => {
    const pool = new KeyPool('p', [{ id: 'a', limits: { rpm: 600_000 } }, { id: 'b', limits: { rpm: 600_000 } }]);
    const slots = new ConnectionSlots(10);
    const queue = new AdmissionQueue({ maxDepth: 10, clock: stillClock });
    const admitted = await queue.admit([{ pool: admissionPool(pool, slots, new Set(['a'])), demand: small }], { priority: 'interactive', deadline: T0 + 1000 });
    assert.equal(admitted.reservation.keyId, 'b');
    await assert.rejects(queue.admit([{ pool: admissionPool(pool, slots, new Set(['a', 'b'])), demand: small }], { priority: 'interactive', deadline: T0 + 1000 }), {
      reason: 'unavailable',
    });
    assert.equal(slots.inUse, 1);
  });
});
