/**
 * The Redis-backed key pool against a real redis-server, with a fake clock passed into every call:
 * the Lua admission must behave exactly like the in-process KeyPool, across replicas.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Limits } from '../../src/config/schema.js';
import { DELIVERY_JITTER_MS } from '../../src/quota/policy.js';
import { KeyPool } from '../../src/quota/pool.js';
import type { QuotaPool, Reservation } from '../../src/quota/types.js';
import { reserved, small, T0, waitOf } from '../support/quota.js';
import { RedisKeyPool } from '../../src/store/redis-pool.js';
import { RedisStore } from '../../src/store/redis-store.js';
import { skipWithoutRedis, startRedis, type RedisServer } from '../support/redis.js';


describe('Redis key pool (Lua admission, fake clock)', { skip: skipWithoutRedis }, () => {
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

  /** A store (one replica's connection) with its own key prefix per test. */
  function store(prefix: string, replicas?: number): RedisStore {
    const s = new RedisStore({ url: redis.url, prefix, heartbeatMs: 0, replicas });
    stores.push(s);
    return s;
  }

  const prefixes = new WeakMap<RedisKeyPool, string>();
  const prefixOf = (p: RedisKeyPool) => prefixes.get(p)!;

  function pool(keys: Array<{ id: string; limits: Limits }>, ttlMs?: number): { pool: RedisKeyPool; prefix: string } {
    const prefix = `t${n++}:`;
    const p = new RedisKeyPool('p', keys, store(prefix), { reservationTtlMs: ttlMs });
    prefixes.set(p, prefix);
    return { pool: p, prefix };
  }

  it('a cooled-down key takes nothing until its time; the miss is counted and shared', async () => {
    const { pool: p, prefix } = pool([
      { id: 'a', limits: { rpm: 6000 } },
      { id: 'b', limits: { rpm: 60 } },
    ]);
    await p.coolDown('a', T0 + 5000);
    assert.equal(reserved(await p.tryReserve(small, T0)).keyId, 'b');
    assert.equal(waitOf(await p.tryReserve(small, T0)), 1000 + DELIVERY_JITTER_MS, 'b refills first');
    assert.equal(reserved(await p.tryReserve(small, T0 + 5000)).keyId, 'a');
    const other = new RedisKeyPool('p', [{ id: 'a', limits: { rpm: 6000 } }, { id: 'b', limits: { rpm: 60 } }], store(prefix));
    await other.refresh();
    assert.equal(other.snapshot(T0 + 1).find((k) => k.id === 'a')?.predictionMisses, 1);
    assert.equal(other.snapshot(T0 + 1).find((k) => k.id === 'a')?.coolingUntil, T0 + 5000);
  });

  it('a refused key rests (no admission) and is probed at once, then after 30 s, 60 s … 10 min, until enabled', async () => {
    const { pool: p } = pool([{ id: 'a', limits: { rpm: 60 } }, { id: 'b', limits: { rpm: 60 } }]);
    assert.equal(await p.rest('a', 'the provider answered 401', T0), true);
    assert.equal(await p.rest('a', 'the provider answered 401', T0 + 1), false, 'counted once');
    assert.equal(reserved(await p.tryReserve(small, T0)).keyId, 'b');
    assert.equal(waitOf(await p.tryReserve(small, T0, 'interactive', new Set(['b']))), Infinity);
    await p.refresh();
    assert.equal(p.snapshot(T0)[0]?.disabledReason, 'the provider answered 401');
    assert.equal(p.snapshot(T0)[0]?.healthy, false);
    // The schedule, claimed by whoever asks first (another replica here).
    const other = new RedisKeyPool('p', [{ id: 'a', limits: { rpm: 60 } }, { id: 'b', limits: { rpm: 60 } }], store(prefixOf(p)));
    const claims: number[] = [];
    for (let t = T0; t <= T0 + 3_600_000; t += 1000) {
      if (await (claims.length % 2 ? p : other).claimProbe('a', t)) claims.push(t - T0);
    }
    assert.deepEqual(claims.slice(0, 8), [0, 30_000, 90_000, 210_000, 450_000, 930_000, 1_530_000, 2_130_000]);
    assert.equal(await other.enable('a'), true);
    assert.equal(await p.enable('a'), false, 'back once');
    assert.equal(await p.claimProbe('a', T0 + 4_000_000), false, 'nothing to probe in service');
    await p.refresh();
    assert.equal(p.snapshot(T0)[0]?.healthy, true);
    reserved(await p.tryReserve(small, T0 + 2000, 'interactive', new Set(['b'])));
  });

  it('two replicas share one set of buckets', async () => {
    const { pool: one, prefix } = pool([{ id: 'a', limits: { rpm: 120 } }]);
    const two = new RedisKeyPool('p', [{ id: 'a', limits: { rpm: 120 } }], store(prefix));
    // A burst of 2 (one second of 120 rpm); the first take from the full bucket also takes the
    // delivery margin's refill (bucket.ts), which the second request waits out.
    const later = T0 + DELIVERY_JITTER_MS;
    reserved(await one.tryReserve(small, T0));
    reserved(await two.tryReserve(small, later));
    const near500 = (ms: number) => Math.abs(ms - 500) <= 1;
    assert.ok(near500(waitOf(await one.tryReserve(small, later))), 'the burst of 2 is spent by both together');
    assert.ok(near500(waitOf(await two.tryReserve(small, later))));
  });

  it('a reservation whose replica vanished is released after its time to live', async () => {
    const { pool: p } = pool([{ id: 'a', limits: { concurrency: 1 } }], 60_000);
    reserved(await p.tryReserve(small, T0)); // never settled
    assert.ok(!(await p.tryReserve(small, T0 + 59_999)).ok);
    reserved(await p.tryReserve(small, T0 + 60_000));
  });

  it('as in KeyPool: credit for the refill since the answer, doubtful requests unseen, and the floor as they settle', async () => {
    const limits = { rpm: 6000 }; // 100 at once, 1 per 10 ms
    const memory = new KeyPool('p', [{ id: 'a', limits }]);
    const { pool: shared } = pool([{ id: 'a', limits }]);
    const levels: number[][] = [];
    for (const p of [memory, shared] as QuotaPool[]) {
      const early: Reservation[] = [];
      for (let i = 0; i < 40; i++) early.push(reserved(await p.tryReserve(small, T0 + i)));
      const last = reserved(await p.tryReserve(small, T0 + 40));
      await p.observe('a', { requests: { limit: 6000, remaining: 0 } }, T0 + 45, last);
      await p.settle(last, undefined, T0 + 45);
      const seen: number[] = [];
      if (p instanceof RedisKeyPool) await p.refresh();
      seen.push(p.snapshot(T0 + 45)[0]!.dimensions.rpm!.remaining);
      for (const r of early) await p.settle(r, small, T0 + 240);
      seen.push(waitOf(await p.tryReserve(small, T0 + 240)));
      levels.push(seen);
    }
    const [inProcess, inRedis] = levels;
    assert.ok(inProcess![0]! < -35 && Math.abs(inProcess![0]! - inRedis![0]!) < 1e-6, `levels after the 429: ${inProcess![0]} vs ${inRedis![0]}`);
    assert.ok(inRedis![1]! <= 10 + DELIVERY_JITTER_MS, `waited ${inRedis![1]} ms`);
    assert.equal(inRedis![1], inProcess![1]);
  });

  it("a batch request yields while another replica's interactive requests wait for the pool", async () => {
    const prefix = `t${n++}:`;
    const keys = [{ id: 'a', limits: { rpm: 600 } }];
    const [one, two] = [store(prefix), store(prefix)].map((s) => new RedisKeyPool('p', keys, s));
    one!.interactiveWaiting(T0);
    await new Promise((resolve) => setTimeout(resolve, 20)); // the flag is sent without waiting
    const yielded = waitOf(await two!.tryReserve(small, T0, 'batch'));
    assert.ok(yielded > 0 && yielded <= 100, `the batch request tries again in ${yielded} ms`);
    reserved(await two!.tryReserve(small, T0, 'interactive'));
    reserved(await one!.tryReserve(small, T0, 'batch')); // its own flag does not hold it back
    // The flag lapses once the interactive requests stop renewing it (it lives in Redis time).
    await new Promise((resolve) => setTimeout(resolve, 400));
    reserved(await two!.tryReserve(small, T0, 'batch'));
  });

  it('with Redis gone it serves on its share of each limit, and shares again when Redis returns', async () => {
    const prefix = `t${n++}:`;
    const lines: string[] = [];
    const s = new RedisStore({ url: redis.url, prefix, heartbeatMs: 0, replicas: 3, log: (line) => lines.push(line), commandTimeoutMs: 200 });
    stores.push(s);
    const p = new RedisKeyPool('p', [{ id: 'a', limits: { rpm: 600, concurrency: 30 } }], s);
    const before = reserved(await p.tryReserve(small, T0));
    assert.equal(p.degraded, false);
    await redis.stop();
    const outage = Date.now();
    // The other replicas may just have spent the shared buckets, so the local share starts empty.
    const wait = waitOf(await p.tryReserve(small, outage));
    const expected = 300 + DELIVERY_JITTER_MS;
    assert.ok(wait > 200 && wait <= expected, `a third of 600 rpm refills one request (plus the delivery margin) in ${expected} ms; waited ${wait}`);
    assert.equal(p.degraded, true);
    assert.ok(lines.some((line) => line.includes('warning') && line.includes('1/3')), lines.join('\n'));
    const during = reserved(await p.tryReserve(small, Date.now() + 300 + DELIVERY_JITTER_MS));
    const local = p.snapshot(Date.now())[0]!;
    assert.equal(local.dimensions.rpm?.limit, 200, 'a third of 600');
    assert.equal(local.dimensions.concurrency?.limit, 10);
    await p.settle(before, small, T0); // deferred until Redis returns
    await p.settle(during, small, Date.now());
    await redis.start();
    for (let i = 0; i < 40 && !(await s.heartbeat()); i++) await new Promise((r) => setTimeout(r, 100));
    assert.equal(p.degraded, false);
    assert.ok(lines.some((line) => line.includes('reachable again')));
    // Shared again, starting from empty buckets (replicas spent their shares meanwhile): 600 rpm
    // refills one in 100 ms, plus the delivery margin.
    const back = Date.now();
    const refilled = back + 100 + DELIVERY_JITTER_MS;
    assert.ok(!(await p.tryReserve(small, back)).ok);
    reserved(await p.tryReserve(small, refilled));
    await p.refresh();
    assert.equal(p.snapshot(refilled)[0]?.inFlight, 1, 'the settle held during the outage was replayed; one reservation open');
  });
});
