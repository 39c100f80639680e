/**
 * What tenants share across replicas, against a real redis-server with a fake clock passed into
 * every call: two stores stand for two replicas.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { fleetTurn } from '../../src/quota/fair-share.js';
import { RedisBudgetLedger } from '../../src/store/redis-budget.js';
import { RedisTenantCeiling } from '../../src/store/redis-ceiling.js';
import { RedisFleetShare } from '../../src/store/redis-fleet-share.js';
import { RedisStore } from '../../src/store/redis-store.js';
import { skipWithoutRedis, startRedis, type RedisServer } from '../support/redis.js';

const T0 = Date.parse('2026-11-30T12:00:00Z');
const demand = { inputTokens: 100, outputTokens: 50 };
/** Takes and settles are sent without waiting, on each replica's own connection: let them land. */
const landed = () => new Promise((resolve) => setTimeout(resolve, 50));

describe('fleet fair share policy', () => {
  it('lets the least-served waiting tenant go, and others within the slack of it', () => {
    const service = new Map([
      ['a', 5],
      ['b', 4.5],
    ]);
    assert.equal(fleetTurn(service, 'b'), true);
    assert.equal(fleetTurn(service, 'a'), true, 'within one admission of weight 1');
    service.set('a', 5.6);
    assert.equal(fleetTurn(service, 'a'), false, 'ahead by more than the slack');
    assert.equal(fleetTurn(service, 'new'), true, 'a tenant the fleet does not know as waiting yet');
  });
});

