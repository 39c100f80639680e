/**
 * Issue 11: what the newest Anthropic and OpenAI requests carry means something on the other side
 * (or is dropped and named), and a request translation cannot read is a 400 in the caller's
 * provider's wording, never a TypeError.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { AnthropicMessagesRequest } from '../../src/protocol/anthropic.js';
import type { OpenAIChatRequest } from '../../src/protocol/openai.js';
import { InvalidRequest } from '../../src/protocol/invalid.js';
import { openAIToGeminiRequest } from '../../src/providers/gemini/translate.js';
import { openAIToOllamaRequest, type OllamaChatRequest } from '../../src/providers/ollama/translate.js';
import { bridge } from '../support/bridge.js';
import { reasoningEffortFor, takesReasoningEffort } from '../../src/protocol/reasoning.js';
import { pivotToAnthropicRequest } from '../../src/providers/anthropic/request.js';
import { anthropicToPivotRequest } from '../../src/surfaces/anthropic/request.js';

type Json = Record<string, unknown>;

/** Claude Code 2.1.332's conversation shape: a system message between turns. */
const midSystem = {
  model: 'claude-sonnet-4-6',
  max_tokens: 64000,
  system: 'You are Claude Code.',
  messages: [
    { role: 'user', content: 'Read notes.txt' },
    { role: 'system', content: 'The user switched to plan mode.' },
    { role: 'assistant', content: 'Reading.' },
    { role: 'user', content: 'Go on.' },
  ],
} as unknown as AnthropicMessagesRequest;

describe('a mid-conversation system message across protocols', () => {
  it('stays a system message in its place for OpenAI-compatible providers, never a user message', () => {
    const { request } = anthropicToPivotRequest(midSystem, { model: 'gpt-4o-mini' });
    assert.deepEqual(request.messages, [
      { role: 'system', content: 'You are Claude Code.' },
      { role: 'user', content: 'Read notes.txt' },
      { role: 'system', content: 'The user switched to plan mode.' },
      { role: 'assistant', content: 'Reading.' },
      { role: 'user', content: 'Go on.' },
    ]);
  });

  it('joins systemInstruction for Gemini', () => {
    const viaOpenAI = anthropicToPivotRequest(midSystem, { model: 'gemini-2.5-flash' }).request;
    const { request } = openAIToGeminiRequest(viaOpenAI);
    assert.deepEqual(request.systemInstruction, { parts: [{ text: 'You are Claude Code.\nThe user switched to plan mode.' }] });
    assert.deepEqual(request.contents.map((c) => c.role), ['user', 'model', 'user']);
  });

  it('is a system message for Ollama', () => {
    const request = JSON.parse(bridge('anthropic', 'ollama', { body: midSystem }).request('qwen3', false).body) as OllamaChatRequest;
    assert.deepEqual(request.messages.map((m) => m.role), ['system', 'user', 'system', 'assistant', 'user']);
    assert.equal(request.messages[2]!.content, 'The user switched to plan mode.');
  });

  it('from OpenAI to Anthropic, system and developer messages join the system prompt', () => {
    const req = { model: 'gpt-x', messages: [{ role: 'user', content: 'a' }, { role: 'developer', content: 'Be brief.' }, { role: 'user', content: 'b' }] } as OpenAIChatRequest;
    const { request } = pivotToAnthropicRequest(req);
    assert.equal(request.system, 'Be brief.');
    assert.deepEqual(request.messages.map((m) => m.role), ['user']);
  });
});

describe('reasoning effort: which targets take it, and how much', () => {
  const table: Array<[string, Parameters<typeof reasoningEffortFor>[1], string | undefined]> = [
    ['gpt-5', { effort: 'high' }, 'high'],
    ['gpt-5-mini', { effort: 'low', thinking: 'adaptive' }, 'low'],
    ['o4-mini', { effort: 'medium' }, 'medium'],
    ['openai/gpt-5.1', { effort: 'max' }, 'high'],
    ['gpt-5', { thinking: 'enabled', budget: 1024 }, 'low'],
    ['gpt-5', { thinking: 'enabled', budget: 8000 }, 'medium'],
    ['gpt-5', { thinking: 'enabled', budget: 31999 }, 'high'],
    ['gpt-5', { thinking: 'adaptive' }, undefined],
    ['gpt-5', { thinking: 'disabled' }, 'low'],
    ['o3', { thinking: 'disabled' }, 'low'],
    ['gpt-4o-mini', { effort: 'high' }, undefined],
    ['llama3.1', { thinking: 'enabled', budget: 30000 }, undefined],
  ];
  for (const [model, asked, expected] of table) {
    it(`${model} with ${JSON.stringify(asked)} → ${expected ?? 'nothing'}`, () => {
      assert.equal(reasoningEffortFor(model, asked), expected);
    });
  }

  it('only the o-series and gpt-5 families count as reasoning models', () => {
    assert.deepEqual(['o1', 'o3-mini', 'gpt-5', 'gpt-5-nano', 'gpt-4o', 'gpt-4.1', 'omni', 'qwen3'].map(takesReasoningEffort), [true, true, true, true, false, false, false, false]);
  });
});

