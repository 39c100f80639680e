/**
 * The two engines of the one quota policy, side by side: the in-process KeyPool and the Redis
 * pool's Lua scripts get the same long random run of admissions, settles, answers (fresh, late,
 * overtaking, with and without the time they were sent), new and changed limits, cool-downs and key
 * rests, on one fake clock. They must make the same decisions and end in the same state.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Limits } from '../../src/config/schema.js';
import { KeyPool } from '../../src/quota/pool.js';
import type { RestPolicy } from '../../src/quota/rest.js';
import type { Demand, KeySnapshot, Observed, ObservedLimits, QuotaPool, Reservation, Usage } from '../../src/quota/types.js';
import type { WindowShape } from '../../src/quota/window.js';
import { RedisKeyPool } from '../../src/store/redis-pool.js';
import { RedisStore } from '../../src/store/redis-store.js';
import { T0 } from '../support/quota.js';
import { skipWithoutRedis, startRedis, type RedisServer } from '../support/redis.js';

/** How each key's provider answers: which headers it sends, and the limits it may switch between. */
interface KeyPlan {
  id: string;
  limits: Limits;
  window?: WindowShape;
  answer(random: () => number): ObservedLimits;
}

const pick = <T>(random: () => number, values: readonly T[]): T => values[Math.floor(random() * values.length)]!;

/** A header pair; the limit is left out now and then (some answers carry only remaining). */
function observed(random: () => number, limits: readonly number[], remainingUpTo: number): Observed {
  const remaining = Math.floor(random() * remainingUpTo);
  return random() < 0.2 ? { remaining } : { limit: pick(random, limits), remaining };
}

const KEYS: KeyPlan[] = [
  {
    // Anthropic-like: split input/output limits, sometimes a tighter combined one; the request limit changes.
    id: 'anthropic',
    limits: { rpm: 90, itpm: 40_000, otpm: 8000 },
    answer: (random) => ({
      requests: observed(random, [90, 120], 60),
      inputTokens: observed(random, [40_000], 30_000),
      outputTokens: observed(random, [8000], 6000),
      ...(random() < 0.3 ? { tokens: observed(random, [30_000, 48_000], 20_000) } : {}),
    }),
  },
  {
    // Configured with a daily limit and concurrency; answers bring an input limit that changes under it.
    id: 'bounded',
    limits: { rpm: 50, rpd: 400, itpm: 30_000, otpm: 16_000, concurrency: 4 },
    answer: (random) => ({ requests: observed(random, [50], 40), inputTokens: observed(random, [30_000, 20_000], 20_000) }),
  },
  {
    // OpenAI-like: only tpm configured; the request limit is learned from the first answer, mid-flight.
    id: 'openai',
    limits: { tpm: 60_000 },
    answer: (random) => ({ requests: observed(random, [100], 80), tokens: observed(random, [60_000, 80_000], 50_000) }),
  },
  {
    // Nothing configured: one request at a time until an answer, then every bucket created from headers.
    id: 'unknown',
    limits: {},
    answer: (random) => ({
      requests: observed(random, [30], 25),
      inputTokens: observed(random, [20_000], 15_000),
      outputTokens: observed(random, [4000], 3000),
    }),
  },
  {
    // Counted per sliding window (issue 17): admitted by its log, its buckets still learn from the headers.
    id: 'sliding',
    limits: { rpm: 60, itpm: 40_000 },
    window: { type: 'sliding', lengthMs: 5000 },
    answer: (random) => ({ requests: observed(random, [60], 5), inputTokens: observed(random, [40_000], 3000) }),
  },
  {
    // Counted per fixed window, aligned on multiples of 3 s.
    id: 'fixed',
    limits: { rpm: 40, otpm: 6000 },
    window: { type: 'fixed', lengthMs: 3000 },
    answer: (random) => ({ requests: observed(random, [40], 2), outputTokens: observed(random, [6000], 300) }),
  },
];

const REST_POLICY: RestPolicy = { firstProbeMs: 1000, maxProbeMs: 4000 };

function assertSameState(memory: KeySnapshot[], redis: KeySnapshot[], when: string): void {
  assert.equal(redis.length, memory.length);
  for (let i = 0; i < memory.length; i++) {
    const [m, r] = [memory[i]!, redis[i]!];
    const facts = (k: KeySnapshot) => [k.id, k.healthy, k.disabledReason, k.nextProbeAt, k.coolingUntil, k.inFlight, k.learning, k.predictionMisses, k.window];
    assert.deepEqual(facts(r), facts(m), `${when}, key ${m.id}`);
    assert.deepEqual(Object.keys(r.dimensions).sort(), Object.keys(m.dimensions).sort(), `${when}, key ${m.id}: the same buckets`);
    for (const [d, a] of Object.entries(m.dimensions)) {
      const b = r.dimensions[d as keyof typeof r.dimensions]!;
      const close = Math.abs(a.limit - b.limit) < 1e-9 && Math.abs(a.capacity - b.capacity) < 1e-6 && Math.abs(a.remaining - b.remaining) < 1e-6;
      assert.ok(close, `${when}, key ${m.id} ${d}: ${JSON.stringify(a)} in process vs ${JSON.stringify(b)} in Redis`);
    }
  }
}