describe('tenants shared across replicas (Redis, fake clock)', { skip: skipWithoutRedis }, () => {
  let redis: RedisServer;
  const stores: RedisStore[] = [];
  let n = 0;

  before(async () => {
    redis = await startRedis();
  });
  after(async () => {
    await Promise.all(stores.map((store) => store.close()));
    await redis.stop();
  });

  /** `count` replicas' connections sharing one key prefix. */
  function replicas(count: number): RedisStore[] {
    const prefix = `tenants-${process.pid}-${n++}:`;
    const out = Array.from({ length: count }, () => new RedisStore({ url: redis.url, prefix, heartbeatMs: 0, replicas: count, now: () => T0 }));
    stores.push(...out);
    return out;
  }

  it('a ceiling of 60 rpm is one bucket for the fleet: what one replica takes, the other waits for', async () => {
    const [one, two] = replicas(2);
    const a = new RedisTenantCeiling(one!, 'ci', { rpm: 60 });
    const b = new RedisTenantCeiling(two!, 'ci', { rpm: 60 });
    assert.equal(await a.waitFor(demand, T0), 0);
    a.take(demand, T0);
    await landed();
    const wait = await b.waitFor(demand, T0);
    assert.ok(wait > 900 && wait <= 1100, `one a second fleet-wide: waits ${wait} ms`);
    assert.equal(await b.waitFor(demand, T0 + 1100), 0, 'refilled for everyone');
    assert.deepEqual(
      b.headroom(T0 + 1100).map(({ dimension, limit }) => [dimension, limit]),
      [['rpm', 60]],
    );
    // Both take at once after checking at once: the debt delays the next one, so the rate holds.
    b.take(demand, T0 + 1100);
    a.take(demand, T0 + 1100);
    await landed();
    const afterDebt = await a.waitFor(demand, T0 + 1100);
    assert.ok(afterDebt > 1900, `two taken from a bucket of one: ${afterDebt} ms until the next`);
    a.close();
    b.close();
  });

  it('a refunded attempt gives its request and tokens back to the fleet\'s ceiling', async () => {
    const [one, two] = replicas(2);
    const a = new RedisTenantCeiling(one!, 'retrier', { rpm: 60, tpm: 600_000 });
    const b = new RedisTenantCeiling(two!, 'retrier', { rpm: 60, tpm: 600_000 });
    a.take(demand, T0);
    a.settle(demand, undefined, T0);
    a.refund(demand, T0);
    await landed();
    assert.equal(await b.waitFor(demand, T0), 0, 'the failed attempt no longer counts');
    a.close();
    b.close();
  });

  it('a concurrency ceiling frees its slot on settle, on any replica', async () => {
    const [one, two] = replicas(2);
    const a = new RedisTenantCeiling(one!, 'batchy', { concurrency: 1 });
    const b = new RedisTenantCeiling(two!, 'batchy', { concurrency: 1 });
    a.take(demand, T0);
    await landed();
    assert.ok((await b.waitFor(demand, T0)) > 0, 'the one slot is taken');
    a.settle(demand, { inputTokens: 90, outputTokens: 10 }, T0 + 10);
    await landed();
    assert.equal(await b.waitFor(demand, T0 + 10), 0);
    a.close();
    b.close();
  });

  it('new limits start a bucket of their own', async () => {
    const [one] = replicas(1);
    const a = new RedisTenantCeiling(one!, 'ci', { rpm: 60 });
    a.take(demand, T0);
    assert.ok((await a.waitFor(demand, T0)) > 0);
    a.setLimits({ rpm: 600 });
    assert.equal(await a.waitFor(demand, T0), 0);
    a.close();
  });

  it('a budget holds across replicas: concurrent holds cannot pass it, settles release them, the next day starts afresh', async () => {
    const [one, two, three] = replicas(3);
    const budget = { dailyUsd: 0.05, timeZone: 'UTC' };
    const ledgers = [one!, two!, three!].map((store) => new RedisBudgetLedger(store, 'small', budget));
    // 12 holds of 0.01 at once, 4 per replica: 5 fit under 0.05.
    const holds = await Promise.all(Array.from({ length: 12 }, (_, i) => ledgers[i % 3]!.reserve(0.01, T0)));
    const granted = holds.filter((hold) => hold.ok);
    assert.equal(granted.length, 5);
    const refused = holds.find((hold) => !hold.ok);
    assert.ok(refused && !refused.ok);
    assert.equal(refused.refusal.window, 'daily');
    assert.equal(refused.refusal.resetsAt, Date.parse('2026-12-01T00:00:00Z'));
    // They cost less than held: room comes back, on every replica.
    for (const [i, hold] of granted.entries()) if (hold.ok) ledgers[i % 3]!.settle(0.01, hold, 0.004, T0 + 1000);
    await landed();
    const again = await ledgers[2]!.reserve(0.01, T0 + 2000);
    assert.equal(again.ok, true, 'spent 0.02 of 0.05');
    await ledgers[0]!.refresh(); // as each heartbeat does
    const spent = ledgers[0]!.use(T0 + 2000)[0]!.spentUsd;
    assert.ok(Math.abs(spent - 0.02) < 1e-9, `spent ${spent}`);
    const nextDay = await ledgers[1]!.reserve(0.01, Date.parse('2026-12-01T00:00:01Z'));
    assert.equal(nextDay.ok, true);
    for (const ledger of ledgers) ledger.close();
  });

  it('a hold whose replica died is released after its ttl', async () => {
    const [one, two] = replicas(2);
    const budget = { dailyUsd: 0.01, timeZone: 'UTC' };
    const dead = new RedisBudgetLedger(one!, 'x', budget, 60_000);
    const alive = new RedisBudgetLedger(two!, 'x', budget, 60_000);
    assert.equal((await dead.reserve(0.02, T0)).ok, true);
    assert.equal((await alive.reserve(0.001, T0 + 1000)).ok, false, 'held in flight');
    assert.equal((await alive.reserve(0.001, T0 + 61_000)).ok, true, 'the dead replica\'s hold expired');
    dead.close();
    alive.close();
  });

  it('while Redis is unreachable, a replica paces a ceiling on its share and spends its share of the budget left; both are shared again when it returns', async () => {
    const own = await startRedis();
    const store = new RedisStore({ url: own.url, prefix: `tenants-outage-${process.pid}:`, heartbeatMs: 0, replicas: 3, now: () => T0, commandTimeoutMs: 200 });
    const ceiling = new RedisTenantCeiling(store, 'ci', { rpm: 60 });
    const ledger = new RedisBudgetLedger(store, 'ci', { dailyUsd: 0.3, timeZone: 'UTC' });
    try {
      const held = await ledger.reserve(0.1, T0);
      assert.ok(held.ok);
      ledger.settle(0.1, held, 0.06, T0);
      await landed();
      await ledger.refresh();
      await own.stop();
      // One third of 60 rpm: a burst of one, then one every 3 s.
      assert.equal(await ceiling.waitFor(demand, T0 + 1000), 0);
      assert.equal(store.degradedFor('tenant-ci'), true, 'the failed call marked Redis down');
      ceiling.take(demand, T0 + 1000);
      const wait = await ceiling.waitFor(demand, T0 + 1000);
      assert.ok(wait > 2500 && wait <= 3100, `its share of the ceiling: ${wait} ms`);
      // The fleet had spent 0.06 of 0.30: this replica's share is 0.08 of the 0.24 left.
      let granted = 0;
      for (let i = 0; i < 20; i++) {
        const hold = await ledger.reserve(0.01, T0 + 2000);
        if (!hold.ok) break;
        granted++;
        ledger.settle(0.01, hold, 0.01, T0 + 2000);
      }
      assert.equal(granted, 8);
      // Back (restarted empty, losing the 0.06): the spend made meanwhile reaches it, and the shared ledger counts it.
      await own.start();
      // The heartbeat is what ends the outage, once the connection is back.
      let up = false;
      for (let i = 0; i < 40 && !up; i++) {
        up = await store.heartbeat();
        if (!up) await landed();
      }
      assert.equal(up, true);
      await landed();
      await ledger.refresh();
      const spent = ledger.use(T0 + 3000)[0]!.spentUsd;
      assert.ok(Math.abs(spent - 0.08) < 1e-9, `the outage's 0.08 replayed: ${spent}`);
      assert.equal(store.degradedFor('tenant-ci'), false);
      assert.equal(await ceiling.waitFor(demand, T0 + 4000), 0, 'the shared bucket again (new, full)');
    } finally {
      ceiling.close();
      ledger.close();
      await store.close();
      await own.stop();
    }
  });

  it('weights hold across replicas: a weight-3 tenant on one replica, a weight-1 tenant on two others, get 3:1', async () => {
    const stores3 = replicas(3);
    const shares = stores3.map((store) => new RedisFleetShare(store, 'pool'));
    const heavy = { tenant: 'checkout', weight: 3 };
    const light = { tenant: 'ci', weight: 1 };
    // Each step, each replica with a waiting request may take one admission if its turn has come;
    // the pool admits 2 per step in all, taken in turn by whichever replicas may go.
    const who: Array<[RedisFleetShare, typeof heavy]> = [
      [shares[0]!, heavy],
      [shares[1]!, light],
      [shares[2]!, light],
    ];
    const admitted = { checkout: 0, ci: 0 };
    let now = T0;
    for (let step = 0; step < 200; step++) {
      now += 60;
      let room = 2;
      for (let k = 0; k < who.length && room > 0; k++) {
        const [share, tenant] = who[(step + k) % who.length]!;
        share.waiting(tenant, 'interactive', now);
        if (share.mayAdmit(tenant, 'interactive', now)) {
          share.admitted(tenant, 'interactive', now);
          admitted[tenant.tenant as 'checkout' | 'ci']++;
          room--;
        }
      }
      await new Promise((resolve) => setImmediate(resolve));
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
    const ratio = admitted.checkout / admitted.ci;
    assert.ok(ratio > 2.4 && ratio < 3.6, `checkout:ci = ${admitted.checkout}:${admitted.ci} (${ratio.toFixed(2)})`);
  });
});
