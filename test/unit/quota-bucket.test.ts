import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createBucket, fits, giveBack, lostToCap, refill, take, waitFor } from '../../src/quota/bucket.js';
import { DELIVERY_JITTER_MS } from '../../src/quota/policy.js';

describe('token bucket', () => {
  it('refills continuously at limit per period, never above capacity', () => {
    const b = createBucket(60, 60_000, 10, 0);
    b.level = 0;
    const cases: Array<[number, number]> = [
      [0, 0],
      [1000, 1],
      [5500, 5.5],
      [10_000, 10],
      [60_000, 10],
    ];
    for (const [now, level] of cases) assert.ok(Math.abs(refill(b, now) - level) < 1e-9, `at ${now} ms: ${b.level} ≠ ${level}`);
  });

  it('reserve then settle gives back what was not used, capped at capacity', () => {
    const b = createBucket(1000, 60_000, 1000, 0);
    b.level = 900;
    take(b, 800, 0);
    assert.equal(b.level, 100);
    assert.equal(fits(b, 300, 0), false);
    giveBack(b, 700, 0); // used 100 of the 800 reserved
    assert.equal(b.level, 800);
    giveBack(b, 500, 0);
    assert.equal(b.level, 1000, 'never above capacity');
  });

  it('an underestimate settles as a debt that delays the next request', () => {
    const b = createBucket(600, 60_000, 600, 0);
    b.level = 500;
    take(b, 100, 0);
    giveBack(b, -600, 0); // used 700 where 100 were reserved
    assert.equal(b.level, -200);
    assert.equal(waitFor(b, 1, 0), 20_100); // 201 units at 600/min
  });

  it('a demand bigger than the capacity is admitted when the bucket is full, then repaid', () => {
    const b = createBucket(6000, 60_000, 100, 0); // 100/s
    assert.equal(fits(b, 500, 0), true, 'full bucket admits an oversized demand');
    take(b, 500, 0);
    assert.equal(b.level, -400);
    assert.equal(fits(b, 500, 0), false);
    // It must be full again: 500 units to refill at 0.1/ms.
    assert.equal(waitFor(b, 500, 0), 5000);
    assert.equal(fits(b, 500, 4999), false);
    assert.equal(fits(b, 500, 5000), true);
  });

  it('a provider\'s bucket near its capacity loses the refill past it while a request travels', () => {
    const b = createBucket(600, 60_000, 10, 0); // 10/s, so a delivery margin refills 1
    assert.equal(DELIVERY_JITTER_MS, 100);
    assert.equal(lostToCap(b, 10), 1, 'full: it stays at 10 until the request arrives');
    assert.equal(lostToCap(b, 9.5), 0.5);
    assert.equal(lostToCap(b, 8), 0, 'room for the whole margin: nothing is lost');
  });

  it('waitFor is honest: after that many ms the amount fits', () => {
    const b = createBucket(50, 60_000, 7, 0);
    for (const [taken, amount] of [[7, 1], [7, 3], [5, 7], [7.5, 2]] as const) {
      const bucket = { ...b };
      take(bucket, taken, 0);
      const wait = waitFor(bucket, amount, 0);
      assert.equal(fits({ ...bucket }, amount, wait - 1), false, `not a ms earlier than ${wait}`);
      assert.equal(fits({ ...bucket }, amount, wait), true, `take ${taken}, need ${amount}: fits after ${wait}`);
    }
  });

  it('a gauge (concurrency) never refills by itself', () => {
    const b = createBucket(2, Infinity, 2, 0);
    take(b, 1, 0);
    take(b, 1, 0);
    assert.equal(fits(b, 1, 1e9), false);
    assert.equal(waitFor(b, 1, 0), Infinity);
    giveBack(b, 1, 5);
    assert.equal(fits(b, 1, 5), true);
  });
});
