/**
 * Issue 21: whatever the provider's bucket size, spillway's level is never above the provider's.
 * A property over random runs: a provider key (the simulator's own buckets, src/sim/limiter.ts)
 * whose requests and input-token buckets hold anything from one second to the whole minute, a
 * pool that knows only the per-minute limits, and requests offered in bursts or spread out, each
 * reaching the provider up to the delivery margin after admission (the policy's one assumption,
 * quota/policy.ts), in any order within it, its headers coming back after a random time to first byte and its settle
 * after a random answer length; prompts up to one second of the token limit. Every request the pool admits must find room at the provider: no
 * upstream 429, ever. And every request is admitted in the end.
 * Both engines: the in-process KeyPool, and the Redis pool's Lua scripts (fewer runs: each call is
 * a round trip).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { KeyPool } from '../../src/quota/pool.js';
import { DELIVERY_JITTER_MS } from '../../src/quota/policy.js';
import type { Demand, QuotaPool, Reservation } from '../../src/quota/types.js';
import { levelAt } from '../../src/sim/bucket.js';
import { admit, createBuckets } from '../../src/sim/limiter.js';
import { RedisKeyPool } from '../../src/store/redis-pool.js';
import { RedisStore } from '../../src/store/redis-store.js';
import { T0 } from '../support/quota.js';
import { skipWithoutRedis, startRedis, type RedisServer } from '../support/redis.js';

interface Request {
  offeredAfterMs: number;
  inputTokens: number;
  /** What the provider counts: at most the estimate spillway reserved. */
  countedInput: number;
  deliveryMs: number;
  ttftMs: number;
  answerMs: number;
}

interface Run {
  rpm: number;
  itpm: number;
  /** The provider's buckets hold this many seconds of the minute (1/60 to 60/60). */
  seconds: number;
  requests: Request[];
}

const request: fc.Arbitrary<Request> = fc
  .record({
    offeredAfterMs: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 20_000 })),
    inputTokens: fc.integer({ min: 1, max: 2000 }),
    slack: fc.integer({ min: 0, max: 200 }),
    deliveryMs: fc.oneof(fc.integer({ min: 0, max: 5 }), fc.integer({ min: 0, max: DELIVERY_JITTER_MS })),
    ttftMs: fc.integer({ min: 0, max: 3000 }),
    answerMs: fc.integer({ min: 0, max: 10_000 }),
  })
  .map(({ slack, ...r }) => ({ ...r, countedInput: Math.max(0, r.inputTokens - slack) }));

const run: fc.Arbitrary<Run> = fc
  .record({
    rpm: fc.constantFrom(60, 120, 600, 1800),
    itpm: fc.constantFrom(20_000, 100_000, 1_000_000),
    seconds: fc.oneof(fc.constantFrom(1, 6, 60), fc.integer({ min: 1, max: 60 })),
    requests: fc.array(request, { minLength: 1, maxLength: 80 }),
  })
  // Prompts fit one second of the limit, the least bucket spillway assumes: a demand larger than
  // the bucket it knows is admitted on a full bucket (quota/bucket.ts), a separate rule.
  .map((r) => {
    const most = Math.floor(r.itpm / 60);
    return { ...r, requests: r.requests.map((q) => ({ ...q, inputTokens: Math.min(q.inputTokens, most), countedInput: Math.min(q.countedInput, most) })) };
  });

type Event =
  | { kind: 'offer'; i: number }
  | { kind: 'arrive'; i: number; reservation: Reservation }
  | { kind: 'headers'; i: number; reservation: Reservation; requests: number; inputTokens: number }
  | { kind: 'settle'; i: number; reservation: Reservation };

