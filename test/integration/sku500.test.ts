/**
 * Issue 3, SKU-500 (small): a burst fired at once with the official SDK through spillway to two
 * keys all succeeds, with upstream 429s at most 1% of upstream requests, under per-minute and
 * per-second enforcement alike. (Makespan against the theoretical limit: bench/sku500.ts.)
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fireBurst } from '../../src/sim/burst.js';
import type { SimWindow } from '../../src/sim/index.js';
import { simKeys, startStack } from '../support/stack.js';

const scenarios: Array<{ name: string; window: SimWindow; count: number; rpm: number }> = [
  // A minute's burst of 2 × 90 requests, then 180/min: the last of 200 go out after about 7 s.
  { name: 'limits enforced per minute', window: 'minute', count: 200, rpm: 90 },
  // One second's burst of 2 × 20 requests, then 40/s: about 4 s.
  { name: 'limits enforced per second', window: 'second', count: 200, rpm: 1200 },
];

for (const { name, window, count, rpm } of scenarios) {
  describe(`${count} requests at once through two keys, ${name}`, () => {
    it('all succeed, and upstream 429s stay at most 1% of upstream requests', async () => {
      const keys = simKeys(2, { rpm, itpm: 1_000_000, otpm: 1_000_000 });
      const stack = await startStack({ sim: { keys, window, latency: { ttftMs: 20 } } });
      try {
        const result = await fireBurst({ baseURL: stack.gateway.url, apiKeys: ['client'], count });
        const upstream = stack.sim.stats().total;
        assert.deepEqual(result.failures, {});
        assert.equal(result.succeeded, count);
        assert.equal(upstream.ok, count, 'each request went upstream once');
        assert.ok(upstream.rateLimited <= upstream.requests * 0.01, `upstream 429s: ${upstream.rateLimited} of ${upstream.requests}`);
        // Both keys carried the load.
        for (const key of keys) assert.ok(stack.sim.stats().keys[key.id]!.ok > count / 4, `${key.id} served its share`);
      } finally {
        await stack.close();
      }
    });
  });
}
