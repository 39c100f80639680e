/**
 * Issue 2: spillway is a drop-in base URL for the official Anthropic and OpenAI clients.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startStack, type Stack } from '../support/stack.js';

const weatherTool = {
  name: 'get_weather',
  description: 'Current weather for a city',
  input_schema: { type: 'object' as const, properties: { city: { type: 'string' } }, required: ['city'] },
};

const textOf = (block: { type: string; text?: string }) => (block.type === 'text' ? block.text : block.type);

describe('the Anthropic SDK through spillway gets what it gets from the provider directly', () => {
  let stack: Stack;
  before(async () => {
    stack = await startStack();
  });
  after(() => stack.close());

  const params = { model: 'claude-sonnet-4-6', max_tokens: 200, messages: [{ role: 'user' as const, content: 'Write a haiku about rivers.' }] };

  it('non-streaming', async () => {
    const viaSpillway = await stack.anthropic.messages.create(params);
    const direct = await stack.direct.messages.create(params);
    assert.deepEqual(viaSpillway.content, direct.content);
    assert.equal(viaSpillway.stop_reason, direct.stop_reason);
    assert.deepEqual(viaSpillway.usage.input_tokens, direct.usage.input_tokens);
    assert.ok(viaSpillway.content[0]?.type === 'text' && viaSpillway.content[0].text.length > 0);
  });

  it('streaming, assembled by the SDK stream helper', async () => {
    const viaSpillway = await stack.anthropic.messages.stream(params).finalMessage();
    const direct = await stack.direct.messages.stream(params).finalMessage();
    assert.deepEqual(viaSpillway.content, direct.content);
    assert.equal(viaSpillway.usage.output_tokens, direct.usage.output_tokens);
  });

  it('a two-turn tool-use conversation, streaming and not', async () => {
    for (const stream of [false, true]) {
      const ask = { ...params, messages: [{ role: 'user' as const, content: 'Weather in Paris?' }], tools: [weatherTool] };
      const first = stream ? await stack.anthropic.messages.stream(ask).finalMessage() : await stack.anthropic.messages.create(ask);
      assert.equal(first.stop_reason, 'tool_use');
      const call = first.content.find((block) => block.type === 'tool_use');
      assert.ok(call && call.type === 'tool_use' && call.name === 'get_weather');
      assert.equal(typeof (call.input as { city?: unknown }).city, 'string');
      const followUp = {
        ...ask,
        messages: [
          ...ask.messages,
          { role: 'assistant' as const, content: first.content },
          { role: 'user' as const, content: [{ type: 'tool_result' as const, tool_use_id: call.id, content: 'Sunny, 21 C' }] },
        ],
      };
      const second = stream ? await stack.anthropic.messages.stream(followUp).finalMessage() : await stack.anthropic.messages.create(followUp);
      const direct = await stack.direct.messages.create(followUp);
      assert.equal(second.stop_reason, 'end_turn');
      assert.deepEqual(second.content.map(textOf), direct.content.map(textOf));
    }
  });

  it('says which provider, model and key served the answer', async () => {
    const { response } = await stack.anthropic.messages.create(params).withResponse();
    assert.equal(response.headers.get('x-spillway-provider'), 'anthropic');
    assert.equal(response.headers.get('x-spillway-model'), 'claude-sonnet-4-6');
    assert.equal(response.headers.get('x-spillway-key'), 'k1');
    assert.equal(response.headers.get('x-spillway-attempts'), '1');
    assert.match(response.headers.get('x-spillway-queue-ms') ?? '', /^\d+$/);
  });

  it('counts tokens as the provider does, and lists models', async () => {
    const counted = await stack.anthropic.messages.countTokens({ model: params.model, messages: params.messages });
    const created = await stack.direct.messages.create(params);
    assert.equal(counted.input_tokens, created.usage.input_tokens);
    const models = await stack.anthropic.models.list();
    assert.ok(models.data.length > 0);
    assert.ok(models.data.every((model) => model.type === 'model' && typeof model.id === 'string'));
  });
});

describe('the OpenAI SDK through spillway gets what it gets from the provider directly', () => {
  let stack: Stack;
  before(async () => {
    stack = await startStack();
  });
  after(() => stack.close());

  const params = { model: 'gpt-4o-mini', messages: [{ role: 'user' as const, content: 'Name three rivers.' }] };

  it('non-streaming and streaming', async () => {
    const viaSpillway = await stack.openai.chat.completions.create(params);
    const direct = await stack.directOpenAI.chat.completions.create(params);
    assert.equal(viaSpillway.choices[0]?.message.content, direct.choices[0]?.message.content);
    assert.ok((viaSpillway.choices[0]?.message.content ?? '').length > 0);
    const streamed = await stack.openai.chat.completions.stream({ ...params, stream_options: { include_usage: true } }).finalChatCompletion();
    assert.equal(streamed.choices[0]?.message.content, direct.choices[0]?.message.content);
    assert.equal(streamed.usage?.completion_tokens, direct.usage?.completion_tokens);
  });

  it('tool calls, two turns', async () => {
    const tools = [{ type: 'function' as const, function: { name: 'get_weather', parameters: weatherTool.input_schema } }];
    const first = await stack.openai.chat.completions.stream({ ...params, tools }).finalChatCompletion();
    const message = first.choices[0]!.message;
    assert.equal(first.choices[0]?.finish_reason, 'tool_calls');
    const call = message.tool_calls?.[0];
    assert.ok(call && call.type === 'function' && call.function.name === 'get_weather');
    assert.equal(typeof JSON.parse(call.function.arguments).city, 'string');
    const second = await stack.openai.chat.completions.create({
      ...params,
      tools,
      messages: [...params.messages, { role: 'assistant', content: null, tool_calls: message.tool_calls }, { role: 'tool', tool_call_id: call.id, content: 'Sunny' }],
    });
    assert.equal(second.choices[0]?.finish_reason, 'stop');
    assert.ok((second.choices[0]?.message.content ?? '').length > 0);
  });

  it('lists models in the OpenAI shape', async () => {
    const models = await stack.openai.models.list();
    assert.ok(models.data.length > 0);
    assert.ok(models.data.every((model) => model.object === 'model'));
  });
});

describe('streams are relayed as they are produced, never buffered', () => {
  let stack: Stack;
  before(async () => {
    // 40 tokens at 20 tokens/s: the provider needs about two seconds to finish.
    stack = await startStack({ sim: { latency: { ttftMs: 50, tokensPerSecond: 20 }, outputTokens: 40 } });
  });
  after(() => stack.close());

  it('the first text reaches the client while the provider is still generating', async () => {
    const started = Date.now();
    let firstText = 0;
    const stream = stack.anthropic.messages.stream({
      model: 'claude-sonnet-4-6',
      max_tokens: 100,
      messages: [{ role: 'user', content: 'Tell me a long story.' }],
    });
    stream.on('text', () => {
      firstText ||= Date.now() - started;
    });
    await stream.finalMessage();
    const total = Date.now() - started;
    assert.ok(firstText > 0, 'text arrived');
    assert.ok(total - firstText > 1000, `first text at ${firstText} ms, stream ended at ${total} ms`);
  });

  it('the same for an OpenAI client', async () => {
    const started = Date.now();
    let firstText = 0;
    const stream = await stack.openai.chat.completions.create({
      model: 'gpt-4o-mini',
      stream: true,
      messages: [{ role: 'user', content: 'Tell me a long story.' }],
    });
    for await (const chunk of stream) {
      if (chunk.choices[0]?.delta.content) firstText ||= Date.now() - started;
    }
    const total = Date.now() - started;
    assert.ok(firstText > 0 && total - firstText > 1000, `first text at ${firstText} ms, stream ended at ${total} ms`);
  });
});
