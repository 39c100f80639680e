import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { formatSse, SseParser, type SseEvent } from '../../src/protocol/sse.js';
import { PivotToAnthropicStream } from '../../src/surfaces/anthropic/stream.js';
import { bridge } from '../support/bridge.js';

const NOW = 1_750_000_000_000;

function fixture(name: string): Buffer {
  return readFileSync(new URL(`../fixtures/translate/${name}`, import.meta.url));
}

interface StreamMachine {
  push(event: SseEvent): string;
  end(): string;
}

/** Feeds `bytes` cut at `cuts` through SseParser and the machine, as a proxy would. */
function translate(bytes: Buffer, machine: StreamMachine, cuts: number[] = []): string {
  const parser = new SseParser();
  let out = '';
  let start = 0;
  for (const cut of [...cuts, bytes.length]) {
    for (const event of parser.push(bytes.subarray(start, cut))) out += machine.push(event);
    start = cut;
  }
  for (const event of parser.end()) out += machine.push(event);
  return out + machine.end();
}

/** Every single cut position, plus one cut per byte: the output must never change. */
function assertSplitInvariant(bytes: Buffer, makeMachine: () => StreamMachine): string {
  const whole = translate(bytes, makeMachine());
  for (let i = 1; i < bytes.length; i++) {
    assert.equal(translate(bytes, makeMachine(), [i]), whole, `output differs when input is cut at byte ${i}`);
  }
  const everyByte = Array.from({ length: bytes.length - 1 }, (_, i) => i + 1);
  assert.equal(translate(bytes, makeMachine(), everyByte), whole, 'output differs when fed byte by byte');
  return whole;
}

function parseSse(text: string): SseEvent[] {
  const parser = new SseParser();
  return [...parser.push(text), ...parser.end()];
}

function sseFetch(body: string): typeof fetch {
  return async () => new Response(body, { status: 200, headers: { 'content-type': 'text/event-stream' } });
}

async function anthropicSdkFinalMessage(sse: string) {
  const client = new Anthropic({ apiKey: 'test', baseURL: 'http://127.0.0.1:9', maxRetries: 0, fetch: sseFetch(sse) });
  const stream = client.messages.stream({ model: 'claude-test', max_tokens: 100, messages: [{ role: 'user', content: 'hi' }] });
  return stream.finalMessage();
}

async function openAISdkFinalCompletion(sse: string) {
  const client = new OpenAI({ apiKey: 'test', baseURL: 'http://127.0.0.1:9/v1', maxRetries: 0, fetch: sseFetch(sse) });
  const stream = client.chat.completions.stream({ model: 'gpt-test', messages: [{ role: 'user', content: 'hi' }], stream_options: { include_usage: true } });
  return stream.finalChatCompletion();
}

