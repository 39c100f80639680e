/**
 * Issue 5: answers are cached (exact and semantic), identical requests in flight share one upstream
 * call, streams are replayed as streams, and non-retryable failures are remembered for a while.
 */
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import Anthropic from '@anthropic-ai/sdk';
import { defaultConfig, startStack, type Stack } from '../support/stack.js';

const question = (content: string, extra: Record<string, unknown> = {}) => ({
  model: 'claude-haiku-4-5',
  max_tokens: 64,
  temperature: 0,
  messages: [{ role: 'user' as const, content }],
  ...extra,
});

const textOf = (message: Anthropic.Message) => message.content.map((block) => (block.type === 'text' ? block.text : '')).join('');

describe('the answer cache', () => {
  let stack: Stack;
  before(async () => {
    stack = await startStack({ sim: { latency: { ttftMs: 30 } } });
  });
  after(() => stack.close());
  beforeEach(() => stack.sim.resetStats());

  it('100 sequential identical requests cost one upstream request', async () => {
    const first = await stack.anthropic.messages.create(question('List three uses of baking soda.')).withResponse();
    assert.equal(first.response.headers.get('x-spillway-cache'), 'miss');
    for (let i = 0; i < 99; i++) {
      const again = await stack.anthropic.messages.create(question('List three uses of baking soda.')).withResponse();
      assert.equal(again.response.headers.get('x-spillway-cache'), 'hit');
      assert.equal(textOf(again.data), textOf(first.data));
    }
    assert.equal(stack.sim.stats().total.requests, 1);
  });

  it('50 concurrent identical requests, streaming and not, cost one upstream request and all get the answer', async () => {
    const params = question('Explain how a siphon works.');
    const direct = await stack.direct.messages.create(params);
    stack.sim.resetStats();
    const answers = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        i % 2 === 0 ? stack.anthropic.messages.create(params) : stack.anthropic.messages.stream(params).finalMessage(),
      ),
    );
    assert.equal(stack.sim.stats().total.requests, 1);
    for (const answer of answers) assert.equal(textOf(answer), textOf(direct));
  });

  it('an entry filled by a stream serves a plain request, and the reverse; OpenAI clients too', async () => {
    const streamed = await stack.anthropic.messages.stream(question('Name a blue fruit.')).finalMessage();
    const plain = await stack.anthropic.messages.create(question('Name a blue fruit.')).withResponse();
    assert.equal(plain.response.headers.get('x-spillway-cache'), 'hit');
    assert.equal(textOf(plain.data), textOf(streamed));

    const ask = { model: 'gpt-4o-mini', temperature: 0, messages: [{ role: 'user' as const, content: 'Name a red fruit.' }] };
    const completion = await stack.openai.chat.completions.create(ask);
    const replayed = await stack.openai.chat.completions.stream({ ...ask, stream_options: { include_usage: true } }).finalChatCompletion();
    assert.equal(replayed.choices[0]?.message.content, completion.choices[0]?.message.content);
    assert.equal(replayed.usage?.completion_tokens, completion.usage?.completion_tokens);
    assert.equal(stack.sim.stats().total.requests, 2);
  });

  it('a paraphrase is a semantic hit; a negation, another number or another name is not', async () => {
    await stack.anthropic.messages.create(question('What is the capital of France?'));
    const paraphrase = await stack.anthropic.messages.create(question('what is the capital of france')).withResponse();
    assert.equal(paraphrase.response.headers.get('x-spillway-cache'), 'semantic');
    for (const different of ['What is not the capital of France?', 'What is the capital of Germany?']) {
      const answer = await stack.anthropic.messages.create(question(different)).withResponse();
      assert.equal(answer.response.headers.get('x-spillway-cache'), 'miss', different);
    }
    await stack.anthropic.messages.create(question('Give me 3 reasons to learn Rust.'));
    const otherNumber = await stack.anthropic.messages.create(question('Give me 5 reasons to learn Rust.')).withResponse();
    assert.equal(otherNumber.response.headers.get('x-spillway-cache'), 'miss');
  });

  it('honors no-cache and no-store, and does not cache sampled (temperature > 0) requests', async () => {
    const params = question('Describe a sunset in five words.');
    await stack.anthropic.messages.create(params);
    const noCache = await stack.anthropic.messages.create(params, { headers: { 'x-spillway-cache': 'no-cache' } }).withResponse();
    assert.equal(noCache.response.headers.get('x-spillway-cache'), 'miss');
    const noStore = await stack.anthropic.messages.create(params, { headers: { 'cache-control': 'no-store' } }).withResponse();
    assert.equal(noStore.response.headers.get('x-spillway-cache'), 'bypass');
    const sampled = { ...params, temperature: 0.7 };
    for (let i = 0; i < 2; i++) {
      const answer = await stack.anthropic.messages.create(sampled).withResponse();
      assert.equal(answer.response.headers.get('x-spillway-cache'), 'bypass');
    }
    assert.equal(stack.sim.stats().total.requests, 5);
  });

  it('remembers a non-retryable provider failure instead of sending it again', async () => {
    const broken = question('Use the tool.', {
      tools: [{ name: 'lookup', input_schema: { type: 'object', properties: {} } }],
      tool_choice: { type: 'tool', name: 'missing_tool' },
    });
    for (let i = 0; i < 3; i++) {
      await assert.rejects(stack.anthropic.messages.create(broken), (error: unknown) => error instanceof Anthropic.BadRequestError && /missing_tool/.test(error.message));
    }
    assert.equal(stack.sim.stats().total.requests, 1);
  });
});

