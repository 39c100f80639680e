import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { SseParser } from '../../src/protocol/sse.js';
import { ollamaToOpenAIResponse, openAIToOllamaRequest, type OllamaChatResponse } from '../../src/providers/ollama/translate.js';
import { bridge } from '../support/bridge.js';

const NOW = 1_750_000_000_000;

function fixture(name: string): Buffer {
  return readFileSync(new URL(`../fixtures/translate/${name}`, import.meta.url));
}

interface ByteMachine {
  push(chunk: Uint8Array): string;
  end(): string;
}

function run(bytes: Buffer, machine: ByteMachine, cuts: number[] = []): string {
  let out = '';
  let start = 0;
  for (const cut of [...cuts, bytes.length]) {
    out += machine.push(bytes.subarray(start, cut));
    start = cut;
  }
  return out + machine.end();
}

function assertSplitInvariant(bytes: Buffer, make: () => ByteMachine): string {
  const whole = run(bytes, make());
  for (let i = 1; i < bytes.length; i++) assert.equal(run(bytes, make(), [i]), whole, `differs when cut at byte ${i}`);
  return whole;
}

function sseFetch(body: string): typeof fetch {
  return async () => new Response(body, { status: 200, headers: { 'content-type': 'text/event-stream' } });
}

const toOpenAI = (includeUsage = true) => bridge('openai', 'ollama', { requestedModel: 'local-model', body: { stream_options: { include_usage: includeUsage } } }).stream(NOW);
const toAnthropic = () => bridge('anthropic', 'ollama', { requestedModel: 'local-model' }).stream(NOW);

async function openAIFinal(sse: string) {
  const client = new OpenAI({ apiKey: 'ollama', baseURL: 'http://127.0.0.1:9/v1', maxRetries: 0, fetch: sseFetch(sse) });
  return client.chat.completions.stream({ model: 'x', messages: [{ role: 'user', content: 'hi' }] }).finalChatCompletion();
}

async function anthropicFinal(sse: string) {
  const client = new Anthropic({ apiKey: 'x', baseURL: 'http://127.0.0.1:9', maxRetries: 0, fetch: sseFetch(sse) });
  return client.messages.stream({ model: 'x', max_tokens: 10, messages: [{ role: 'user', content: 'hi' }] }).finalMessage();
}

describe('Ollama requests', () => {
  it('OpenAI request → /api/chat body: system, images as base64, tool calls with object arguments, options', () => {
    const { request, dropped } = openAIToOllamaRequest({
      model: 'gpt-x',
      messages: [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: [{ type: 'text', text: 'What is it?' }, { type: 'image_url', image_url: { url: 'data:image/png;base64,AAAA' } }] },
        { role: 'assistant', content: null, tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'look', arguments: '{"zoom":2}' } }] },
        { role: 'tool', tool_call_id: 'call_1', content: 'a cat' },
      ],
      tools: [{ type: 'function', function: { name: 'look', parameters: { type: 'object' } } }],
      max_tokens: 64,
      temperature: 0.3,
      stop: ['###'],
      stream: true,
    }, { model: 'llava:7b' });
    assert.deepEqual(request, {
      model: 'llava:7b',
      messages: [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: 'What is it?', images: ['AAAA'] },
        { role: 'assistant', content: '', tool_calls: [{ function: { name: 'look', arguments: { zoom: 2 } } }] },
        { role: 'tool', content: 'a cat', tool_name: 'look' },
      ],
      stream: true,
      tools: [{ type: 'function', function: { name: 'look', parameters: { type: 'object' } } }],
      options: { temperature: 0.3, num_predict: 64, stop: ['###'] },
    });
    assert.deepEqual(dropped, []);
  });

  it('Anthropic request → /api/chat body, stream false by default, top_k kept as an option', () => {
    const body = {
      model: 'claude-x',
      max_tokens: 100,
      system: 'sys',
      top_k: 20,
      thinking: { type: 'enabled', budget_tokens: 10 },
      messages: [{ role: 'user', content: 'hello' }],
    };
    const translated = bridge('anthropic', 'ollama', { body }).request('qwen2.5', false);
    const request: unknown = JSON.parse(translated.body);
    const { dropped } = translated;
    assert.deepEqual(request, {
      model: 'qwen2.5',
      messages: [{ role: 'system', content: 'sys' }, { role: 'user', content: 'hello' }],
      stream: false,
      options: { num_predict: 100, top_k: 20 },
    });
    assert.deepEqual(dropped, ['thinking']);
  });
});

