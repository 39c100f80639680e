import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { exactKey, isCacheable, type KeyInput } from '../../src/cache/key.js';

const base: KeyInput = {
  surface: 'anthropic',
  scope: 'owner-a',
  plan: 'anthropic/claude-sonnet-4-5',
  body: {
    model: 'claude-sonnet',
    max_tokens: 512,
    temperature: 0,
    system: [{ type: 'text', text: 'You are terse.', cache_control: { type: 'ephemeral' } }],
    messages: [{ role: 'user', content: [{ type: 'text', text: 'Hello', cache_control: { type: 'ephemeral' } }] }],
    tools: [{ name: 'get_weather', input_schema: { type: 'object', properties: { city: { type: 'string' } } } }],
  },
};

function withBody(changes: Record<string, unknown>): KeyInput {
  return { ...base, body: { ...base.body, ...changes } };
}

describe('exact cache key', () => {
  it('is a sha256 hex digest', () => {
    assert.match(exactKey(base), /^[0-9a-f]{64}$/);
  });

  it('does not depend on the order of object keys, at any depth', () => {
    const reordered: KeyInput = {
      ...base,
      body: {
        tools: [{ input_schema: { properties: { city: { type: 'string' } }, type: 'object' }, name: 'get_weather' }],
        messages: [{ content: [{ cache_control: { type: 'ephemeral' }, text: 'Hello', type: 'text' }], role: 'user' }],
        system: [{ text: 'You are terse.', type: 'text', cache_control: { type: 'ephemeral' } }],
        temperature: 0,
        max_tokens: 512,
        model: 'claude-sonnet',
      },
    };
    assert.equal(exactKey(reordered), exactKey(base));
  });

  it('ignores stream, stream_options, metadata, user and prompt-caching markers', () => {
    const key = exactKey(base);
    assert.equal(exactKey(withBody({ stream: true })), key);
    assert.equal(exactKey(withBody({ stream: true, stream_options: { include_usage: true } })), key);
    assert.equal(exactKey(withBody({ metadata: { user_id: 'u-42' } })), key);
    assert.equal(exactKey(withBody({ user: 'someone' })), key);
    assert.equal(
      exactKey(withBody({ messages: [{ role: 'user', content: [{ type: 'text', text: 'Hello' }] }], system: [{ type: 'text', text: 'You are terse.' }] })),
      key,
    );
  });

  it('changes when anything that determines the answer changes', () => {
    const key = exactKey(base);
    const variants: Array<[string, KeyInput]> = [
      ['client scope', { ...base, scope: 'owner-b' }],
      ['shared scope', { ...base, scope: '' }],
      ['routed target', { ...base, plan: 'anthropic/claude-opus-4-1' }],
      ['routed provider', { ...base, plan: 'openai/claude-sonnet-4-5' }],
      ['surface', { ...base, surface: 'openai' }],
      ['anthropic-beta header', { ...base, vary: { 'anthropic-beta': 'tools-2024' } }],
      ['system', withBody({ system: 'You are verbose.' })],
      ['messages', withBody({ messages: [{ role: 'user', content: 'Hello!' }] })],
      ['tools', withBody({ tools: [] })],
      ['tool_choice', withBody({ tool_choice: { type: 'any' } })],
      ['temperature', withBody({ temperature: 0.5 })],
      ['top_p', withBody({ top_p: 0.9 })],
      ['top_k', withBody({ top_k: 5 })],
      ['stop_sequences', withBody({ stop_sequences: ['END'] })],
      ['stop', withBody({ stop: ['END'] })],
      ['max_tokens', withBody({ max_tokens: 1024 })],
      ['max_completion_tokens', withBody({ max_completion_tokens: 1024 })],
      ['seed', withBody({ seed: 7 })],
      ['response_format', withBody({ response_format: { type: 'json_object' } })],
      ['n', withBody({ n: 1 })],
      ['thinking (a field not listed anywhere)', withBody({ thinking: { type: 'enabled', budget_tokens: 2048 } })],
      ['a cache_control property inside a tool schema', withBody({ tools: [{ name: 'get_weather', input_schema: { type: 'object', properties: { city: { type: 'string' }, cache_control: { type: 'string' } } } }] })],
    ];
    const seen = new Set([key]);
    for (const [what, input] of variants) {
      const variant = exactKey(input);
      assert.notEqual(variant, key, `${what} should change the key`);
      seen.add(variant);
    }
    assert.equal(seen.size, variants.length + 1, 'every variant has its own key');
  });

  it('keeps the message order significant', () => {
    const a = withBody({ messages: [{ role: 'user', content: 'a' }, { role: 'assistant', content: 'b' }, { role: 'user', content: 'c' }] });
    const b = withBody({ messages: [{ role: 'user', content: 'c' }, { role: 'assistant', content: 'b' }, { role: 'user', content: 'a' }] });
    assert.notEqual(exactKey(a), exactKey(b));
  });
});

describe('what may be cached', () => {
  const strict = { cacheNonZeroTemperature: false };
  const lenient = { cacheNonZeroTemperature: true };

  it('caches temperature 0 always', () => {
    assert.equal(isCacheable({ temperature: 0 }, strict), true);
  });

  it('caches temperature > 0 (and the default of 1) only when configured', () => {
    assert.equal(isCacheable({ temperature: 0.7 }, strict), false);
    assert.equal(isCacheable({}, strict), false);
    assert.equal(isCacheable({ temperature: 0.7 }, lenient), true);
    assert.equal(isCacheable({}, lenient), true);
  });

  it('never caches n > 1', () => {
    assert.equal(isCacheable({ temperature: 0, n: 2 }, strict), false);
    assert.equal(isCacheable({ temperature: 0.5, n: 3 }, lenient), false);
    assert.equal(isCacheable({ temperature: 0, n: 1 }, strict), true);
  });
});
