/**
 * Issue 17, windowed limits: a provider that counts per window (sliding or fixed) rather than
 * refilling. A burst several windows deep through spillway to two such keys all succeeds with
 * upstream 429s at most 1% when the window is configured; told only the per-minute rate, the
 * gateway's bucket sends the next request as soon as the rate allows and the window refuses it.
 * (Makespan against the window-limited minimum: bench/windows.ts.)
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { WindowConfig } from '../../src/config/schema.js';
import { fireBurst } from '../../src/sim/burst.js';
import type { SimRateWindow } from '../../src/sim/index.js';
import { simKeys, startStack } from '../support/stack.js';

// 600 rpm in 2-second windows: 20 per window per key; 120 requests over two keys are 3 windows deep.
const COUNT = 120;
const limits = { rpm: 600, itpm: 10_000_000, otpm: 10_000_000 };

async function burst(rateWindow: SimRateWindow, window: WindowConfig | undefined) {
  const keys = simKeys(2, limits);
  const stack = await startStack({
    sim: { keys, rateWindow, latency: { ttftMs: 20 } },
    config: (simUrl) => ({
      providers: { anthropic: { type: 'anthropic', base_url: simUrl, keys, ...(window ? { window } : {}) } },
      routes: { '*': { targets: [{ provider: 'anthropic' }] } },
    }),
  });
  try {
    const result = await fireBurst({ baseURL: stack.gateway.url, apiKeys: ['client'], count: COUNT });
    return { result, upstream: stack.sim.stats().total, keys: stack.sim.stats().keys };
  } finally {
    await stack.close();
  }
}

for (const type of ['sliding', 'fixed'] as const) {
  describe(`${COUNT} requests at once through two keys whose provider counts per 2 s ${type} window`, () => {
    it('with the window configured: all succeed, upstream 429s at most 1%, both keys carry the load', async () => {
      const { result, upstream, keys } = await burst({ type, lengthMs: 2000 }, { type, length: 2000 });
      assert.deepEqual(result.failures, {});
      assert.equal(result.succeeded, COUNT);
      assert.ok(upstream.rateLimited <= upstream.requests * 0.01, `upstream 429s: ${upstream.rateLimited} of ${upstream.requests}`);
      for (const key of Object.values(keys)) assert.ok(key.ok >= COUNT / 4, 'each key served its share');
    });
  });
}

describe('the same burst with only the per-minute rate configured (a bucket)', () => {
  it('meets 429s from the sliding window: the window is what avoids them', async () => {
    const { upstream } = await burst({ type: 'sliding', lengthMs: 2000 }, { type: 'bucket', length: 60_000 });
    assert.ok(upstream.rateLimited > upstream.requests * 0.01, `upstream 429s: ${upstream.rateLimited} of ${upstream.requests}`);
  });
});
