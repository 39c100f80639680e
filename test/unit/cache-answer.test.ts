import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { assembleAnthropicSse, AnthropicStreamAccumulator, replayAnthropic } from '../../src/cache/anthropic-answer.js';
import { assembleOpenAISse, replayOpenAI } from '../../src/cache/openai-answer.js';
import { anthropicEntry, openAIEntry, type AnthropicMessage, type ChatCompletion } from '../../src/cache/entry.js';
import { SseParser } from '../../src/protocol/sse.js';

const sseResponse = (body: string): Response =>
  new Response(body, { status: 200, headers: { 'content-type': 'text/event-stream', 'request-id': 'req_test' } });

/** The official Anthropic SDK reading our bytes as if they came from the API. */
async function anthropicSdkRead(sse: string): Promise<unknown> {
  const client = new Anthropic({ apiKey: 'test', baseURL: 'http://127.0.0.1:9', maxRetries: 0, fetch: async () => sseResponse(sse) });
  const message = await client.messages.stream({ model: 'claude-test', max_tokens: 100, messages: [{ role: 'user', content: 'hi' }] }).finalMessage();
  // parsed_output is the SDK's structured-output helper, not part of the wire message
  return { ...message, parsed_output: undefined };
}

/** The official OpenAI SDK reading our bytes as if they came from the API. */
async function openAISdkRead(sse: string): Promise<unknown> {
  const client = new OpenAI({ apiKey: 'test', baseURL: 'http://127.0.0.1:9/v1', maxRetries: 0, fetch: async () => sseResponse(sse) });
  return client.chat.completions.stream({ model: 'gpt-test', messages: [{ role: 'user', content: 'hi' }] }).finalChatCompletion();
}

const json = (value: unknown): unknown => JSON.parse(JSON.stringify(value));

const toolUseMessage: AnthropicMessage = {
  id: 'msg_01',
  type: 'message',
  role: 'assistant',
  model: 'claude-test',
  content: [
    { type: 'thinking', thinking: 'The user wants the weather. 🌦️ Let me call the tool.', signature: 'sig-abc' },
    { type: 'text', text: "I'll check the weather in Paris — one moment. ✨", citations: null },
    { type: 'tool_use', id: 'toolu_01', name: 'get_weather', input: { location: 'Paris', units: ['c', 'f'], nested: { deep: true } } },
    { type: 'tool_use', id: 'toolu_02', name: 'get_time', input: {} },
  ],
  stop_reason: 'tool_use',
  stop_sequence: null,
  usage: { input_tokens: 377, output_tokens: 65, cache_creation_input_tokens: 0, cache_read_input_tokens: 0, service_tier: 'standard' },
};

// A stream the way the API sends it: pings, the tool input split mid-token, usage only at the end.
const apiStream = [
  'event: message_start',
  'data: {"type":"message_start","message":{"id":"msg_02","type":"message","role":"assistant","model":"claude-test","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":20,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":1}}}',
  '',
  'event: content_block_start',
  'data: {"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}',
  '',
  'event: ping',
  'data: {"type": "ping"}',
  '',
  'event: content_block_delta',
  'data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Let me "}}',
  '',
  'event: content_block_delta',
  'data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"look."}}',
  '',
  'event: content_block_stop',
  'data: {"type":"content_block_stop","index":0}',
  '',
  'event: content_block_start',
  'data: {"type":"content_block_start","index":1,"content_block":{"type":"tool_use","id":"toolu_9","name":"get_weather","input":{}}}',
  '',
  'event: content_block_delta',
  'data: {"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":""}}',
  '',
  'event: content_block_delta',
  'data: {"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"{\\"locati"}}',
  '',
  'event: content_block_delta',
  'data: {"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"on\\": \\"Oslo\\"}"}}',
  '',
  'event: content_block_stop',
  'data: {"type":"content_block_stop","index":1}',
  '',
  'event: message_delta',
  'data: {"type":"message_delta","delta":{"stop_reason":"tool_use","stop_sequence":null},"usage":{"output_tokens":42}}',
  '',
  'event: message_stop',
  'data: {"type":"message_stop"}',
  '',
  '',
].join('\n');

