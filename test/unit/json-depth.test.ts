/**
 * Bodies nested deeper than 256 levels are refused as their bytes arrive, before anything parses
 * (or recurses over) them.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { GatewayError } from '../../src/pipeline/errors.js';
import { JsonDepthGauge, MAX_JSON_DEPTH } from '../../src/pipeline/json-depth.js';

function nests(text: string, chunkSize = text.length): boolean {
  const gauge = new JsonDepthGauge();
  const bytes = Buffer.from(text);
  try {
    for (let at = 0; at < bytes.length; at += chunkSize) gauge.write(bytes.subarray(at, at + chunkSize));
    return false;
  } catch (error) {
    assert.ok(error instanceof GatewayError && error.kind === 'invalid_request' && /nested more than 256 levels/.test(error.message));
    return true;
  }
}

const arrays = (depth: number) => `${'['.repeat(depth)}1${']'.repeat(depth)}`;
const objects = (depth: number) => `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;

describe('the JSON depth gauge', () => {
  it(`lets ${MAX_JSON_DEPTH} levels through and refuses one more, arrays and objects alike`, () => {
    assert.equal(nests(arrays(MAX_JSON_DEPTH)), false);
    assert.equal(nests(arrays(MAX_JSON_DEPTH + 1)), true);
    assert.equal(nests(objects(MAX_JSON_DEPTH)), false);
    assert.equal(nests(`[${objects(MAX_JSON_DEPTH)}]`), true);
  });

  it('counts depth, not the number of brackets: wide bodies pass', () => {
    assert.equal(nests(JSON.stringify({ messages: Array.from({ length: 10_000 }, () => ({ content: [{ type: 'text' }] })) })), false);
  });

  it('ignores brackets inside strings, escaped quotes included', () => {
    assert.equal(nests(JSON.stringify({ text: '['.repeat(10_000), quoted: '\\"[[[[' + '{'.repeat(1000) })), false);
    assert.equal(nests(`{"a":"\\\\"${'['.repeat(300)}`), true, 'an escaped backslash ends before the quote that closes the string');
  });

  it('follows a body split anywhere, inside strings and right after a backslash', () => {
    const text = JSON.stringify({ text: `a\\"${'['.repeat(500)}"`, deep: JSON.parse(arrays(100)) as unknown });
    for (const size of [1, 2, 3, 5, 64]) assert.equal(nests(text, size), false, `chunks of ${size} bytes`);
    for (const size of [1, 7]) assert.equal(nests(arrays(10_000), size), true);
  });
});
