/** quota/oversize.ts: a request whose input no key's per-minute limit could ever admit. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { OVERSIZE_MARGIN, oversize } from '../../src/quota/oversize.js';
import type { KeySnapshot } from '../../src/quota/types.js';

const key = (id: string, dimensions: KeySnapshot['dimensions']): KeySnapshot => ({ id, healthy: true, coolingUntil: 0, inFlight: 0, learning: false, predictionMisses: 0, dimensions });
const itpm = (limit: number) => ({ itpm: { limit, capacity: limit, remaining: limit } });
const tpm = (limit: number) => ({ tpm: { limit, capacity: limit, remaining: limit } });

describe('a request larger than every key can ever admit', () => {
  it('is one whose input passes every key\'s itpm (or tpm) by the margin; the largest limit is named', () => {
    const keys = [key('a', itpm(40_000)), key('b', tpm(30_000))];
    assert.deepEqual(oversize(keys, { inputTokens: 5_200_000 }), { dimension: 'itpm', limit: 40_000 });
  });

  it('one key large enough is enough', () => {
    assert.equal(oversize([key('a', itpm(40_000)), key('b', itpm(2_000_000))], { inputTokens: 100_000 }), undefined);
  });

  it('an estimate within the margin of the limit goes to the provider, which decides', () => {
    assert.equal(oversize([key('a', itpm(40_000))], { inputTokens: 40_000 * OVERSIZE_MARGIN }), undefined);
    assert.ok(oversize([key('a', itpm(40_000))], { inputTokens: 40_000 * OVERSIZE_MARGIN + 1 }));
  });

  it('keys with no token limit known, or no keys, never refuse', () => {
    assert.equal(oversize([key('a', { rpm: { limit: 50, capacity: 1, remaining: 1 } })], { inputTokens: 10_000_000 }), undefined);
    assert.equal(oversize([], { inputTokens: 10_000_000 }), undefined);
  });
});
