/**
 * After an upstream 429: the key's level comes from the 429's own headers (each provider's dialect),
 * and the waiting requests go out one by one as the bucket refills, not all together at the end of
 * a whole-second retry-after. Both engines of the quota policy, on a fake clock.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Limits } from '../../src/config/schema.js';
import { parseAnthropicLimits } from '../../src/providers/anthropic/limits.js';
import { parseGeminiErrorBody, parseGeminiLimits } from '../../src/providers/gemini/limits.js';
import { parseOpenAILimits } from '../../src/providers/openai/limits.js';
import { KeyPool } from '../../src/quota/pool.js';
import { refusalExplained, restAfterRefusal } from '../../src/quota/refusal.js';
import type { Demand, QuotaPool, Reservation } from '../../src/quota/types.js';
import { judgeRefusal } from '../../src/resilience/outcome.js';
import { RedisKeyPool } from '../../src/store/redis-pool.js';
import { RedisStore } from '../../src/store/redis-store.js';
import { reserved, small, T0 } from '../support/quota.js';
import { skipWithoutRedis, startRedis, type RedisServer } from '../support/redis.js';

const iso = (ms: number) => new Date(Math.ceil(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z');

describe('a 429 explained by its own headers', () => {
  const demand: Demand = { inputTokens: 500, outputTokens: 200 };

  it('Anthropic: requests remaining 0 of 600 a minute → rest 100 ms, not the 1 s retry-after', () => {
    const headers = {
      'retry-after': '1',
      'anthropic-ratelimit-requests-limit': '600',
      'anthropic-ratelimit-requests-remaining': '0',
      'anthropic-ratelimit-requests-reset': iso(T0 + 6000),
      'anthropic-ratelimit-input-tokens-limit': '2000000',
      'anthropic-ratelimit-input-tokens-remaining': '199000',
      'anthropic-ratelimit-input-tokens-reset': iso(T0 + 1000),
    };
    const observed = parseAnthropicLimits(headers, T0);
    assert.equal(refusalExplained(observed, demand), true);
    assert.equal(restAfterRefusal(observed, demand), 100);
  });

  it('Anthropic: input tokens one short of the request → until one token refills', () => {
    const headers = {
      'retry-after': '3',
      'anthropic-ratelimit-requests-limit': '600',
      'anthropic-ratelimit-requests-remaining': '40',
      'anthropic-ratelimit-input-tokens-limit': '30000',
      'anthropic-ratelimit-input-tokens-remaining': '499',
    };
    assert.equal(restAfterRefusal(parseAnthropicLimits(headers, T0), demand), 2); // 30k a minute: 0.5 a ms
  });

  it('a request larger than the limit itself: the key does not rest (no amount of rest makes room for it)', () => {
    const headers = {
      'retry-after': '1649',
      'anthropic-ratelimit-requests-limit': '600',
      'anthropic-ratelimit-requests-remaining': '599',
      'anthropic-ratelimit-input-tokens-limit': '40000',
      'anthropic-ratelimit-input-tokens-remaining': '40000',
    };
    assert.equal(restAfterRefusal(parseAnthropicLimits(headers, T0), { inputTokens: 5_200_000, outputTokens: 64 }), 0);
  });

  it('OpenAI: tokens remaining below input + output → until the 50 missing refill', () => {
    const headers = {
      'retry-after': '1',
      'x-ratelimit-limit-requests': '5000',
      'x-ratelimit-remaining-requests': '4000',
      'x-ratelimit-reset-requests': '12ms',
      'x-ratelimit-limit-tokens': '40000',
      'x-ratelimit-remaining-tokens': '650',
      'x-ratelimit-reset-tokens': '1m0s',
    };
    assert.equal(restAfterRefusal(parseOpenAILimits(headers, T0), demand), 75); // 40k a minute
  });

  it('headers that show room everywhere do not explain it: the retry hint decides', () => {
    const headers = { 'retry-after': '2', 'x-ratelimit-limit-requests': '5000', 'x-ratelimit-remaining-requests': '4000', 'x-ratelimit-limit-tokens': '40000', 'x-ratelimit-remaining-tokens': '30000' };
    assert.equal(restAfterRefusal(parseOpenAILimits(headers, T0), demand), 2000);
  });

  it('a remaining without its limit may be a limit the pool does not track: the retry hint decides', () => {
    assert.equal(restAfterRefusal({ retryAfterMs: 1000, requests: { remaining: 0 } }, demand), 1000);
  });

  it('Gemini has no rate-limit headers: the RetryInfo of its body decides', () => {
    const body = JSON.stringify({ error: { code: 429, details: [{ '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay: '7s' }] } });
    const observed = { ...parseGeminiLimits({}), ...parseGeminiErrorBody(429, body, T0) };
    assert.equal(restAfterRefusal(observed, demand), 7000);
  });

  it('the miss is counted, the key cools down that long', () => {
    const observed = parseAnthropicLimits({ 'retry-after': '1', 'anthropic-ratelimit-requests-limit': '60', 'anthropic-ratelimit-requests-remaining': '0' }, T0);
    const { key } = judgeRefusal({ status: 429, headers: {}, body: '', now: T0, cooldownMs: restAfterRefusal(observed, demand) });
    assert.deepEqual(key, { kind: 'cool-down', until: T0 + 1000 }); // 60 a minute: one a second
  });
});

let redis: RedisServer | undefined;
before(async () => {
  if (!skipWithoutRedis) redis = await startRedis();
});
const stores: RedisStore[] = [];
after(async () => {
  for (const store of stores) await store.close();
  await redis?.stop();
});

const engines: Array<{ name: string; skip: string | false; open(limits: Limits): QuotaPool }> = [
  { name: 'in-process', skip: false, open: (limits) => new KeyPool('p', [{ id: 'k', limits }]) },
  {
    name: 'redis',
    skip: skipWithoutRedis,
    open(limits) {
      const store = new RedisStore({ url: redis!.url, prefix: `refusal${Math.random().toString(36).slice(2)}:`, heartbeatMs: 0, now: () => T0 });
      stores.push(store);
      return new RedisKeyPool('p', [{ id: 'k', limits }], store);
    },
  },
];

for (const engine of engines) {
  describe(`after a 429, waiters go out at the refill rate (${engine.name})`, { skip: engine.skip }, () => {
    /**
     * A key of 600 rpm whose bucket holds a tenth of the minute (60, refilled at 10/s). Its burst is
     * learned, 3 requests are in flight, and one of them is refused with remaining 0 and retry-after 1 s.
     * Returns the admission times (ms after the 429) of as many requests as fit, tried every ms for two seconds.
     */
    async function afterRefusal(rest: (observedRest: number) => number): Promise<number[]> {
      const pool = engine.open({ rpm: 600 });
      let t = T0;
      const first = reserved(await pool.tryReserve(small, t));
      await pool.observe('k', { requests: { limit: 600, remaining: 59 } }, t + 5, first, t);
      await pool.settle(first, small, t + 5);
      t += 200;
      const inFlight: Reservation[] = [];
      for (let i = 0; i < 3; i++) inFlight.push(reserved(await pool.tryReserve(small, t)));
      // The last one reached a provider whose bucket others had emptied (it is at 0 for all we knew).
      const refused = inFlight.pop()!;
      const at429 = t + 30;
      const observed = parseAnthropicLimits(
        { 'retry-after': '1', 'anthropic-ratelimit-requests-limit': '600', 'anthropic-ratelimit-requests-remaining': '0', 'anthropic-ratelimit-requests-reset': iso(at429 + 6000) },
        at429,
      );
      await pool.observe('k', observed, at429, refused, at429);
      await pool.settle(refused, undefined, at429);
      await pool.coolDown('k', at429 + rest(restAfterRefusal(observed, refused.demand)));
      const admitted: number[] = [];
      for (let now = at429; now < at429 + 2000; now++) {
        while ((await pool.tryReserve(small, now)).ok) admitted.push(now - at429);
      }
      return admitted;
    }

    it('one every 100 ms from the level the 429 showed, less what is still on the way', async () => {
      const admitted = await afterRefusal((rest) => rest);
      // 2 still in flight after the refused one: the level is -2, so the first waits for 3 units
      // (0.3 s), then one per 100 ms.
      const first = (3 * 1000) / 10;
      assert.ok(Math.abs(admitted[0]! - first) <= 1, `first at +${admitted[0]} ms, expected +${first}`);
      for (let i = 1; i < admitted.length; i++) {
        const gap = admitted[i]! - admitted[i - 1]!;
        assert.ok(gap >= 99 && gap <= 101, `admissions ${i - 1} and ${i} are ${gap} ms apart: ${admitted.join(', ')}`);
      }
      assert.equal(admitted.length, 17); // +300 … +1900
    });

    it('with the whole-second rest instead, nothing goes out before it ends, and then several together', async () => {
      const admitted = await afterRefusal(() => 1000);
      assert.ok(admitted.every((ms) => ms >= 1000));
      assert.ok(admitted.filter((ms) => ms === 1000).length >= 5, `at the end of the rest: ${admitted.join(', ')}`);
    });
  });
}
