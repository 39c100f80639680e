/** Each replica's share of the limits while Redis is unreachable. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { limitsOfSnapshot, shareOfLimits, shareOfObserved } from '../../src/store/replica-share.js';

describe('a replica’s share of the limits during an outage', () => {
  it('splits every limit by the replica count; concurrency stays whole and at least one', () => {
    assert.deepEqual(shareOfLimits({ rpm: 90, itpm: 30_000, concurrency: 4 }, 3), { rpm: 30, itpm: 10_000, concurrency: 1 });
    assert.deepEqual(shareOfLimits({ concurrency: 2 }, 5), { concurrency: 1 });
    assert.deepEqual(shareOfLimits({ rpm: 60 }, 0), { rpm: 60 }, 'an unknown count is one replica');
  });

  it('takes its share of what the headers say is left, and keeps retry-after whole', () => {
    assert.deepEqual(shareOfObserved({ requests: { limit: 90, remaining: 30, resetMs: 500 }, retryAfterMs: 2000 }, 3), {
      requests: { limit: 30, remaining: 10, resetMs: 500 },
      retryAfterMs: 2000,
    });
  });

  it('starts from the learned limits when the shared state showed them, else the configured ones', () => {
    const learned = { id: 'a', healthy: true, coolingUntil: 0, inFlight: 0, learning: false, predictionMisses: 0, dimensions: { rpm: { limit: 1000, capacity: 100, remaining: 5 } } };
    assert.deepEqual(limitsOfSnapshot(learned, { rpm: 50 }), { rpm: 1000 });
    assert.deepEqual(limitsOfSnapshot({ ...learned, learning: true, dimensions: {} }, { rpm: 50 }), { rpm: 50 });
    assert.deepEqual(limitsOfSnapshot(undefined, { rpm: 50 }), { rpm: 50 });
  });
});
