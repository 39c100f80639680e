import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { AnthropicMessagesRequest } from '../../src/protocol/anthropic.js';
import type { OpenAIChatRequest } from '../../src/protocol/openai.js';
import { anthropicToPivotRequest } from '../../src/surfaces/anthropic/request.js';
import { pivotToAnthropicRequest } from '../../src/providers/anthropic/request.js';
import { bridge } from '../support/bridge.js';

const PNG = 'iVBORw0KGgo=';
const base: AnthropicMessagesRequest = { model: 'claude-x', max_tokens: 512, messages: [{ role: 'user', content: 'hi' }] };

describe('Anthropic request → OpenAI request', () => {
  const cases: Array<{ name: string; req: Partial<AnthropicMessagesRequest>; expect: Partial<OpenAIChatRequest>; dropped?: string[] }> = [
    {
      name: 'system blocks are hoisted into one leading system message; max_tokens kept',
      req: { system: [{ type: 'text', text: 'You are terse.' }, { type: 'text', text: 'Answer in German.', cache_control: { type: 'ephemeral' } }] },
      expect: { messages: [{ role: 'system', content: 'You are terse.\n\nAnswer in German.' }, { role: 'user', content: 'hi' }], max_completion_tokens: 512 },
      dropped: ['cache_control'],
    },
    {
      name: 'multi-turn history with thinking in an assistant turn (dropped)',
      req: {
        messages: [
          { role: 'user', content: 'Q1' },
          { role: 'assistant', content: [{ type: 'thinking', thinking: 'hmm', signature: 's' }, { type: 'redacted_thinking', data: 'x' }, { type: 'text', text: 'A1' }] },
          { role: 'user', content: [{ type: 'text', text: 'Q2' }] },
        ],
      },
      expect: { messages: [{ role: 'user', content: 'Q1' }, { role: 'assistant', content: 'A1' }, { role: 'user', content: 'Q2' }] },
      dropped: ['thinking'],
    },
    {
      name: 'images: base64 becomes a data: URL, url stays a URL',
      req: {
        messages: [{
          role: 'user',
          content: [
            { type: 'text', text: 'Compare' },
            { type: 'image', source: { type: 'base64', media_type: 'image/png', data: PNG } },
            { type: 'image', source: { type: 'url', url: 'https://example.com/a.jpg' } },
          ],
        }],
      },
      expect: {
        messages: [{
          role: 'user',
          content: [
            { type: 'text', text: 'Compare' },
            { type: 'image_url', image_url: { url: `data:image/png;base64,${PNG}` } },
            { type: 'image_url', image_url: { url: 'https://example.com/a.jpg' } },
          ],
        }],
      },
    },
    {
      name: 'tool use and several tool results + text split into tool messages then a user message, in order',
      req: {
        messages: [
          { role: 'user', content: 'Weather and time?' },
          {
            role: 'assistant',
            content: [
              { type: 'text', text: 'Checking.' },
              { type: 'tool_use', id: 'toolu_1', name: 'get_weather', input: { city: 'Paris' } },
              { type: 'tool_use', id: 'toolu_2', name: 'get_time', input: {} },
            ],
          },
          {
            role: 'user',
            content: [
              { type: 'tool_result', tool_use_id: 'toolu_1', content: [{ type: 'text', text: '18°C' }] },
              { type: 'tool_result', tool_use_id: 'toolu_2', content: 'no clock', is_error: true },
              { type: 'text', text: 'Thanks' },
            ],
          },
        ],
      },
      expect: {
        messages: [
          { role: 'user', content: 'Weather and time?' },
          {
            role: 'assistant',
            content: 'Checking.',
            tool_calls: [
              { id: 'toolu_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } },
              { id: 'toolu_2', type: 'function', function: { name: 'get_time', arguments: '{}' } },
            ],
          },
          { role: 'tool', tool_call_id: 'toolu_1', content: '18°C' },
          { role: 'tool', tool_call_id: 'toolu_2', content: 'Error: no clock' },
          { role: 'user', content: 'Thanks' },
        ],
      },
    },
    {
      name: 'tool definitions and tool_choice tool + disable_parallel_tool_use',
      req: {
        tools: [{ name: 'get_weather', description: 'Weather', input_schema: { type: 'object', properties: { city: { type: 'string' } } } }],
        tool_choice: { type: 'tool', name: 'get_weather', disable_parallel_tool_use: true },
      },
      expect: {
        tools: [{ type: 'function', function: { name: 'get_weather', description: 'Weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } } }],
        tool_choice: { type: 'function', function: { name: 'get_weather' } },
        parallel_tool_calls: false,
      },
    },
    { name: 'tool_choice any → required', req: { tools: [{ name: 't', input_schema: { type: 'object' } }], tool_choice: { type: 'any' } }, expect: { tool_choice: 'required' } },
    { name: 'tool_choice auto → auto', req: { tools: [{ name: 't', input_schema: { type: 'object' } }], tool_choice: { type: 'auto' } }, expect: { tool_choice: 'auto' } },
    { name: 'tool_choice none → none', req: { tools: [{ name: 't', input_schema: { type: 'object' } }], tool_choice: { type: 'none' } }, expect: { tool_choice: 'none' } },
    {
      name: 'server tools are dropped, not forwarded',
      req: { tools: [{ type: 'web_search_20250305', name: 'web_search' }] },
      expect: { tools: undefined },
      dropped: ['server tool web_search_20250305'],
    },
    {
      name: 'stops, sampling, user, streaming always asks for usage',
      req: { stop_sequences: ['END', '###'], temperature: 0.2, top_p: 0.9, metadata: { user_id: 'u-42' }, stream: true },
      expect: { stop: ['END', '###'], temperature: 0.2, top_p: 0.9, user: 'u-42', stream: true, stream_options: { include_usage: true } },
    },
    {
      name: 'Anthropic-only features are dropped and listed',
      req: { thinking: { type: 'enabled', budget_tokens: 1000 }, service_tier: 'auto', container: 'c1', top_k: 5 },
      expect: { messages: [{ role: 'user', content: 'hi' }], top_k: 5 },
      dropped: ['thinking', 'service_tier', 'container'],
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const { request, dropped } = anthropicToPivotRequest({ ...base, ...c.req }, { model: 'gpt-4o-mini' });
      assert.equal(request.model, 'gpt-4o-mini');
      for (const [key, value] of Object.entries(c.expect)) assert.deepEqual(request[key], value, key);
      assert.deepEqual(dropped.sort(), (c.dropped ?? []).sort());
      assert.ok(!('thinking' in request) && !('container' in request) && !('service_tier' in request));
    });
  }

  it('top_k rides in the pivot and is dropped, and named, only by a provider that has none (OpenAI)', () => {
    const toOpenAI = bridge('anthropic', 'openai', { body: { ...base, top_k: 5 } }).request('gpt-4o-mini', false);
    assert.equal((JSON.parse(toOpenAI.body) as Record<string, unknown>).top_k, undefined);
    assert.deepEqual(toOpenAI.dropped, ['top_k']);
    const toOllama = bridge('anthropic', 'ollama', { body: { ...base, top_k: 5 } }).request('qwen3', false);
    assert.equal((JSON.parse(toOllama.body) as { options: { top_k?: number } }).options.top_k, 5);
    assert.deepEqual(toOllama.dropped, []);
  });

  it('sends max_tokens to other models and compatible servers, max_completion_tokens to reasoning models', () => {
    const toModel = (model: string) => JSON.parse(bridge('anthropic', 'openai', { body: base }).request(model, false).body) as OpenAIChatRequest;
    const chat = toModel('gpt-4o-mini');
    assert.equal(chat.max_tokens, 512);
    assert.equal(chat.max_completion_tokens, undefined);
    const reasoning = toModel('gpt-5-mini');
    assert.equal(reasoning.max_completion_tokens, 512);
    assert.equal(reasoning.max_tokens, undefined);
  });
});

describe('OpenAI request → Anthropic request', () => {
  const oBase: OpenAIChatRequest = { model: 'gpt-x', messages: [{ role: 'user', content: 'hi' }] };
  const cases: Array<{ name: string; req: Partial<OpenAIChatRequest>; expect: Partial<AnthropicMessagesRequest>; dropped?: string[] }> = [
    {
      name: 'system and developer messages anywhere are hoisted and joined; max_tokens defaults to 4096',
      req: { messages: [{ role: 'system', content: 'Be terse.' }, { role: 'user', content: 'hi' }, { role: 'developer', content: [{ type: 'text', text: 'Use metric.' }] }] },
      expect: { system: 'Be terse.\nUse metric.', messages: [{ role: 'user', content: [{ type: 'text', text: 'hi' }] }], max_tokens: 4096 },
    },
    {
      name: 'max_completion_tokens wins over max_tokens',
      req: { max_completion_tokens: 100, max_tokens: 200 },
      expect: { max_tokens: 100 },
    },
    {
      name: 'images: data: URL becomes base64, https stays a url source',
      req: {
        messages: [{
          role: 'user',
          content: [
            { type: 'text', text: 'What is this?' },
            { type: 'image_url', image_url: { url: `data:image/jpeg;base64,${PNG}`, detail: 'high' } },
            { type: 'image_url', image_url: { url: 'https://example.com/b.png' } },
          ],
        }],
      },
      expect: {
        messages: [{
          role: 'user',
          content: [
            { type: 'text', text: 'What is this?' },
            { type: 'image', source: { type: 'base64', media_type: 'image/jpeg', data: PNG } },
            { type: 'image', source: { type: 'url', url: 'https://example.com/b.png' } },
          ],
        }],
      },
    },
    {
      name: 'tool calls and tool messages become tool_use and tool_result blocks; following user text joins the same turn',
      req: {
        messages: [
          { role: 'user', content: 'Weather?' },
          { role: 'assistant', content: null, tool_calls: [
            { id: 'call_a', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Oslo"}' } },
            { id: 'call_b', type: 'function', function: { name: 'get_time', arguments: 'not json' } },
          ] },
          { role: 'tool', tool_call_id: 'call_a', content: '3°C' },
          { role: 'tool', tool_call_id: 'call_b', content: [{ type: 'text', text: '12:00' }] },
          { role: 'user', content: 'And tomorrow?' },
        ],
      },
      expect: {
        messages: [
          { role: 'user', content: [{ type: 'text', text: 'Weather?' }] },
          { role: 'assistant', content: [
            { type: 'tool_use', id: 'call_a', name: 'get_weather', input: { city: 'Oslo' } },
            { type: 'tool_use', id: 'call_b', name: 'get_time', input: {} },
          ] },
          { role: 'user', content: [
            { type: 'tool_result', tool_use_id: 'call_a', content: '3°C' },
            { type: 'tool_result', tool_use_id: 'call_b', content: '12:00' },
            { type: 'text', text: 'And tomorrow?' },
          ] },
        ],
      },
      dropped: ['invalid tool call arguments (replaced by {})'],
    },
    {
      name: 'tools, tool_choice required + parallel_tool_calls false',
      req: { tools: [{ type: 'function', function: { name: 'f', description: 'd', parameters: { type: 'object', properties: {} } } }], tool_choice: 'required', parallel_tool_calls: false },
      expect: { tools: [{ name: 'f', description: 'd', input_schema: { type: 'object', properties: {} } }], tool_choice: { type: 'any', disable_parallel_tool_use: true } },
    },
    {
      name: 'tool_choice function → tool',
      req: { tools: [{ type: 'function', function: { name: 'f' } }], tool_choice: { type: 'function', function: { name: 'f' } } },
      expect: { tools: [{ name: 'f', input_schema: { type: 'object', properties: {} } }], tool_choice: { type: 'tool', name: 'f' } },
    },
    {
      name: 'tool_choice none → none',
      req: { tools: [{ type: 'function', function: { name: 'f' } }], tool_choice: 'none' },
      expect: { tool_choice: { type: 'none' } },
    },
    {
      name: 'stop string, temperature clamped, top_p, user, stream',
      req: { stop: 'END', temperature: 1.5, top_p: 0.5, user: 'u-7', stream: true, stream_options: { include_usage: true } },
      expect: { stop_sequences: ['END'], temperature: 1, top_p: 0.5, metadata: { user_id: 'u-7' }, stream: true },
      dropped: ['temperature above 1 (clamped)'],
    },
    {
      name: 'OpenAI-only fields are dropped and listed',
      req: { response_format: { type: 'json_object' }, seed: 1, logprobs: true, n: 2 },
      expect: { messages: [{ role: 'user', content: [{ type: 'text', text: 'hi' }] }] },
      dropped: ['response_format', 'seed', 'logprobs', 'n'],
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const { request, dropped } = pivotToAnthropicRequest({ ...oBase, ...c.req }, { model: 'claude-sonnet-4-5' });
      assert.equal(request.model, 'claude-sonnet-4-5');
      for (const [key, value] of Object.entries(c.expect)) assert.deepEqual((request as unknown as Record<string, unknown>)[key], value, key);
      assert.deepEqual(dropped.sort(), (c.dropped ?? []).sort());
      assert.ok(!('stream_options' in request) && !('response_format' in request));
    });
  }

  it('the max_tokens default is a parameter', () => {
    assert.equal(pivotToAnthropicRequest(oBase, { defaultMaxTokens: 1000 }).request.max_tokens, 1000);
  });

  it('survives a round trip: Anthropic → OpenAI → Anthropic keeps the conversation', () => {
    const original: AnthropicMessagesRequest = {
      model: 'claude-x',
      max_tokens: 300,
      system: 'sys',
      messages: [
        { role: 'user', content: [{ type: 'text', text: 'q' }, { type: 'image', source: { type: 'base64', media_type: 'image/png', data: PNG } }] },
        { role: 'assistant', content: [{ type: 'text', text: 'a' }, { type: 'tool_use', id: 'toolu_9', name: 't', input: { x: 1 } }] },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_9', content: 'r' }] },
      ],
      stop_sequences: ['Z'],
      tools: [{ name: 't', input_schema: { type: 'object' } }],
      tool_choice: { type: 'auto' },
    };
    const back = pivotToAnthropicRequest(anthropicToPivotRequest(original).request).request;
    assert.deepEqual(back, { ...original, messages: [original.messages[0], original.messages[1], original.messages[2]] });
  });
});