describe('Anthropic answers: a streamed answer serves non-streaming requests and the reverse', () => {
  it('assembles an API stream into the Message a non-streaming request gets', () => {
    const message = assembleAnthropicSse(apiStream);
    assert.deepEqual(message, {
      id: 'msg_02',
      type: 'message',
      role: 'assistant',
      model: 'claude-test',
      content: [
        { type: 'text', text: 'Let me look.' },
        { type: 'tool_use', id: 'toolu_9', name: 'get_weather', input: { location: 'Oslo' } },
      ],
      stop_reason: 'tool_use',
      stop_sequence: null,
      usage: { input_tokens: 20, cache_creation_input_tokens: 0, cache_read_input_tokens: 0, output_tokens: 42 },
    });
  });

  it('assembles the same Message whatever the network chunk boundaries', () => {
    const accumulator = new AnthropicStreamAccumulator();
    const parser = new SseParser();
    const bytes = new TextEncoder().encode(apiStream);
    for (let i = 0; i < bytes.length; i += 7) for (const event of parser.push(bytes.subarray(i, i + 7))) accumulator.push(event);
    for (const event of parser.end()) accumulator.push(event);
    assert.deepEqual(accumulator.result(), assembleAnthropicSse(apiStream));
  });

  it('refuses to assemble a stream that was cut off or ended in an error', () => {
    const cut = apiStream.slice(0, apiStream.indexOf('event: message_stop'));
    assert.throws(() => assembleAnthropicSse(cut), /did not complete/);
    const failed = cut + 'event: error\ndata: {"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}\n\n';
    assert.throws(() => assembleAnthropicSse(failed), /did not complete/);
  });

  it('replays a Message that the official SDK reads back to the same Message', async () => {
    const sse = replayAnthropic(toolUseMessage);
    assert.deepEqual(json(await anthropicSdkRead(sse)), json(toolUseMessage));
  });

  it('replays in small pieces without splitting characters, and the SDK still agrees', async () => {
    const sse = replayAnthropic(toolUseMessage, { chunkChars: 3 });
    assert.ok(sse.split('event: content_block_delta').length > 20, 'many deltas');
    assert.deepEqual(json(await anthropicSdkRead(sse)), json(toolUseMessage));
  });

  it('round-trips: assemble(replay(message)) equals message', () => {
    assert.deepEqual(assembleAnthropicSse(replayAnthropic(toolUseMessage, { chunkChars: 5 })), toolUseMessage);
    const streamed = assembleAnthropicSse(apiStream);
    assert.deepEqual(assembleAnthropicSse(replayAnthropic(streamed)), streamed);
  });

  it('replays events in the order the wire allows', () => {
    const events = new SseParser().push(replayAnthropic(toolUseMessage)).map((event) => event.event);
    assert.equal(events[0], 'message_start');
    assert.deepEqual(events.slice(-2), ['message_delta', 'message_stop']);
    assert.equal(events.filter((type) => type === 'content_block_start').length, 4);
    assert.equal(events.filter((type) => type === 'content_block_stop').length, 4);
  });

  it('stores the answer once, with its size', () => {
    const entry = anthropicEntry(toolUseMessage, 1_000);
    assert.equal(entry.surface, 'anthropic');
    assert.equal(entry.createdAt, 1_000);
    assert.ok(entry.bytes > JSON.stringify(toolUseMessage).length);
  });
});

