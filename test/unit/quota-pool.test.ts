import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DELIVERY_JITTER_MS } from '../../src/quota/bucket.js';
import { KeyPool, SETTLE_BOUND_WAIT_MS } from '../../src/quota/pool.js';
import type { Demand } from '../../src/quota/types.js';
import { reserved, small, T0, waitOf } from '../support/quota.js';


function dim(pool: KeyPool, keyId: string, name: 'rpm' | 'itpm' | 'otpm' | 'tpm' | 'concurrency' | 'rpd', now: number) {
  const key = pool.snapshot(now).find((k) => k.id === keyId);
  assert.ok(key, keyId);
  return key.dimensions[name];
}

/** Offers one request every `everyMs` for `durationMs`; returns how many were admitted per key. */
function simulate(pool: KeyPool, everyMs: number, durationMs: number, demand: Demand = small): Map<string, number> {
  const admitted = new Map<string, number>();
  for (let t = T0; t < T0 + durationMs; t += everyMs) {
    const r = pool.tryReserve(demand, t);
    if (r.ok) {
      admitted.set(r.reservation.keyId, (admitted.get(r.reservation.keyId) ?? 0) + 1);
      pool.settle(r.reservation, { inputTokens: demand.inputTokens, outputTokens: demand.outputTokens }, t);
    }
  }
  return admitted;
}

const total = (m: Map<string, number>) => [...m.values()].reduce((a, b) => a + b, 0);