describe("Claude Code's newest fields translated to OpenAI", () => {
  const base = { model: 'claude-sonnet-4-6', max_tokens: 64000, messages: [{ role: 'user', content: 'hi' }] };
  const cases: Array<{ name: string; model: string; req: Json; expect: Json; dropped: string[] }> = [
    {
      name: 'adaptive thinking and effort become reasoning_effort for a reasoning model',
      model: 'gpt-5',
      req: { thinking: { type: 'adaptive' }, output_config: { effort: 'high' } },
      expect: { reasoning_effort: 'high' },
      dropped: [],
    },
    {
      name: 'and are dropped, named, for a model that does not take it',
      model: 'gpt-4o-mini',
      req: { thinking: { type: 'adaptive' }, output_config: { effort: 'high' } },
      expect: { reasoning_effort: undefined },
      dropped: ['thinking', 'output_config.effort'],
    },
    {
      name: 'context_management and tools with defer_loading are left out and named',
      model: 'gpt-4o-mini',
      req: {
        context_management: { edits: [{ type: 'clear_thinking_20251015', keep: 'all' }] },
        tools: [
          { name: 'Read', input_schema: { type: 'object', properties: { file_path: { type: 'string' } } } },
          { name: 'mcp__docs__search', input_schema: { type: 'object' }, defer_loading: true },
        ],
      },
      expect: { tools: [{ type: 'function', function: { name: 'Read', parameters: { type: 'object', properties: { file_path: { type: 'string' } } } } }] },
      dropped: ['context_management', 'tools with defer_loading'],
    },
    {
      name: 'structured output (output_config.format) becomes response_format; strict tools stay strict',
      model: 'gpt-4o-mini',
      req: {
        output_config: { format: { type: 'json_schema', schema: { type: 'object', properties: { a: { type: 'string' } } } } },
        tools: [{ name: 't', input_schema: { type: 'object' }, strict: true }],
      },
      expect: {
        response_format: { type: 'json_schema', json_schema: { name: 'output', schema: { type: 'object', properties: { a: { type: 'string' } } }, strict: true } },
        tools: [{ type: 'function', function: { name: 't', parameters: { type: 'object' }, strict: true } }],
      },
      dropped: [],
    },
    {
      name: 'disabled thinking is no feature lost; inference_geo, cache_control, mcp_servers are named',
      model: 'gpt-4o-mini',
      req: { thinking: { type: 'disabled' }, inference_geo: 'us', cache_control: { type: 'ephemeral' }, mcp_servers: [] },
      expect: { reasoning_effort: undefined },
      dropped: ['inference_geo', 'cache_control', 'mcp_servers'],
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const { request, dropped } = anthropicToPivotRequest({ ...base, ...c.req } as unknown as AnthropicMessagesRequest, { model: c.model });
      for (const [key, value] of Object.entries(c.expect)) assert.deepEqual(request[key], value, key);
      assert.deepEqual([...dropped].sort(), [...c.dropped].sort());
      for (const field of ['thinking', 'output_config', 'context_management']) assert.ok(!(field in request), field);
    });
  }
});

/** The fault a translation raises for a body, or undefined if it translates. */
function faultOf(translate: () => unknown): InvalidRequest['fault'] | undefined {
  try {
    translate();
    return undefined;
  } catch (error) {
    assert.ok(error instanceof InvalidRequest, `expected InvalidRequest, got ${String(error)}`);
    return error.fault;
  }
}

