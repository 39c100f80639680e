/**
 * Values echoed into response headers are made header-safe: Node writes every one of them, and
 * none is longer than a client's header buffer can take.
 */
import assert from 'node:assert/strict';
import { validateHeaderValue } from 'node:http';
import { describe, it } from 'node:test';
import { answerHeaders, headerSafe, MAX_HEADER_VALUE } from '../../src/pipeline/answer-headers.js';

describe('header-safe values', () => {
  const cases: Array<[string, string, string]> = [
    ['printable ASCII stays as it is', 'claude-haiku-4-5 (v2) 100%', 'claude-haiku-4-5 (v2) 100%'],
    ['non-Latin-1 becomes percent-encoded UTF-8', '模型', '%E6%A8%A1%E5%9E%8B'],
    ['Latin-1 too, so every client reads it the same', 'é', '%C3%A9'],
    ['CR and LF cannot split the header', 'a\r\nx-injected: 1', 'a%0D%0Ax-injected: 1'],
    ['NUL, DEL and tab', '\u0000\u007f\t', '%00%7F%09'],
    ['a lone surrogate becomes U+FFFD', '\ud800', '%EF%BF%BD'],
    ['emoji', '🤖', '%F0%9F%A4%96'],
  ];
  for (const [name, value, expected] of cases) {
    it(name, () => {
      assert.equal(headerSafe(value), expected);
      assert.doesNotThrow(() => validateHeaderValue('x-spillway-model', headerSafe(value)));
    });
  }

  it(`a 1 MB value is cut to ${MAX_HEADER_VALUE} characters, never inside an encoded character`, () => {
    assert.equal(headerSafe('x'.repeat(1024 * 1024)).length, MAX_HEADER_VALUE);
    const cut = headerSafe('模'.repeat(100));
    assert.ok(cut.length <= MAX_HEADER_VALUE);
    assert.match(cut, /^(%E6%A8%A1)+$/);
  });

  it('an answer header record makes every assignment header-safe, Object.assign included', () => {
    const headers = answerHeaders();
    headers['x-spillway-key'] = 'ключ';
    Object.assign(headers, { 'x-spillway-model': '模型', 'x-spillway-attempts': '1' });
    assert.deepEqual({ ...headers }, { 'x-spillway-key': '%D0%BA%D0%BB%D1%8E%D1%87', 'x-spillway-model': '%E6%A8%A1%E5%9E%8B', 'x-spillway-attempts': '1' });
  });
});
