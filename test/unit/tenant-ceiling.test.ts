import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TenantCeiling } from '../../src/tenants/ceiling.js';
import { headroomHeaders } from '../../src/tenants/limit-headers.js';

const T0 = 1_700_000_000_000;
const one = { inputTokens: 100, outputTokens: 50 };

describe('tenant ceiling', () => {
  it('60 rpm is paced at one a second, not a burst of 60 then a minute of nothing', () => {
    const ceiling = new TenantCeiling({ rpm: 60 }, T0);
    assert.equal(ceiling.waitFor(one, T0), 0);
    ceiling.take(one, T0);
    const wait = ceiling.waitFor(one, T0);
    assert.ok(wait > 900 && wait <= 1100, `wait ${wait}`);
    assert.equal(ceiling.waitFor(one, T0 + 1100), 0);
  });

  it('token ceilings count the estimate, and give back what the real usage did not take', () => {
    const ceiling = new TenantCeiling({ tpm: 6000 }, T0); // 100 tokens a second, a burst of 100
    ceiling.take({ inputTokens: 60, outputTokens: 40 }, T0);
    assert.ok(ceiling.waitFor({ inputTokens: 50, outputTokens: 0 }, T0) > 0);
    ceiling.settle({ inputTokens: 60, outputTokens: 40 }, { inputTokens: 10, outputTokens: 5 }, T0);
    assert.equal(ceiling.waitFor({ inputTokens: 50, outputTokens: 0 }, T0), 0);
  });

  it('concurrency frees a slot only when a request settles', () => {
    const ceiling = new TenantCeiling({ concurrency: 1 }, T0);
    ceiling.take(one, T0);
    assert.equal(ceiling.waitFor(one, T0 + 3_600_000), Infinity);
    ceiling.settle(one, undefined, T0 + 10);
    assert.equal(ceiling.waitFor(one, T0 + 10), 0);
  });

  it('a failed attempt tried again is refunded, all but its concurrency slot (its settle frees that): the request counts once', () => {
    const ceiling = new TenantCeiling({ rpm: 60, tpm: 6000, concurrency: 1 }, T0);
    ceiling.take(one, T0);
    ceiling.settle(one, undefined, T0); // no answer: the provider's usage is unknown
    ceiling.refund(one, T0);
    const left = Object.fromEntries(ceiling.headroom(T0).map(({ dimension, remaining }) => [dimension, remaining]));
    assert.deepEqual(left, { rpm: 1, tpm: 100, concurrency: 1 });
    ceiling.take(one, T0); // the attempt that serves it
    assert.ok(ceiling.waitFor(one, T0) > 900, 'the next request waits for the one taken');
  });

  it("headroom in each surface's own headers", () => {
    const ceiling = new TenantCeiling({ rpm: 300, tpm: 400_000, rpd: 1000 }, T0);
    ceiling.take(one, T0);
    const headroom = ceiling.headroom(T0);
    const anthropic = headroomHeaders('anthropic', headroom, T0);
    assert.equal(anthropic['anthropic-ratelimit-requests-limit'], '300');
    assert.equal(anthropic['anthropic-ratelimit-requests-remaining'], '4');
    assert.equal(anthropic['anthropic-ratelimit-requests-reset'], '2023-11-14T22:13:20Z');
    assert.equal(anthropic['anthropic-ratelimit-tokens-limit'], '400000');
    const openai = headroomHeaders('openai', headroom, T0);
    assert.equal(openai['x-ratelimit-limit-requests'], '300');
    assert.equal(openai['x-ratelimit-remaining-requests'], '4');
    assert.equal(openai['x-ratelimit-reset-requests'], '200ms');
    assert.equal(openai['x-ratelimit-limit-tokens'], '400000');
    assert.equal(Object.keys(openai).some((name) => name.includes('day')), false);
  });
});