describe('the in-process and the Redis key pool agree', { skip: skipWithoutRedis }, () => {
  let redis: RedisServer;
  const stores: RedisStore[] = [];
  before(async () => {
    redis = await startRedis();
  });
  after(async () => {
    for (const store of stores) await store.close();
    await redis.stop();
  });

  for (const seed of [7, 2024, 31337]) {
    it(`a long mixed run makes the same decisions and ends in the same state (seed ${seed})`, async () => {
      let t = T0;
      const store = new RedisStore({ url: redis.url, prefix: `agree${seed}:`, heartbeatMs: 0, now: () => t });
      stores.push(store);
      const keys = KEYS.map(({ id, limits, window }) => ({ id, limits, ...(window ? { window } : {}) }));
      const memory = new KeyPool('p', keys, { rest: REST_POLICY });
      const shared = new RedisKeyPool('p', keys, store, { rest: REST_POLICY });
      const both = async <T>(call: (pool: QuotaPool, i: number) => T | Promise<T>): Promise<[T, T]> => [await call(memory, 0), await call(shared, 1)];

      let state = seed;
      const random = () => (state = (state * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
      const open: Array<[Reservation, Reservation]> = [];
      const settled: Array<[Reservation, Reservation]> = [];
      const seen = new Set<string>();
      for (let step = 0; step < 600; step++, t += Math.floor(random() * 300)) {
        const at = `step ${step} (t0+${t - T0})`;
        const action = random();
        const key = pick(random, KEYS);
        if (action < 0.42) {
          const demand: Demand = { inputTokens: 100 + Math.floor(random() * 3000), outputTokens: 50 + Math.floor(random() * 1000) };
          const avoid = random() < 0.1 ? new Set([key.id]) : undefined;
          const [m, r] = await both((p) => p.tryReserve(demand, t, 'interactive', avoid));
          // Same key, or the same wait give or take the 1 ms a float summed in another order can round to.
          if (m.ok || r.ok) assert.equal(r.ok && r.reservation.keyId, m.ok && m.reservation.keyId, `${at}: admitted on`);
          else assert.ok(Math.abs(r.waitMs - m.waitMs) <= 1 || r.waitMs === m.waitMs, `${at}: wait ${r.waitMs} in Redis vs ${m.waitMs} in process`);
          if (m.ok && r.ok) {
            open.push([m.reservation, r.reservation]);
            seen.add(m.reservation.keyId);
          }
        } else if (action < 0.67 && open.length > 0) {
          const pair = open.splice(Math.floor(random() * open.length), 1)[0]!;
          const demand = pair[0].demand;
          const usage: Usage | undefined =
            random() < 0.1 ? undefined : { inputTokens: Math.max(0, demand.inputTokens - Math.floor(random() * 200)), outputTokens: Math.floor(demand.outputTokens * random()) };
          await both((p, i) => p.settle(pair[i]!, usage, t));
          settled.push(pair);
        } else if (action < 0.85) {
          // An answer: to a request still in flight, a late one to a settled request, or one nobody can place.
          const source = random();
          const pair = source < 0.7 && open.length > 0 ? pick(random, open) : source < 0.85 && settled.length > 0 ? pick(random, settled) : undefined;
          const keyId = pair ? pair[0].keyId : key.id;
          const headers = KEYS.find((k) => k.id === keyId)!.answer(random);
          if (pair && random() < 0.15) headers.refused = true; // a 429's headers
          // When its request was handed to the connection: unknown, or some time after admission.
          const sentAt = pair && random() < 0.5 ? Math.min(t, pair[0].at + Math.floor(random() * 400)) : undefined;
          await both((p, i) => p.observe(keyId, headers, t, pair?.[i], sentAt));
        } else if (action < 0.91) {
          const until = t + Math.floor(random() * 5000);
          await both((p) => p.coolDown(key.id, until));
        } else if (action < 0.95) {
          const [m, r] = await both((p) => p.rest(key.id, `refused at step ${step}`, t));
          assert.equal(r, m, `${at}: rest ${key.id}`);
        } else if (action < 0.98) {
          const [m, r] = await both((p) => p.claimProbe(key.id, t));
          assert.equal(r, m, `${at}: probe ${key.id}`);
        } else {
          const [m, r] = await both((p) => p.enable(key.id));
          assert.equal(r, m, `${at}: enable ${key.id}`);
        }
        if (step % 25 === 0) {
          assert.ok(await shared.refresh());
          assertSameState(memory.snapshot(t), shared.snapshot(t), at);
        }
      }
      // Everything still open ends; both pools are then back at rest with the same levels.
      for (const pair of open.splice(0)) await both((p, i) => p.settle(pair[i]!, pair[0].demand, t));
      assert.ok(await shared.refresh());
      assertSameState(memory.snapshot(t), shared.snapshot(t), 'at the end');
      const end = t + 120_000;
      assertSameState(memory.snapshot(end), shared.snapshot(end), 'two minutes later');
      // The run exercised what it claims to.
      const snapshot = memory.snapshot(t);
      assert.ok(snapshot.find((k) => k.id === 'openai')!.dimensions.rpm, 'a request limit learned mid-flight');
      assert.ok(snapshot.find((k) => k.id === 'unknown')!.dimensions.otpm, 'every bucket of an unconfigured key learned');
      assert.ok(snapshot.some((k) => k.predictionMisses > 0), 'cool-downs');
      assert.equal(seen.size, KEYS.length, 'every key admitted something');
    });
  }
});
