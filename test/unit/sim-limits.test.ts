import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { charge, fullBucket, levelAt, msUntil, msUntilFull } from '../../src/sim/bucket.js';
import { admit, applyWindow, createBuckets, settle } from '../../src/sim/limiter.js';

describe('simulator token bucket', () => {
  it('refills continuously up to capacity', () => {
    const b = fullBucket(60, 60 / 60_000, 0);
    charge(b, 60, 0);
    assert.equal(levelAt(b, 0), 0);
    assert.equal(levelAt(b, 1000), 1);
    assert.equal(levelAt(b, 30_000), 30);
    assert.equal(levelAt(b, 600_000), 60);
    assert.equal(msUntil(b, 1, 0), 1000);
    assert.equal(msUntilFull(b, 30_000), 30_000);
  });

  it('can go negative and must refill past zero', () => {
    const b = fullBucket(10, 10 / 60_000, 0);
    charge(b, 15, 0);
    assert.equal(levelAt(b, 0), -5);
    assert.equal(msUntil(b, 1, 0), 36_000);
  });

  it('never refunds above capacity', () => {
    const b = fullBucket(10, 1, 0);
    charge(b, -5, 0);
    assert.equal(levelAt(b, 0), 10);
  });
});

describe('simulator admission', () => {
  const demand = { inputTokens: 100, generates: true, maxTokens: 500 };

  it('admits while every dimension has room, then names the one that makes it wait', () => {
    const buckets = createBuckets({ rpm: 60, itpm: 250 }, 'minute', 0);
    assert.equal(admit(buckets, demand, 'generated', 0).ok, true);
    assert.equal(admit(buckets, demand, 'generated', 0).ok, true);
    const refused = admit(buckets, demand, 'generated', 0);
    assert.equal(refused.ok, false);
    assert.ok(!refused.ok && refused.dimension === 'itpm' && !refused.never);
    // 50 tokens left, 50 more needed at 250/min = 12 s.
    assert.ok(!refused.ok && Math.abs(refused.waitMs - 12_000) < 1e-6);
    assert.equal(admit(buckets, demand, 'generated', 12_000).ok, true);
  });

  it('a refused request takes nothing from any bucket', () => {
    const buckets = createBuckets({ rpm: 60, itpm: 150 }, 'minute', 0);
    admit(buckets, demand, 'generated', 0);
    admit(buckets, demand, 'generated', 0);
    assert.equal(levelAt(buckets.rpm!, 0), 59);
  });

  it("window 'second' makes the bucket one second of the limit (at least 1)", () => {
    const buckets = createBuckets({ rpm: 120, itpm: 30 }, 'second', 0);
    assert.equal(buckets.rpm!.capacity, 2);
    assert.equal(buckets.itpm!.capacity, 1);
    const small = { inputTokens: 1, generates: true, maxTokens: 1 };
    assert.equal(admit(buckets, small, 'generated', 0).ok, true);
    const r = admit(buckets, small, 'generated', 0);
    assert.ok(!r.ok && r.dimension === 'itpm' && r.waitMs === 2000);
  });

  it('a request larger than the bucket can never fit', () => {
    const buckets = createBuckets({ itpm: 6000 }, 'second', 0);
    const r = admit(buckets, { inputTokens: 101, generates: true, maxTokens: 1 }, 'generated', 0);
    assert.ok(!r.ok && r.never && r.requested === 101);
  });

  it("otpm 'generated': needs a positive level and is charged the real output at the end", () => {
    const buckets = createBuckets({ otpm: 100 }, 'minute', 0);
    const a = admit(buckets, demand, 'generated', 0);
    assert.ok(a.ok && a.reserved === 0);
    settle(buckets, 0, 150, 0);
    assert.equal(levelAt(buckets.otpm!, 0), -50);
    const r = admit(buckets, demand, 'generated', 0);
    assert.ok(!r.ok && r.dimension === 'otpm' && Math.abs(r.waitMs - 30_600) < 1e-6);
  });

  it("otpm 'max_tokens': reserves max_tokens up front and refunds the unused part", () => {
    const buckets = createBuckets({ otpm: 1000, tpm: 10_000 }, 'minute', 0);
    const a = admit(buckets, demand, 'max_tokens', 0);
    assert.ok(a.ok && a.reserved === 500);
    assert.equal(levelAt(buckets.otpm!, 0), 500);
    assert.equal(levelAt(buckets.tpm!, 0), 9400);
    settle(buckets, 500, 20, 0);
    assert.equal(levelAt(buckets.otpm!, 0), 980);
    assert.equal(levelAt(buckets.tpm!, 0), 9880);
    const tooBig = admit(buckets, { ...demand, maxTokens: 2000 }, 'max_tokens', 0);
    assert.ok(!tooBig.ok && tooBig.never && tooBig.dimension === 'otpm');
  });

  it('rpd refills over a day, independent of the window', () => {
    const buckets = createBuckets({ rpd: 2 }, 'second', 0);
    assert.equal(buckets.rpd!.capacity, 2);
    admit(buckets, demand, 'generated', 0);
    admit(buckets, demand, 'generated', 0);
    const r = admit(buckets, demand, 'generated', 0);
    assert.ok(!r.ok && r.dimension === 'rpd' && r.waitMs === 43_200_000);
  });

  it('a bucket holds any share of the minute, or an absolute capacity per dimension, and refills at the per-minute rate', () => {
    const limits = { rpm: 600, itpm: 60_000, rpd: 1000 };
    const tenth = createBuckets(limits, 'minute', 0, { fraction: 0.1 });
    assert.equal(tenth.rpm!.capacity, 60);
    assert.equal(tenth.itpm!.capacity, 6000);
    assert.equal(tenth.rpd!.capacity, 1000, 'a day holds its whole limit');
    for (let i = 0; i < 60; i++) assert.equal(admit(tenth, demand, 'generated', 0).ok, true);
    const r = admit(tenth, demand, 'generated', 0);
    assert.ok(!r.ok && r.dimension === 'rpm' && r.waitMs === 100, 'one request per 100 ms at 600 rpm');
    // Absolute capacities override the share, dimension by dimension, never above the limit.
    const absolute = createBuckets(limits, 'second', 0, { fraction: 0.5, capacity: { rpm: 25, itpm: 1e9 } });
    assert.equal(absolute.rpm!.capacity, 25);
    assert.equal(absolute.itpm!.capacity, 60_000);
  });

  it('the bucket size changes at run time, keeping levels clamped to the new capacity', () => {
    const limits = { rpm: 600 };
    const buckets = createBuckets(limits, 'minute', 0);
    applyWindow(buckets, limits, 'minute', 0, { fraction: 0.25 });
    assert.equal(buckets.rpm!.capacity, 150);
    assert.equal(levelAt(buckets.rpm!, 0), 150);
    applyWindow(buckets, limits, 'minute', 0, { capacity: { rpm: 30 } });
    assert.equal(levelAt(buckets.rpm!, 0), 30);
    applyWindow(buckets, limits, 'minute', 0);
    assert.equal(buckets.rpm!.capacity, 600, 'without a size, the window decides again');
    assert.equal(levelAt(buckets.rpm!, 60_000), 600);
  });

  it('switching the window keeps levels, clamped to the new capacity', () => {
    const limits = { rpm: 600 };
    const buckets = createBuckets(limits, 'minute', 0);
    applyWindow(buckets, limits, 'second', 0);
    assert.equal(buckets.rpm!.capacity, 10);
    assert.equal(levelAt(buckets.rpm!, 0), 10);
  });
});
