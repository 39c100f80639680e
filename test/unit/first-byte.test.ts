import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { firstByteLimitMs } from '../../src/server/dispatch.js';

describe('how long an attempt may wait for its first byte', () => {
  const cases: Array<[string, number | undefined, number | undefined, boolean, number | undefined, number]> = [
    // name, first_byte_timeout, timeout, stream, max_tokens, limit
    ['a stream: 60 s by default, a tenth of the SDK timeout', undefined, undefined, true, 4096, 60_000],
    ['a stream: as configured', 5_000, undefined, true, 4096, 5_000],
    ['a non-streamed answer comes after its generation: + max_tokens at 10 tokens/s', undefined, undefined, false, 100, 70_000],
    ['without max_tokens (OpenAI) 4096 is assumed', 1_000, undefined, false, undefined, 410_600],
    ['never beyond the whole attempt timeout', undefined, 30_000, false, 8192, 30_000],
  ];
  for (const [name, first, whole, stream, maxTokens, limit] of cases) {
    it(name, () => assert.equal(firstByteLimitMs(first, whole, stream, maxTokens), limit));
  }
});