describe('Anthropic stream → OpenAI client', () => {
  const source = fixture('anthropic-thinking-text-tools.sse');
  // Anthropic → pivot → OpenAI chat, as the gateway bridges it.
  const make = (includeUsage = true): StreamMachine => {
    const stream = bridge('openai', 'anthropic', { requestedModel: 'claude-for-openai', body: { stream_options: { include_usage: includeUsage } } }).stream(NOW);
    return { push: (event) => stream.push(Buffer.from(formatSse(event.data, event.event))), end: () => stream.end() };
  };

  it('gives the same output however the upstream bytes are split (inside JSON, inside UTF-8 characters)', () => {
    assertSplitInvariant(source, () => make());
  });

  it('the official OpenAI SDK assembles text, both tool calls, finish reason and usage', async () => {
    const completion = await openAISdkFinalCompletion(translate(source, make()));
    const choice = completion.choices[0]!;
    assert.equal(completion.model, 'claude-for-openai');
    assert.equal(completion.id, 'chatcmpl-019Qtool');
    assert.equal(choice.message.content, 'Ich prüfe das Wetter für München 🌦️…');
    assert.equal(choice.finish_reason, 'tool_calls');
    const calls = (choice.message.tool_calls ?? []).map((call) => call.type === 'function' ? [call.id, call.function.name, JSON.parse(call.function.arguments)] : []);
    assert.deepEqual(calls, [
      ['toolu_01NRweather', 'get_weather', { location: 'München', unit: 'c' }],
      ['toolu_01NRtime', 'get_time', { tz: 'Europe/Berlin' }],
    ]);
    // prompt = input + cache read + cache creation
    assert.deepEqual(completion.usage, { prompt_tokens: 497, completion_tokens: 65, total_tokens: 562, prompt_tokens_details: { cached_tokens: 100 } });
  });

  it('emits the OpenAI frame order: role chunk first, tool indexes renumbered from 0, usage chunk, [DONE]', () => {
    const events = parseSse(translate(source, make()));
    assert.equal(events.at(-1)!.data, '[DONE]');
    const chunks = events.slice(0, -1).map((event) => JSON.parse(event.data));
    assert.deepEqual(chunks[0].choices[0].delta, { role: 'assistant', content: '', refusal: null });
    const toolIndexes = chunks.flatMap((chunk) => chunk.choices[0]?.delta.tool_calls ?? []).map((call: { index: number }) => call.index);
    assert.deepEqual([...new Set(toolIndexes)], [0, 1]);
    assert.equal(chunks.at(-2).choices[0].finish_reason, 'tool_calls');
    assert.deepEqual(chunks.at(-1).choices, []);
    assert.ok(events.every((event) => event.event === undefined), 'OpenAI streams are data-only');
    assert.ok(!events.some((event) => event.data.includes('thinking') || event.data.includes('ping')), 'thinking and ping are not forwarded');
  });

  it('sends no usage chunk when the client did not ask for include_usage', () => {
    const chunks = parseSse(translate(source, make(false))).slice(0, -1).map((event) => JSON.parse(event.data));
    assert.ok(chunks.every((chunk) => chunk.choices.length === 1));
  });

  it('turns a mid-stream overloaded error into an OpenAI error payload the SDK throws on', async () => {
    const out = assertSplitInvariant(fixture('anthropic-error.sse'), () => make());
    const last = JSON.parse(parseSse(out).at(-1)!.data);
    assert.deepEqual(last, { error: { message: 'Overloaded', type: 'server_error', param: null, code: 'overloaded' } });
    await assert.rejects(openAISdkFinalCompletion(out), /Overloaded/);
  });

  it('a stream cut short (no message_stop) ends with an error, not a silent success', async () => {
    const whole = fixture('anthropic-thinking-text-tools.sse').toString('utf8');
    const cut = Buffer.from(whole.slice(0, whole.indexOf('event: content_block_start\ndata: {"type":"content_block_start","index":3')));
    const out = translate(cut, make());
    assert.ok(!out.includes('[DONE]'));
    assert.match(JSON.parse(parseSse(out).at(-1)!.data).error.message, /ended before/);
    await assert.rejects(openAISdkFinalCompletion(out));
  });
});