describe('an Anthropic request translation cannot read is a 400 in Anthropic wording', () => {
  const base = { model: 'claude-x', max_tokens: 10 };
  const cases: Array<[string, Json, string | undefined]> = [
    ['a message without content', { messages: [{ role: 'user' }] }, 'messages.0.content: Field required'],
    ['an unknown role', { messages: [{ role: 'user', content: 'a' }, { role: 'robot', content: 'b' }] }, "messages.1.role: Input should be 'user' or 'assistant'"],
    ['an image without source', { messages: [{ role: 'user', content: [{ type: 'image' }] }] }, 'messages.0.content.0.source: Field required'],
    ['a base64 image without data', { messages: [{ role: 'user', content: [{ type: 'image', source: { type: 'base64', media_type: 'image/png' } }] }] }, 'messages.0.content.0.source.data: Field required'],
    ['a text block whose text is a number', { messages: [{ role: 'user', content: [{ type: 'text', text: 5 }] }] }, 'messages.0.content.0.text: Input should be a valid string'],
    ['a tool result without tool_use_id', { messages: [{ role: 'user', content: [{ type: 'tool_result', content: 'x' }] }] }, 'messages.0.content.0.tool_use_id: Field required'],
    ['a tool_use whose input is a string', { messages: [{ role: 'user', content: 'a' }, { role: 'assistant', content: [{ type: 'tool_use', id: 't1', name: 'f', input: 'x' }] }] }, 'messages.1.content.0.input: Input should be a valid dictionary'],
    ['stop_sequences as a string', { messages: [{ role: 'user', content: 'a' }], stop_sequences: 'END' }, 'stop_sequences: Input should be a valid list'],
    ['tools as an object', { messages: [{ role: 'user', content: 'a' }], tools: { name: 'x' } }, 'tools: Input should be a valid list'],
    ['a tool without a name', { messages: [{ role: 'user', content: 'a' }], tools: [{ input_schema: { type: 'object' } }] }, 'tools.0.name: Field required'],
    ['system as a number', { messages: [{ role: 'user', content: 'a' }], system: 5 }, 'system: Input should be a valid list'],
    ['tool_choice null is no choice at all', { messages: [{ role: 'user', content: 'a' }], tool_choice: null }, undefined],
    ['an unknown block type is dropped, not refused', { messages: [{ role: 'user', content: [{ type: 'hologram', x: 1 }, { type: 'text', text: 'a' }] }] }, undefined],
  ];
  for (const [name, req, message] of cases) {
    it(name, () => {
      const fault = faultOf(() => anthropicToPivotRequest({ ...base, ...req } as unknown as AnthropicMessagesRequest));
      assert.equal(fault?.message, message);
    });
  }
});

describe('an OpenAI request translation cannot read is a 400 in OpenAI wording, with param and code', () => {
  const cases: Array<[string, Json, { message: string; param: string; code: string } | undefined]> = [
    ['stop: true', { stop: true }, { message: "Invalid type for 'stop': expected an array, but got a boolean instead.", param: 'stop', code: 'invalid_type' }],
    ['tool_choice: null is no choice at all', { tool_choice: null, tools: [{ type: 'function', function: { name: 'f' } }] }, undefined],
    ['a message without content', { messages: [{ role: 'user' }] }, { message: "Missing required parameter: 'messages[0].content'.", param: 'messages[0].content', code: 'missing_required_parameter' }],
    ['an image part without image_url', { messages: [{ role: 'user', content: [{ type: 'image_url' }] }] }, { message: "Missing required parameter: 'messages[0].content[0].image_url'.", param: 'messages[0].content[0].image_url', code: 'missing_required_parameter' }],
    [
      'a tool message without tool_call_id',
      { messages: [{ role: 'user', content: 'a' }, { role: 'tool', content: 'r' }] },
      { message: "Missing required parameter: 'messages[1].tool_call_id'.", param: 'messages[1].tool_call_id', code: 'missing_required_parameter' },
    ],
    ['a tool without its function', { tools: [{ type: 'function' }] }, { message: "Missing required parameter: 'tools[0].function'.", param: 'tools[0].function', code: 'missing_required_parameter' }],
    ['a message that is a string', { messages: ['hi'] }, { message: "Invalid type for 'messages[0]': expected an object, but got a string instead.", param: 'messages[0]', code: 'invalid_type' }],
    ['temperature as a string', { temperature: 'hot' }, { message: "Invalid type for 'temperature': expected a decimal, but got a string instead.", param: 'temperature', code: 'invalid_type' }],
  ];
  const translators: Array<[string, (req: OpenAIChatRequest) => unknown]> = [
    ['Anthropic', (req) => pivotToAnthropicRequest(req)],
    ['Gemini', (req) => openAIToGeminiRequest(req)],
    ['Ollama', (req) => openAIToOllamaRequest(req)],
  ];
  for (const [name, req, expected] of cases) {
    it(`${name} (to Anthropic, Gemini and Ollama alike)`, () => {
      for (const [target, translate] of translators) {
        const fault = faultOf(() => translate({ model: 'gpt-x', messages: [{ role: 'user', content: 'hi' }], ...req } as unknown as OpenAIChatRequest));
        assert.deepEqual(fault, expected, target);
      }
    });
  }
});
