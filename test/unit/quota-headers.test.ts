import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { cooldownMs, retryDelayFromHeaders } from '../../src/quota/headers.js';
import { parseAnthropicLimits } from '../../src/providers/anthropic/limits.js';
import { parseGoDuration, parseOpenAILimits } from '../../src/providers/openai/limits.js';

describe('rate-limit headers', () => {
  it('reads the Anthropic headers of a real answer (wire-facts §1.3)', () => {
    const now = Date.parse('2025-08-21T12:40:58.500Z');
    const observed = parseAnthropicLimits(
      {
        'anthropic-ratelimit-input-tokens-limit': '80000',
        'anthropic-ratelimit-input-tokens-remaining': '80000',
        'anthropic-ratelimit-input-tokens-reset': '2025-08-21T12:40:59Z',
        'anthropic-ratelimit-output-tokens-limit': '16000',
        'anthropic-ratelimit-output-tokens-remaining': '16000',
        'anthropic-ratelimit-output-tokens-reset': '2025-08-21T12:41:00Z',
        'anthropic-ratelimit-requests-limit': '1000',
        'anthropic-ratelimit-requests-remaining': '999',
        'anthropic-ratelimit-requests-reset': '2025-08-21T12:40:59Z',
        'anthropic-ratelimit-tokens-limit': '96000',
        'anthropic-ratelimit-tokens-remaining': '96000',
        'anthropic-ratelimit-tokens-reset': '2025-08-21T12:40:59Z',
        'request-id': 'req_011CSLsW7mFqvHHnzrKdKjAE',
      },
      now,
    );
    assert.deepEqual(observed, {
      requests: { limit: 1000, remaining: 999, resetMs: 500 },
      inputTokens: { limit: 80000, remaining: 80000, resetMs: 500 },
      outputTokens: { limit: 16000, remaining: 16000, resetMs: 1500 },
      tokens: { limit: 96000, remaining: 96000, resetMs: 500 },
    });
  });

  it('reads the OpenAI headers (wire-facts §5.4), whatever the case of the names', () => {
    const observed = parseOpenAILimits(
      {
        'x-ratelimit-limit-requests': '60',
        'X-RateLimit-Limit-Tokens': '150000',
        'x-ratelimit-remaining-requests': '59',
        'x-ratelimit-remaining-tokens': '149984',
        'x-ratelimit-reset-requests': '1s',
        'x-ratelimit-reset-tokens': '6m0s',
      },
      0,
    );
    assert.deepEqual(observed, {
      requests: { limit: 60, remaining: 59, resetMs: 1000 },
      tokens: { limit: 150000, remaining: 149984, resetMs: 360_000 },
    });
  });

  it('an answer without rate-limit headers observes nothing', () => {
    assert.deepEqual(parseAnthropicLimits({ 'content-type': 'application/json' }, 0), {});
    assert.deepEqual(parseOpenAILimits({ 'content-type': 'application/json' }, 0), {});
  });

  it('parses Go durations', () => {
    const cases: Array<[string, number | undefined]> = [
      ['6m0s', 360_000],
      ['1s', 1000],
      ['12ms', 12],
      ['9ms', 9],
      ['34s', 34_000],
      ['1.5s', 1500],
      ['1.772s', 1772],
      ['1h2m3s', 3_723_000],
      ['1s772ms', 1772],
      ['500us', 0.5],
      ['0s', 0],
      ['0', 0],
      ['', undefined],
      ['6 minutes', undefined],
      ['12', undefined],
      ['1x', undefined],
    ];
    for (const [text, ms] of cases) assert.equal(parseGoDuration(text), ms, text);
  });

  it('reads retry delays: retry-after-ms first, then retry-after seconds or date', () => {
    const now = Date.parse('2025-08-21T12:41:00Z');
    const cases: Array<[Record<string, string | string[]>, number | undefined]> = [
      [{ 'retry-after': '30' }, 30_000],
      [{ 'retry-after': '1.5' }, 1500],
      [{ 'retry-after-ms': '250', 'retry-after': '30' }, 250],
      [{ 'retry-after-ms': 'soon', 'retry-after': '2' }, 2000],
      [{ 'retry-after': 'Thu, 21 Aug 2025 12:41:10 GMT' }, 10_000],
      [{ 'retry-after': 'Thu, 21 Aug 2025 12:40:00 GMT' }, 0],
      [{ 'retry-after': ['3', '4'] }, 3000],
      [{ 'retry-after': '-1' }, undefined],
      [{ 'retry-after': 'never' }, undefined],
      [{}, undefined],
    ];
    for (const [headers, ms] of cases) assert.equal(retryDelayFromHeaders(headers, now), ms, JSON.stringify(headers));
  });

  it('a 429 cools down until retry-after, else until the exhausted bucket is full', () => {
    assert.equal(cooldownMs({ retryAfterMs: 4000, requests: { remaining: 0, resetMs: 9000 } }), 4000);
    assert.equal(cooldownMs({ requests: { remaining: 3, resetMs: 9000 }, inputTokens: { remaining: 0, resetMs: 2500 } }), 2500);
    assert.equal(cooldownMs({}, 1234), 1234);
  });
});