describe('Ollama responses', () => {
  const resp: OllamaChatResponse = {
    model: 'qwen2.5',
    created_at: '2024-08-04T09:00:00.1Z',
    message: { role: 'assistant', content: '', tool_calls: [{ function: { name: 'get_weather', arguments: { city: 'Paris' } } }] },
    done: true,
    done_reason: 'stop',
    prompt_eval_count: 26,
    eval_count: 12,
  };

  it('→ OpenAI: tool calls get stable invented ids, "stop" after tools becomes tool_calls, usage from eval counts', () => {
    const a = ollamaToOpenAIResponse(resp, { model: 'asked', now: NOW });
    const b = ollamaToOpenAIResponse(resp, { model: 'asked', now: NOW });
    const call = a.choices[0]!.message.tool_calls![0]!;
    assert.match(call.id, /^call_[0-9a-f]+/);
    assert.equal(call.id, b.choices[0]!.message.tool_calls![0]!.id, 'same response, same id');
    assert.deepEqual(call.function, { name: 'get_weather', arguments: '{"city":"Paris"}' });
    assert.equal(a.choices[0]!.finish_reason, 'tool_calls');
    assert.equal(a.model, 'asked');
    assert.deepEqual(a.usage, { prompt_tokens: 26, completion_tokens: 12, total_tokens: 38 });
  });

  it('→ Anthropic: text answer cut by length', () => {
    const answer = { ...resp, message: { role: 'assistant', content: 'Bonjour' }, done_reason: 'length' };
    const message = JSON.parse(bridge('anthropic', 'ollama').response(JSON.stringify(answer), NOW).body) as Anthropic.Message;
    assert.deepEqual(message.content, [{ type: 'text', text: 'Bonjour' }]);
    assert.equal(message.stop_reason, 'max_tokens');
    assert.equal(message.usage.input_tokens, 26);
    assert.equal(message.usage.output_tokens, 12);
    assert.match(message.id, /^msg_/);
  });
});

describe('Ollama NDJSON streams', () => {
  it('→ OpenAI client: same output for every split (lines and UTF-8 characters cut), SDK assembles text and usage', async () => {
    const out = assertSplitInvariant(fixture('ollama-text.ndjson'), () => toOpenAI());
    const completion = await openAIFinal(out);
    assert.equal(completion.choices[0]!.message.content, 'Das Wetter ist schön ☀️');
    assert.equal(completion.choices[0]!.finish_reason, 'stop');
    assert.deepEqual(completion.usage, { prompt_tokens: 26, completion_tokens: 282, total_tokens: 308 });
    assert.ok(out.endsWith('data: [DONE]\n\n'));
  });

  it('→ OpenAI client without include_usage: no usage chunk', () => {
    const parser = new SseParser();
    const events = [...parser.push(run(fixture('ollama-text.ndjson'), toOpenAI(false))), ...parser.end()];
    assert.ok(events.slice(0, -1).every((event) => JSON.parse(event.data).choices.length === 1));
  });

  it('→ Anthropic client: whole tool calls become tool_use blocks with stable ids', async () => {
    const out = assertSplitInvariant(fixture('ollama-tools.ndjson'), toAnthropic);
    const message = await anthropicFinal(out);
    assert.equal(message.stop_reason, 'tool_use');
    const blocks = message.content.map((block) => block.type === 'tool_use' ? [block.name, block.input] : [block.type]);
    assert.deepEqual(blocks, [['get_weather', { city: 'Paris, FR' }], ['get_time', { tz: 'Europe/Paris' }]]);
    const ids = message.content.map((block) => block.type === 'tool_use' ? block.id : '');
    assert.equal(new Set(ids).size, 2);
    assert.deepEqual(ids, (await anthropicFinal(run(fixture('ollama-tools.ndjson'), toAnthropic()))).content.map((block) => block.type === 'tool_use' ? block.id : ''));
    assert.equal(message.usage.input_tokens, 120);
    assert.equal(message.usage.output_tokens, 30);
  });

  it('→ Anthropic client: text stream', async () => {
    const message = await anthropicFinal(run(fixture('ollama-text.ndjson'), toAnthropic()));
    assert.deepEqual(message.content.map((block) => block.type === 'text' ? block.text : ''), ['Das Wetter ist schön ☀️']);
    assert.equal(message.stop_reason, 'end_turn');
  });

  it('an error line mid-stream and a stream cut short both end in the surface\'s error', async () => {
    const partial = fixture('ollama-text.ndjson').toString('utf8').split('\n').slice(0, 2).join('\n') + '\n';
    const withError = Buffer.from(partial + '{"error":"model runner has unexpectedly stopped"}\n');
    await assert.rejects(anthropicFinal(run(withError, toAnthropic())), /unexpectedly stopped/);
    await assert.rejects(openAIFinal(run(withError, toOpenAI())), /unexpectedly stopped/);
    const cut = Buffer.from(partial);
    await assert.rejects(anthropicFinal(run(cut, toAnthropic())), /ended before/);
    await assert.rejects(openAIFinal(run(cut, toOpenAI())), /ended before/);
  });
});