/** Plays one run on a fake clock; returns the requests the provider refused, and how many were answered. */
async function play(pool: QuotaPool, r: Run, clock: { t: number }): Promise<{ refused: string[]; answered: number }> {
  const provider = createBuckets({ rpm: r.rpm, itpm: r.itpm }, 'minute', T0, { fraction: r.seconds / 60 });
  const events: Array<{ at: number; seq: number; event: Event }> = [];
  let seq = 0;
  const schedule = (at: number, event: Event) => events.push({ at, seq: seq++, event });
  r.requests.forEach((q, i) => schedule(T0 + q.offeredAfterMs, { kind: 'offer', i }));
  const refused: string[] = [];
  let answered = 0;
  while (events.length > 0) {
    events.sort((a, b) => a.at - b.at || a.seq - b.seq);
    const { at, event } = events.shift()!;
    clock.t = at;
    const q = r.requests[event.i]!;
    if (event.kind === 'offer') {
      const demand: Demand = { inputTokens: q.inputTokens, outputTokens: 0 };
      const result = await pool.tryReserve(demand, at);
      if (!result.ok) {
        assert.ok(Number.isFinite(result.waitMs), `request ${event.i} can never be admitted`);
        schedule(at + Math.max(1, result.waitMs), event);
        continue;
      }
      schedule(at + q.deliveryMs, { kind: 'arrive', i: event.i, reservation: result.reservation });
    } else if (event.kind === 'arrive') {
      const verdict = admit(provider, { inputTokens: q.countedInput, generates: false, maxTokens: 0 }, 'generated', at);
      if (!verdict.ok) {
        refused.push(`request ${event.i} at +${at - T0} ms: ${verdict.dimension} had ${levelAt(provider[verdict.dimension]!, at).toFixed(3)}`);
        schedule(at + q.ttftMs, { kind: 'settle', i: event.i, reservation: event.reservation });
        continue;
      }
      const remaining = (d: 'rpm' | 'itpm') => Math.max(0, Math.floor(levelAt(provider[d]!, at)));
      schedule(at + q.ttftMs, { kind: 'headers', i: event.i, reservation: event.reservation, requests: remaining('rpm'), inputTokens: remaining('itpm') });
    } else if (event.kind === 'headers') {
      const observed = { requests: { limit: r.rpm, remaining: event.requests }, inputTokens: { limit: r.itpm, remaining: event.inputTokens } };
      await pool.observe(event.reservation.keyId, observed, at, event.reservation);
      schedule(at + q.answerMs, { kind: 'settle', i: event.i, reservation: event.reservation });
    } else {
      await pool.settle(event.reservation, { inputTokens: q.countedInput, outputTokens: 0 }, at);
      answered++;
    }
  }
  return { refused, answered };
}

const limitsOf = (r: Run) => ({ rpm: r.rpm, itpm: r.itpm });

describe('no admission overshoots the provider, for any bucket from one second to the whole minute', () => {
  it('in-process pool', async () => {
    await fc.assert(
      fc.asyncProperty(run, async (r) => {
        const pool = new KeyPool('p', [{ id: 'k', limits: limitsOf(r) }]);
        const { refused, answered } = await play(pool, r, { t: T0 });
        assert.deepEqual(refused, [], `a ${r.seconds}/60 bucket refused what spillway admitted`);
        assert.equal(answered, r.requests.length);
      }),
      { numRuns: 300 },
    );
  });

  describe('Redis pool', { skip: skipWithoutRedis }, () => {
    let redis: RedisServer;
    const stores: RedisStore[] = [];
    before(async () => {
      redis = await startRedis();
    });
    after(async () => {
      for (const store of stores) await store.close();
      await redis.stop();
    });

    it('Redis pool', async () => {
      let runs = 0;
      await fc.assert(
        fc.asyncProperty(run, async (r) => {
          const clock = { t: T0 };
          const store = new RedisStore({ url: redis.url, prefix: `overshoot${runs++}:`, heartbeatMs: 0, now: () => clock.t });
          stores.push(store);
          const pool = new RedisKeyPool('p', [{ id: 'k', limits: limitsOf(r) }], store);
          const { refused, answered } = await play(pool, r, clock);
          assert.deepEqual(refused, [], `a ${r.seconds}/60 bucket refused what spillway admitted`);
          assert.equal(answered, r.requests.length);
        }),
        { numRuns: 25 },
      );
    });
  });
});