describe('cache hits in the metrics', () => {
  it('counts exact and semantic hits by kind', async () => {
    const stack = await startStack();
    try {
      const ask = (content: string) => stack.anthropic.messages.create(question(content));
      await ask('What is the boiling point of water?');
      await ask('What is the boiling point of water?');
      await ask('what is the boiling point of water');
      const metrics = await (await fetch(`${stack.gateway.url}/metrics`)).text();
      assert.match(metrics, /spillway_cache_hits_total\{kind="exact"\} 1\b/);
      assert.match(metrics, /spillway_cache_hits_total\{kind="semantic"\} 1\b/);
      assert.match(metrics, /spillway_cache_entries \d+/);
    } finally {
      await stack.close();
    }
  });
});

describe('recording an answer for the cache', () => {
  it('does not hold a stream back: its first words arrive long before its end, and it is kept', async () => {
    const stack = await startStack({ sim: { latency: { ttftMs: 20, tokensPerSecond: 40 }, outputTokens: 60 } });
    try {
      const params = question('Tell me slowly about tides.', { max_tokens: 60 });
      const started = Date.now();
      let firstText: number | undefined;
      const stream = stack.anthropic.messages.stream(params).on('text', () => (firstText ??= Date.now() - started));
      await stream.finalMessage();
      const total = Date.now() - started;
      assert.ok(firstText !== undefined && firstText < total / 2, `first words after ${firstText} ms of ${total} ms`);
      const again = await stack.anthropic.messages.create(params).withResponse();
      assert.equal(again.response.headers.get('x-spillway-cache'), 'hit');
    } finally {
      await stack.close();
    }
  });
});

describe('an answer too large to cache', () => {
  it('streams through whole and is not kept; a small one still is', async () => {
    const stack = await startStack({
      sim: { outputTokens: 3000 },
      config: (simUrl, keys) => ({ ...defaultConfig(simUrl, keys), cache: { exact: { max_entry_bytes: 8 * 1024 } } }),
    });
    try {
      const big = question('Write a long story about a lighthouse.', { max_tokens: 3000 });
      const direct = await stack.direct.messages.create(big);
      assert.ok(JSON.stringify(direct).length > 8 * 1024, 'the answer is larger than the cap');
      stack.sim.resetStats();
      for (let i = 0; i < 2; i++) {
        const stream = stack.anthropic.messages.stream(big);
        const answer = await stream.finalMessage();
        assert.equal((await stream.withResponse()).response.headers.get('x-spillway-cache'), 'miss');
        assert.equal(textOf(answer), textOf(direct));
      }
      assert.equal(stack.sim.stats().total.requests, 2);

      const small = question('Write a long story about a lighthouse.', { max_tokens: 20 });
      await stack.anthropic.messages.stream(small).finalMessage();
      const again = await stack.anthropic.messages.create(small).withResponse();
      assert.equal(again.response.headers.get('x-spillway-cache'), 'hit');
    } finally {
      await stack.close();
    }
  });
});