describe('key pool', () => {
  it('a minute of traffic through one key admits about its limit', () => {
    const admitted = simulate(new KeyPool('p', [{ id: 'a', limits: { rpm: 60 } }]), 50, 60_000);
    assert.ok(Math.abs(total(admitted) - 60) <= 2, `admitted ${total(admitted)}`);
  });

  it('two keys act as one bigger key: a minute admits about the sum of their limits, spread over both', () => {
    const pool = new KeyPool('p', [
      { id: 'a', limits: { rpm: 60, itpm: 60_000 } },
      { id: 'b', limits: { rpm: 120, itpm: 60_000 } },
    ]);
    const admitted = simulate(pool, 50, 60_000);
    assert.ok(Math.abs(total(admitted) - 180) <= 3, `admitted ${total(admitted)}`);
    assert.ok(Math.abs((admitted.get('a') ?? 0) - 60) <= 2, `a took ${admitted.get('a')}`);
    assert.ok(Math.abs((admitted.get('b') ?? 0) - 120) <= 2, `b took ${admitted.get('b')}`);
  });

  it('a minute of large requests is bounded by the token limit, not the request limit', () => {
    const pool = new KeyPool('p', [{ id: 'a', limits: { rpm: 1000, itpm: 30_000 } }]);
    const admitted = simulate(pool, 100, 60_000, { inputTokens: 3000, outputTokens: 10 });
    assert.ok(total(admitted) >= 9 && total(admitted) <= 11, `admitted ${total(admitted)}`);
  });

  it('picks the key with the most headroom for the request, not the next in turn', () => {
    const pool = new KeyPool('p', [
      { id: 'a', limits: { rpm: 600 } },
      { id: 'b', limits: { rpm: 600 } },
    ]);
    pool.observe('a', { requests: { limit: 600, remaining: 100 } }, T0);
    pool.observe('b', { requests: { limit: 600, remaining: 500 } }, T0);
    for (let i = 0; i < 5; i++) assert.equal(reserved(pool.tryReserve(small, T0)).keyId, 'b');
    // With token limits, the key whose token bucket is fuller wins even if it has fewer requests left.
    const tokens = new KeyPool('q', [
      { id: 'a', limits: { rpm: 600, itpm: 60_000 } },
      { id: 'b', limits: { rpm: 600, itpm: 60_000 } },
    ]);
    tokens.observe('a', { requests: { remaining: 500 }, inputTokens: { remaining: 5000 } }, T0);
    tokens.observe('b', { requests: { remaining: 100 }, inputTokens: { remaining: 50_000 } }, T0);
    assert.equal(reserved(tokens.tryReserve({ inputTokens: 4000, outputTokens: 0 }, T0)).keyId, 'b');
  });

  it('reserve takes the estimate; settle gives back what was not used', () => {
    const pool = new KeyPool('p', [{ id: 'a', limits: { rpm: 1000, itpm: 60_000, otpm: 12_000 } }]);
    pool.observe('a', { inputTokens: { remaining: 60_000 }, outputTokens: { remaining: 12_000 } }, T0);
    const r = reserved(pool.tryReserve({ inputTokens: 10_000, outputTokens: 4096 }, T0));
    assert.equal(dim(pool, 'a', 'itpm', T0)?.remaining, 50_000);
    assert.equal(dim(pool, 'a', 'otpm', T0)?.remaining, 12_000 - 4096);
    pool.settle(r, { inputTokens: 8000, outputTokens: 300 }, T0);
    assert.equal(dim(pool, 'a', 'itpm', T0)?.remaining, 52_000);
    assert.equal(dim(pool, 'a', 'otpm', T0)?.remaining, 11_700);
    pool.settle(r, { inputTokens: 0, outputTokens: 0 }, T0);
    assert.equal(dim(pool, 'a', 'itpm', T0)?.remaining, 52_000, 'a second settle changes nothing');
  });

  it('a request the provider never counted (connection refused) gives everything back', () => {
    const pool = new KeyPool('p', [{ id: 'a', limits: { rpm: 60, itpm: 6000, concurrency: 1 } }]);
    const r = reserved(pool.tryReserve(small, T0));
    assert.ok(!pool.tryReserve(small, T0).ok);
    pool.settle(r, undefined, T0);
    assert.equal(dim(pool, 'a', 'rpm', T0)?.remaining, 1);
    assert.equal(dim(pool, 'a', 'itpm', T0)?.remaining, 100);
    assert.ok(pool.tryReserve(small, T0).ok);
  });

  it('a demand bigger than the burst capacity is admitted on a full bucket, and the next waits for the debt', () => {
    const pool = new KeyPool('p', [{ id: 'a', limits: { itpm: 6000 } }]); // capacity 100 until the burst is known
    const big = { inputTokens: 1000, outputTokens: 0 };
    reserved(pool.tryReserve(big, T0));
    const wait = waitOf(pool.tryReserve(big, T0));
    assert.equal(wait, 10_000, 'the 1000-token debt refills at 100/s');
    assert.ok(!pool.tryReserve(big, T0 + wait - 1).ok);
    reserved(pool.tryReserve(big, T0 + wait));
  });

  it('learns limits that are not in the config: one request at a time until the first answer', () => {
    const pool = new KeyPool('p', [{ id: 'a', limits: {} }]);
    const first = reserved(pool.tryReserve(small, T0));
    assert.equal(waitOf(pool.tryReserve(small, T0)), SETTLE_BOUND_WAIT_MS);
    assert.equal(pool.snapshot(T0)[0]?.learning, true);
    pool.observe('a', { requests: { limit: 50, remaining: 49 }, inputTokens: { limit: 40_000, remaining: 39_000 } }, T0 + 500);
    pool.settle(first, small, T0 + 600);
    const snap = pool.snapshot(T0 + 600)[0]!;
    assert.equal(snap.learning, false);
    assert.equal(snap.dimensions.rpm?.limit, 50);
    assert.equal(snap.dimensions.itpm?.limit, 40_000);
    let admitted = 0;
    while (pool.tryReserve(small, T0 + 600).ok) admitted++;
    assert.ok(admitted >= 45 && admitted <= 50, `admitted ${admitted} of the 49 the headers allow`);
  });

  it('a key whose answers carry no rate-limit headers has no limits once answered', () => {
    const pool = new KeyPool('local', [{ id: 'ollama', limits: {} }]);
    const first = reserved(pool.tryReserve(small, T0));
    pool.observe('ollama', {}, T0 + 10);
    pool.settle(first, small, T0 + 10);
    for (let i = 0; i < 100; i++) reserved(pool.tryReserve(small, T0 + 10));
  });

  it('headers correct the configured limit', () => {
    const pool = new KeyPool('p', [{ id: 'a', limits: { rpm: 50 } }]);
    pool.observe('a', { requests: { limit: 1000, remaining: 999 } }, T0);
    assert.deepEqual(dim(pool, 'a', 'rpm', T0), { limit: 1000, capacity: 999, remaining: 999 });
  });

  it('remaining counts what is still in flight on the key', () => {
    const pool = new KeyPool('p', [{ id: 'a', limits: { rpm: 100 } }]);
    pool.observe('a', { requests: { limit: 100, remaining: 100 } }, T0);
    reserved(pool.tryReserve(small, T0));
    reserved(pool.tryReserve(small, T0));
    pool.observe('a', { requests: { limit: 100, remaining: 90 } }, T0 + 1);
    assert.ok(Math.abs((dim(pool, 'a', 'rpm', T0 + 1)?.remaining ?? 0) - 88) < 0.01);
  });

  it('the answered request is in remaining at its real size: its estimate is not given back again', () => {
    const pool = new KeyPool('p', [{ id: 'a', limits: { rpm: 1000, itpm: 60_000 } }]);
    pool.observe('a', { inputTokens: { limit: 60_000, remaining: 60_000 } }, T0);
    const r = reserved(pool.tryReserve({ inputTokens: 10_000, outputTokens: 0 }, T0));
    // The provider counted 4000 real input tokens.
    pool.observe('a', { inputTokens: { limit: 60_000, remaining: 56_000 } }, T0, r);
    pool.settle(r, { inputTokens: 4000, outputTokens: 0 }, T0);
    assert.equal(dim(pool, 'a', 'itpm', T0)?.remaining, 56_000);
  });

  it("Anthropic's combined tokens header is not a limit of its own unless it is tighter", () => {
    const pool = new KeyPool('p', [{ id: 'a', limits: {} }]);
    const split = { inputTokens: { limit: 80_000, remaining: 80_000 }, outputTokens: { limit: 16_000, remaining: 16_000 } };
    pool.observe('a', { ...split, tokens: { limit: 96_000, remaining: 96_000 } }, T0);
    assert.equal(dim(pool, 'a', 'tpm', T0), undefined);
    pool.observe('a', { ...split, tokens: { limit: 50_000, remaining: 50_000 } }, T0);
    assert.equal(dim(pool, 'a', 'tpm', T0)?.limit, 50_000, 'a workspace limit below input + output');
  });

  describe('per-second enforcement', () => {
    it('starts with one second of burst: 60 RPM admits one request, not sixty, at once', () => {
      const pool = new KeyPool('p', [{ id: 'a', limits: { rpm: 60 } }]);
      reserved(pool.tryReserve(small, T0));
      assert.equal(waitOf(pool.tryReserve(small, T0)), 1000);
      reserved(pool.tryReserve(small, T0 + 1000));
    });

    it('grows the burst to what remaining shows', () => {
      const pool = new KeyPool('p', [{ id: 'a', limits: { rpm: 60 } }]);
      const r = reserved(pool.tryReserve(small, T0));
      pool.observe('a', { requests: { limit: 60, remaining: 59 } }, T0 + 100, r);
      pool.settle(r, small, T0 + 200);
      assert.equal(dim(pool, 'a', 'rpm', T0 + 200)?.capacity, 59);
      let burst = 0;
      while (pool.tryReserve(small, T0 + 200).ok) burst++;
      // The last request of the burst waits for the delivery margin (DELIVERY_JITTER_MS) to refill.
      assert.equal(burst, 58);
      assert.ok(pool.tryReserve(small, T0 + 200 + 1000).ok);
    });

    it('without knowing which request answered, what is in flight is subtracted once more (conservative)', () => {
      const pool = new KeyPool('p', [{ id: 'a', limits: { rpm: 60 } }]);
      const r = reserved(pool.tryReserve(small, T0));
      pool.observe('a', { requests: { limit: 60, remaining: 59 } }, T0 + 100);
      pool.settle(r, small, T0 + 100);
      assert.equal(dim(pool, 'a', 'rpm', T0 + 100)?.remaining, 58);
    });

    it('an answer credits the refill since its request reached the provider', () => {
      const pool = new KeyPool('p', [{ id: 'a', limits: { rpm: 600 } }]); // 10 at once, 1 per 100 ms
      const r = reserved(pool.tryReserve(small, T0));
      // The provider had 5 left when the request arrived, at most the delivery margin after it was
      // admitted; 400 ms after admission it has surely refilled (400 - margin) / 100 more.
      pool.observe('a', { requests: { limit: 600, remaining: 5 } }, T0 + 400, r);
      pool.settle(r, small, T0 + 400);
      const expected = 5 + (400 - DELIVERY_JITTER_MS) / 100;
      assert.ok(Math.abs((dim(pool, 'a', 'rpm', T0 + 400)?.remaining ?? 0) - expected) < 1e-9);
    });

    it('requests admitted just before the answered one count as unseen, and as they settle the level is not left below zero', () => {
      const pool = new KeyPool('p', [{ id: 'a', limits: { rpm: 6000 } }]); // 100 at once, 1 per 10 ms
      const early = Array.from({ length: 40 }, (_, i) => reserved(pool.tryReserve(small, T0 + i)));
      const last = reserved(pool.tryReserve(small, T0 + 40));
      // The last one overtook the others on the way and met an empty bucket (the others had arrived).
      pool.observe('a', { requests: { limit: 6000, remaining: 0 } }, T0 + 41, last);
      pool.settle(last, undefined, T0 + 41);
      assert.ok((dim(pool, 'a', 'rpm', T0 + 41)?.remaining ?? 0) < -35, 'the 40 within the delivery margin may not have arrived yet');
      for (const r of early) pool.settle(r, small, T0 + 240);
      // All 40 were counted (each answered 200), so the provider's level is at least zero: one
      // request waits for one unit plus the delivery margin, not for 40 units to refill.
      const wait = waitOf(pool.tryReserve(small, T0 + 240));
      assert.ok(wait <= 10 + DELIVERY_JITTER_MS, `waited ${wait} ms`);
    });

    it('keeps the per-second capacity when remaining never exceeds limit/60', () => {
      const pool = new KeyPool('p', [{ id: 'a', limits: {} }]);
      for (let i = 0; i < 10; i++) {
        const now = T0 + i * 1000;
        const r = pool.tryReserve(small, now);
        if (r.ok) {
          pool.observe('a', { requests: { limit: 60, remaining: 0 }, tokens: { limit: 60_000, remaining: 800 } }, now + 10);
          pool.settle(r.reservation, small, now + 20);
        }
      }
      assert.equal(dim(pool, 'a', 'rpm', T0 + 10_000)?.capacity, 1);
      assert.equal(dim(pool, 'a', 'tpm', T0 + 10_000)?.capacity, 1000);
    });
  });

  it('a resting key takes nothing; with every key resting the wait is infinite', () => {
    const pool = new KeyPool('p', [
      { id: 'a', limits: { rpm: 6000 } },
      { id: 'b', limits: { rpm: 6000 } },
    ]);
    assert.equal(pool.rest('a', '401 authentication_error', T0), true);
    assert.equal(pool.rest('a', '401 again', T0), false, 'a second refusal is not a second transition');
    for (let i = 0; i < 20; i++) assert.equal(reserved(pool.tryReserve(small, T0 + i * 100)).keyId, 'b');
    pool.rest('b', '401 invalid_api_key', T0);
    assert.equal(waitOf(pool.tryReserve(small, T0 + 5000)), Infinity);
    const snap = pool.snapshot(T0 + 5000);
    assert.deepEqual(snap.map((k) => [k.healthy, k.disabledReason]), [[false, '401 authentication_error'], [false, '401 invalid_api_key']]);
  });

  it('keys that refused this request are passed over for it alone', () => {
    const pool = new KeyPool('p', [
      { id: 'a', limits: { rpm: 6000 } },
      { id: 'b', limits: { rpm: 6000 } },
    ]);
    const avoid = new Set(['a']);
    for (let i = 0; i < 5; i++) assert.equal(reserved(pool.tryReserve(small, T0 + i * 100, 'interactive', avoid)).keyId, 'b');
    assert.equal(waitOf(pool.tryReserve(small, T0, 'interactive', new Set(['a', 'b']))), Infinity);
    assert.equal(pool.waitTime(small, T0, new Set(['a', 'b'])), Infinity);
    assert.ok(pool.snapshot(T0).every((k) => k.healthy), 'nothing rests');
  });

  it('a 429 cools its key down until the given time and counts a prediction miss', () => {
    const pool = new KeyPool('p', [
      { id: 'a', limits: { rpm: 6000 } },
      { id: 'b', limits: { rpm: 6000 } },
    ]);
    pool.coolDown('a', T0 + 5000);
    for (let i = 0; i < 10; i++) assert.equal(reserved(pool.tryReserve(small, T0 + i)).keyId, 'b');
    pool.coolDown('b', T0 + 3000);
    assert.equal(waitOf(pool.tryReserve(small, T0 + 1000)), 2000, 'b is back first');
    const snap = pool.snapshot(T0 + 1000);
    assert.deepEqual(snap.map((k) => [k.id, k.coolingUntil, k.predictionMisses]), [['a', T0 + 5000, 1], ['b', T0 + 3000, 1]]);
    assert.equal(reserved(pool.tryReserve(small, T0 + 3000)).keyId, 'b');
  });

  it('concurrency is held until settle', () => {
    const pool = new KeyPool('local', [{ id: 'gpu', limits: { concurrency: 2 } }]);
    const a = reserved(pool.tryReserve(small, T0));
    reserved(pool.tryReserve(small, T0));
    const wait = waitOf(pool.tryReserve(small, T0 + 60_000));
    assert.ok(wait > 0 && wait < 1000, 'a small positive wait: a settle will notify');
    pool.settle(a, small, T0 + 60_000);
    reserved(pool.tryReserve(small, T0 + 60_000));
    assert.equal(pool.snapshot(T0)[0]?.inFlight, 2);
  });

  it('tryReserve is fast enough for the hot path', () => {
    const pool = new KeyPool('p', Array.from({ length: 8 }, (_, i) => ({ id: `k${i}`, limits: { rpm: 1e9, itpm: 1e12, otpm: 1e12, concurrency: 1e9 } })));
    const start = process.hrtime.bigint();
    const n = 100_000;
    for (let i = 0; i < n; i++) {
      const r = pool.tryReserve(small, T0 + i);
      if (r.ok) pool.settle(r.reservation, small, T0 + i);
    }
    const perCallUs = Number(process.hrtime.bigint() - start) / 1000 / n;
    assert.ok(perCallUs < 20, `${perCallUs.toFixed(2)} µs per reserve+settle`);
  });
});