const completion: ChatCompletion = {
  id: 'chatcmpl-1',
  object: 'chat.completion',
  created: 1_700_000_000,
  model: 'gpt-test',
  choices: [
    {
      index: 0,
      message: {
        role: 'assistant',
        content: 'Checking both cities — ça marche! 🚀',
        refusal: null,
        tool_calls: [
          { id: 'call_a', type: 'function', function: { name: 'get_weather', arguments: '{"location":"Boston, MA"}' } },
          { id: 'call_b', type: 'function', function: { name: 'get_weather', arguments: '{"location":"Paris"}' } },
        ],
      },
      logprobs: null,
      finish_reason: 'tool_calls',
    },
  ],
  usage: { prompt_tokens: 82, completion_tokens: 17, total_tokens: 99 },
  system_fingerprint: 'fp_1',
};

const plainCompletion: ChatCompletion = {
  id: 'chatcmpl-2',
  object: 'chat.completion',
  created: 1_700_000_001,
  model: 'gpt-test',
  choices: [{ index: 0, message: { role: 'assistant', content: 'Hello there.', refusal: null }, logprobs: null, finish_reason: 'stop' }],
  usage: { prompt_tokens: 5, completion_tokens: 3, total_tokens: 8 },
};

describe('OpenAI answers: a streamed answer serves non-streaming requests and the reverse', () => {
  it('replays a completion that the official SDK reads back to the same content', async () => {
    for (const original of [completion, plainCompletion]) {
      const read = (await openAISdkRead(replayOpenAI(original, { includeUsage: true }))) as ChatCompletion;
      assert.equal(read.id, original.id);
      assert.equal(read.model, original.model);
      assert.deepEqual(json(read.choices.map((c) => ({ ...c.message, parsed: undefined }))), json(original.choices.map((c) => c.message)));
      assert.deepEqual(read.choices.map((c) => c.finish_reason), original.choices.map((c) => c.finish_reason));
      assert.deepEqual(read.usage, original.usage);
    }
  });

  it('sends the usage chunk only when the request asked for it', () => {
    const withUsage = new SseParser().push(replayOpenAI(plainCompletion, { includeUsage: true }));
    const without = new SseParser().push(replayOpenAI(plainCompletion, { includeUsage: false }));
    assert.equal(withUsage.at(-1)?.data, '[DONE]');
    assert.equal(without.at(-1)?.data, '[DONE]');
    const usageChunk = JSON.parse(withUsage.at(-2)?.data ?? '{}') as { choices: unknown[]; usage: unknown };
    assert.deepEqual(usageChunk.choices, []);
    assert.deepEqual(usageChunk.usage, plainCompletion.usage);
    assert.ok(without.every((event) => event.data === '[DONE]' || !('usage' in JSON.parse(event.data))));
  });

  it('round-trips: assemble(replay(completion)) equals completion', () => {
    assert.deepEqual(assembleOpenAISse(replayOpenAI(completion, { includeUsage: true, chunkChars: 4 })), completion);
    assert.deepEqual(assembleOpenAISse(replayOpenAI(plainCompletion, { includeUsage: true })), plainCompletion);
  });

  it('assembles a stream without a usage chunk into a completion without usage', () => {
    const { usage: _usage, ...noUsage } = plainCompletion;
    assert.deepEqual(assembleOpenAISse(replayOpenAI(plainCompletion, { includeUsage: false })), noUsage);
  });

  it('refuses to assemble a stream without [DONE] or with an error payload', () => {
    const sse = replayOpenAI(plainCompletion, { includeUsage: true });
    assert.throws(() => assembleOpenAISse(sse.replace('data: [DONE]\n\n', '')), /did not complete/);
    const failed = sse.replace('data: [DONE]', 'data: {"error":{"message":"boom","type":"server_error","code":null}}\n\ndata: [DONE]');
    assert.throws(() => assembleOpenAISse(failed), /did not complete/);
  });

  it('stores the answer once, with its size', () => {
    const entry = openAIEntry(completion, 5);
    assert.equal(entry.surface, 'openai');
    assert.ok(entry.bytes > JSON.stringify(completion).length);
  });
});
