/**
 * Issue 17: a key's window learned from its answers' resets, read in the providers' own header
 * dialects (Anthropic: an RFC 3339 instant in whole seconds; OpenAI: a Go duration from the
 * answer). Every time comes from a fake clock.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseAnthropicLimits } from '../../src/providers/anthropic/limits.js';
import { parseOpenAILimits } from '../../src/providers/openai/limits.js';
import { learnWindow, resetSample, WindowLearner, type ResetSample } from '../../src/quota/window-learn.js';
import { T0 } from '../support/quota.js';

const LIMIT = 120; // per minute: 20 per 10 s window

/** Anthropic's headers for an answer at `now`: the limit is whole again at `resetAt` (sent in whole seconds, rounded up). */
function anthropic(remaining: number, resetAt: number, now: number) {
  const reset = new Date(Math.ceil(resetAt / 1000) * 1000).toISOString().replace('.000Z', 'Z');
  return parseAnthropicLimits(
    { 'anthropic-ratelimit-requests-limit': String(LIMIT), 'anthropic-ratelimit-requests-remaining': String(remaining), 'anthropic-ratelimit-requests-reset': reset },
    now,
  );
}

/** OpenAI's headers, the reset a duration from the moment the provider wrote them (`madeAt`), read at `now`. */
function openai(remaining: number, resetAt: number, madeAt: number, now: number) {
  const ms = Math.max(0, resetAt - madeAt);
  return parseOpenAILimits({ 'x-ratelimit-limit-requests': String(LIMIT), 'x-ratelimit-remaining-requests': String(remaining), 'x-ratelimit-reset-requests': `${(ms / 1000).toFixed(3)}s` }, now);
}

interface Shot {
  sent: number;
  /** When the provider counted it. */
  arrived: number;
  /** When its answer was read. */
  answered: number;
  remaining: number;
}

/** Twenty requests at once, arriving over 300 ms, answered 200 ms after arriving; again one window later. */
function burst(start: number, lengthMs: number): Shot[] {
  const shots: Shot[] = [];
  for (const base of [start, start + lengthMs + 500]) {
    for (let i = 0; i < 20; i++) shots.push({ sent: base, arrived: base + 15 * i, answered: base + 15 * i + 200, remaining: 19 - i });
  }
  return shots;
}

function samples(shots: Shot[], reset: (shot: Shot) => number, dialect: 'anthropic' | 'openai'): ResetSample[] {
  return shots.map((shot) => {
    const resetAt = reset(shot);
    const observed = dialect === 'anthropic' ? anthropic(shot.remaining, resetAt, shot.answered) : openai(shot.remaining, resetAt, shot.arrived, shot.answered);
    const sample = resetSample(observed, shot.answered, shot.sent);
    assert.ok(sample);
    return sample;
  });
}

const slidingReset = (lengthMs: number) => (shot: Shot) => shot.arrived + lengthMs; // the newest request leaves last
const fixedReset = (lengthMs: number) => (shot: Shot) => Math.floor(shot.arrived / lengthMs) * lengthMs + lengthMs;
/** A bucket as big as the minute: full again when what was taken has refilled. */
const bucketReset = (shot: Shot) => shot.arrived + ((LIMIT - shot.remaining) * 60_000) / LIMIT;

describe('learning a window from resets', () => {
  for (const dialect of ['anthropic', 'openai'] as const) {
    it(`${dialect}: a reset one window after each request, however much is left, is a sliding window of that length`, () => {
      for (const lengthMs of [10_000, 60_000]) {
        assert.deepEqual(learnWindow(samples(burst(T0 + 3700, lengthMs), slidingReset(lengthMs), dialect)), { type: 'sliding', lengthMs });
      }
    });

    it(`${dialect}: resets on the same boundary for requests sent in different windows make a fixed window of the boundaries' spacing`, () => {
      // Requests spread over two windows, a second apart: everyone in a window names its end.
      const shots: Shot[] = Array.from({ length: 16 }, (_, i) => ({ sent: T0 + 3000 + i * 1000, arrived: T0 + 3040 + i * 1000, answered: T0 + 3240 + i * 1000, remaining: 19 - (i % 10) }));
      assert.deepEqual(learnWindow(samples(shots, fixedReset(10_000), dialect)), { type: 'fixed', lengthMs: 10_000 });
    });

    it(`${dialect}: a reset that grows with what was taken is a bucket`, () => {
      assert.deepEqual(learnWindow(samples(burst(T0, 10_000), bucketReset, dialect)), { type: 'bucket' });
    });
  }

  it('says nothing while the answers cannot tell: too few, levels too alike, or one fixed window only', () => {
    const sliding = samples(burst(T0, 10_000), slidingReset(10_000), 'anthropic');
    assert.equal(learnWindow(sliding.slice(0, 5)), undefined);
    assert.equal(learnWindow(sliding.slice(0, 3).concat(sliding.slice(20, 23))), undefined, 'remaining 19..17 twice: a bucket would reset alike');
    const oneWindow: Shot[] = Array.from({ length: 8 }, (_, i) => ({ sent: T0 + 1000 * i, arrived: T0 + 1000 * i + 40, answered: T0 + 1000 * i + 240, remaining: 19 - i }));
    assert.equal(learnWindow(samples(oneWindow, fixedReset(10_000), 'anthropic')), undefined);
  });

  it('a refused answer says nothing of its own request: no sample', () => {
    const observed = anthropic(0, T0 + 9000, T0 + 100);
    assert.ok(resetSample(observed, T0 + 100, T0));
    assert.equal(resetSample({ ...observed, refused: true }, T0 + 100, T0), undefined);
    assert.equal(resetSample({}, T0 + 100, T0), undefined);
  });

  it('the learner names a shape once, when it changes, and not a bucket first (what a key starts as)', () => {
    const learner = new WindowLearner();
    const named = samples(burst(T0, 10_000), bucketReset, 'openai').map((s) => learner.observe('k', s)).filter(Boolean);
    assert.deepEqual(named, []);
    const sliding = samples(burst(T0 + 60_000, 10_000), slidingReset(10_000), 'openai').map((s) => learner.observe('k', s)).filter(Boolean);
    assert.deepEqual(sliding, [{ type: 'sliding', lengthMs: 10_000 }]);
  });
});
