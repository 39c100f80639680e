/**
 * Issue 17, code-aware cache keys through the gateway with the official Anthropic SDK: with
 * `cache.exact.normalize_code`, the same function sent in another layout with other comments is
 * answered from the cache; a changed identifier or literal goes upstream.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { defaultConfig, startStack, type Stack } from '../support/stack.js';

const ask = (code: string) => ({
  model: 'claude-haiku-4-5',
  max_tokens: 64,
  temperature: 0,
  messages: [{ role: 'user' as const, content: `Review this:\n\n\`\`\`python\n${code}\n\`\`\`` }],
});

const original = 'def area(r):\n    # circle\n    return 3.14159 * r * r\n';
const reformatted = 'def area( r ):\n  return 3.14159*r*r  # pi r squared\n';

describe('code-aware cache keys (cache.exact.normalize_code)', () => {
  let stack: Stack;
  before(async () => {
    stack = await startStack({
      config: (url, keys) => ({ ...defaultConfig(url, keys), cache: { semantic: { enabled: false }, exact: { normalize_code: true } } }),
    });
  });
  after(() => stack.close());

  it('the same function reformatted and with other comments is one cache entry; a changed identifier or literal is not', async () => {
    const first = await stack.anthropic.messages.create(ask(original)).withResponse();
    assert.equal(first.response.headers.get('x-spillway-cache'), 'miss');
    const again = await stack.anthropic.messages.create(ask(reformatted)).withResponse();
    assert.equal(again.response.headers.get('x-spillway-cache'), 'hit');
    assert.deepEqual(again.data.content, first.data.content);
    for (const changed of [original.replace('r * r', 'r * d'), original.replace('3.14159', '3.14')]) {
      const other = await stack.anthropic.messages.create(ask(changed)).withResponse();
      assert.equal(other.response.headers.get('x-spillway-cache'), 'miss', changed);
    }
    assert.equal(stack.sim.stats().total.requests, 3);
  });
});