describe('OpenAI stream → Anthropic client', () => {
  const make = () => new PivotToAnthropicStream({ model: 'gpt-for-anthropic' });

  it('gives the same output however the upstream bytes are split', () => {
    assertSplitInvariant(fixture('openai-text.sse'), make);
    assertSplitInvariant(fixture('openai-text-tools.sse'), make);
  });

  it('the official Anthropic SDK assembles a text answer with usage from the final usage chunk', async () => {
    const message = await anthropicSdkFinalMessage(translate(fixture('openai-text.sse'), make()));
    assert.equal(message.id, 'msg_9tZXtext');
    assert.equal(message.model, 'gpt-for-anthropic');
    assert.deepEqual(message.content.map((block) => block.type === 'text' ? block.text : block.type), ['Grüße aus Zürich 🇨🇭!']);
    assert.equal(message.stop_reason, 'end_turn');
    assert.equal(message.usage.input_tokens, 12); // 17 prompt − 5 cached
    assert.equal(message.usage.cache_read_input_tokens, 5);
    assert.equal(message.usage.output_tokens, 10);
  });

  it('text then two tool calls become three blocks with the right indexes, names and inputs', async () => {
    const out = translate(fixture('openai-text-tools.sse'), make());
    const message = await anthropicSdkFinalMessage(out);
    assert.equal(message.stop_reason, 'tool_use');
    assert.deepEqual(
      message.content.map((block) => block.type === 'text' ? ['text', block.text] : block.type === 'tool_use' ? [block.id, block.name, block.input] : [block.type]),
      [
        ['text', 'Let me check ✓'],
        ['call_weather1', 'get_weather', { location: 'Kraków' }],
        ['call_time2', 'get_time', { tz: 'Europe/Warsaw' }],
      ],
    );
    const events = parseSse(out);
    assert.deepEqual(
      events.map((event) => event.event === 'content_block_start' || event.event === 'content_block_stop' ? `${event.event}:${JSON.parse(event.data).index}` : event.event),
      [
        'message_start',
        'content_block_start:0', 'content_block_delta', 'content_block_stop:0',
        'content_block_start:1', 'content_block_delta', 'content_block_delta', 'content_block_delta', 'content_block_stop:1',
        'content_block_start:2', 'content_block_delta', 'content_block_stop:2',
        'message_delta', 'message_stop',
      ],
    );
    assert.ok(events.every((event) => JSON.parse(event.data).type === event.event), 'data.type equals the event name');
    assert.equal(JSON.parse(events[0]!.data).message.usage.input_tokens, 0);
    assert.deepEqual(JSON.parse(events.at(-2)!.data).usage, { input_tokens: 82, output_tokens: 17, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 });
  });

  it('text after a tool call opens a new text block', () => {
    const chunk = (delta: object, finish: string | null = null) =>
      ({ data: JSON.stringify({ id: 'chatcmpl-x', object: 'chat.completion.chunk', created: 1, model: 'm', choices: [{ index: 0, delta, finish_reason: finish }] }) });
    const machine = make();
    let out = machine.push(chunk({ role: 'assistant', content: 'a' }));
    out += machine.push(chunk({ tool_calls: [{ index: 0, id: 'call_1', type: 'function', function: { name: 'f', arguments: '{}' } }] }));
    out += machine.push(chunk({ content: 'b' }));
    out += machine.push(chunk({}, 'stop'));
    out += machine.push({ data: '[DONE]' });
    const starts = parseSse(out).filter((event) => event.event === 'content_block_start').map((event) => JSON.parse(event.data));
    assert.deepEqual(starts.map((event) => [event.index, event.content_block.type]), [[0, 'text'], [1, 'tool_use'], [2, 'text']]);
    // a compatible server that says "stop" after calling tools still yields tool_use
    assert.equal(JSON.parse(parseSse(out).at(-2)!.data).delta.stop_reason, 'tool_use');
  });

  it('turns a mid-stream OpenAI error into an Anthropic error event the SDK throws on', async () => {
    const out = assertSplitInvariant(fixture('openai-error.sse'), make);
    const last = parseSse(out).at(-1)!;
    assert.equal(last.event, 'error');
    assert.deepEqual(JSON.parse(last.data), { type: 'error', error: { type: 'rate_limit_error', message: 'Rate limit reached for gpt-4o-mini' } });
    await assert.rejects(anthropicSdkFinalMessage(out), /Rate limit reached/);
  });

  it('a stream cut before finish_reason ends with an api_error event', async () => {
    const whole = fixture('openai-text-tools.sse').toString('utf8');
    const cut = Buffer.from(whole.slice(0, whole.indexOf('"index":1,"id"')));
    const out = translate(cut, make());
    const last = parseSse(out).at(-1)!;
    assert.equal(last.event, 'error');
    assert.equal(JSON.parse(last.data).error.type, 'api_error');
    assert.ok(!out.includes('message_stop'));
    await assert.rejects(anthropicSdkFinalMessage(out));
  });

  it('a stream that lost only [DONE] after finish_reason still completes, with usage', async () => {
    const whole = fixture('openai-text.sse').toString('utf8');
    const message = await anthropicSdkFinalMessage(translate(Buffer.from(whole.replace('data: [DONE]\n\n', '')), make()));
    assert.equal(message.stop_reason, 'end_turn');
    assert.equal(message.usage.output_tokens, 10);
  });
});
