import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { AnthropicMessage } from '../../src/protocol/anthropic.js';
import type { OpenAIChatCompletion, OpenAIFinishReason } from '../../src/protocol/openai.js';
import { anthropicToPivotAnswer } from '../../src/providers/anthropic/answer.js';
import { pivotToAnthropicAnswer } from '../../src/surfaces/anthropic/answer.js';
import { anthropicErrorToOpenAI, openAIErrorToAnthropic } from '../../src/protocol/anthropic-errors.js';

const NOW = 1_750_000_000_123;

function completion(message: Partial<OpenAIChatCompletion['choices'][number]['message']>, finish: OpenAIFinishReason): OpenAIChatCompletion {
  return {
    id: 'chatcmpl-abc123',
    object: 'chat.completion',
    created: 1699896916,
    model: 'gpt-4o-mini-2024-07-18',
    choices: [{ index: 0, message: { role: 'assistant', content: null, refusal: null, ...message }, logprobs: null, finish_reason: finish }],
    usage: { prompt_tokens: 82, completion_tokens: 17, total_tokens: 99, prompt_tokens_details: { cached_tokens: 32 } },
  };
}

function message(content: AnthropicMessage['content'], stop: AnthropicMessage['stop_reason']): AnthropicMessage {
  return {
    id: 'msg_01XYZ',
    type: 'message',
    role: 'assistant',
    model: 'claude-sonnet-4-5',
    content,
    stop_reason: stop,
    stop_sequence: null,
    usage: { input_tokens: 377, output_tokens: 65, cache_creation_input_tokens: 10, cache_read_input_tokens: 200 },
  };
}

describe('OpenAI response → Anthropic client', () => {
  it('text answer: id, requested model, stop reason, usage split into uncached and cached input', () => {
    const { response } = pivotToAnthropicAnswer(completion({ content: 'Hello' }, 'stop'), { model: 'my-model' });
    assert.deepEqual(response, {
      id: 'msg_abc123',
      type: 'message',
      role: 'assistant',
      model: 'my-model',
      content: [{ type: 'text', text: 'Hello' }],
      stop_reason: 'end_turn',
      stop_sequence: null,
      usage: { input_tokens: 50, output_tokens: 17, cache_creation_input_tokens: 0, cache_read_input_tokens: 32 },
    });
  });

  it('tool calls become tool_use blocks with parsed input; invalid arguments become {} and are reported', () => {
    const { response, dropped } = pivotToAnthropicAnswer(
      completion({ content: 'Sure.', tool_calls: [
        { id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{"location":"Boston, MA"}' } },
        { id: 'call_2', type: 'function', function: { name: 'broken', arguments: '{"a":' } },
      ] }, 'tool_calls'),
      { model: 'm' },
    );
    assert.deepEqual(response.content, [
      { type: 'text', text: 'Sure.' },
      { type: 'tool_use', id: 'call_1', name: 'get_weather', input: { location: 'Boston, MA' } },
      { type: 'tool_use', id: 'call_2', name: 'broken', input: {} },
    ]);
    assert.equal(response.stop_reason, 'tool_use');
    assert.deepEqual(dropped, ['invalid tool call arguments (replaced by {})']);
  });

  const stops: Array<[OpenAIFinishReason, string]> = [['stop', 'end_turn'], ['length', 'max_tokens'], ['tool_calls', 'tool_use'], ['content_filter', 'refusal']];
  for (const [finish, stop] of stops) {
    it(`finish_reason ${finish} → stop_reason ${stop}`, () => {
      assert.equal(pivotToAnthropicAnswer(completion({ content: 'x' }, finish), { model: 'm' }).response.stop_reason, stop);
    });
  }
});

describe('Anthropic response → OpenAI client', () => {
  it('text + tool use: content, tool_calls with JSON arguments, thinking dropped, usage summed', () => {
    const { response, dropped } = anthropicToPivotAnswer(
      message([
        { type: 'thinking', thinking: 'hmm', signature: 'sig' },
        { type: 'text', text: 'Hi' },
        { type: 'tool_use', id: 'toolu_1', name: 'get_weather', input: { location: 'Paris' } },
      ], 'tool_use'),
      { model: 'requested', now: NOW },
    );
    assert.deepEqual(response, {
      id: 'chatcmpl-01XYZ',
      object: 'chat.completion',
      created: 1_750_000_000,
      model: 'requested',
      choices: [{
        index: 0,
        message: { role: 'assistant', content: 'Hi', refusal: null, tool_calls: [{ id: 'toolu_1', type: 'function', function: { name: 'get_weather', arguments: '{"location":"Paris"}' } }] },
        logprobs: null,
        finish_reason: 'tool_calls',
      }],
      usage: { prompt_tokens: 587, completion_tokens: 65, total_tokens: 652, prompt_tokens_details: { cached_tokens: 200 } },
    });
    assert.deepEqual(dropped, ['thinking']);
  });

  const stops: Array<[AnthropicMessage['stop_reason'], OpenAIFinishReason]> = [
    ['end_turn', 'stop'], ['stop_sequence', 'stop'], ['max_tokens', 'length'], ['tool_use', 'tool_calls'], ['refusal', 'content_filter'],
  ];
  for (const [stop, finish] of stops) {
    it(`stop_reason ${stop} → finish_reason ${finish}`, () => {
      const { response } = anthropicToPivotAnswer(message([{ type: 'text', text: 'x' }], stop), { model: 'm', now: NOW });
      assert.equal(response.choices[0]!.finish_reason, finish);
    });
  }
});

describe('errors in the caller\'s shape', () => {
  const anthropicToOpenAI: Array<[number, string, number, string, string | null]> = [
    [429, 'rate_limit_error', 429, 'rate_limit_error', 'rate_limit_exceeded'],
    [529, 'overloaded_error', 503, 'server_error', 'overloaded'],
    [400, 'invalid_request_error', 400, 'invalid_request_error', null],
    [401, 'authentication_error', 401, 'invalid_request_error', 'invalid_api_key'],
    [404, 'not_found_error', 404, 'invalid_request_error', 'not_found'],
    [500, 'api_error', 500, 'server_error', null],
    [504, 'timeout_error', 504, 'server_error', 'timeout'],
  ];
  for (const [status, type, outStatus, outType, code] of anthropicToOpenAI) {
    it(`Anthropic ${status} ${type} → OpenAI ${outStatus} ${outType}/${code}`, () => {
      const result = anthropicErrorToOpenAI(status, { type: 'error', error: { type, message: 'boom' }, request_id: 'req_1' });
      assert.deepEqual(result, { status: outStatus, body: { error: { message: 'boom', type: outType, param: null, code } } });
    });
  }

  const openAIToAnthropic: Array<[number, object, number, string]> = [
    [429, { type: 'tokens', code: 'rate_limit_exceeded' }, 429, 'rate_limit_error'],
    [429, { type: 'insufficient_quota', code: 'insufficient_quota' }, 429, 'rate_limit_error'],
    [503, { type: 'server_error', code: null }, 529, 'overloaded_error'],
    [400, { type: 'invalid_request_error', code: 'invalid_value' }, 400, 'invalid_request_error'],
    [422, { type: 'invalid_request_error', code: null }, 422, 'invalid_request_error'],
    [401, { type: 'invalid_request_error', code: 'invalid_api_key' }, 401, 'authentication_error'],
    [502, { type: 'server_error', code: null }, 500, 'api_error'],
  ];
  for (const [status, error, outStatus, outType] of openAIToAnthropic) {
    it(`OpenAI ${status} ${JSON.stringify(error)} → Anthropic ${outStatus} ${outType}`, () => {
      const result = openAIErrorToAnthropic(status, { error: { message: 'boom', param: null, ...error } });
      assert.deepEqual(result, { status: outStatus, body: { type: 'error', error: { type: outType, message: 'boom' } } });
    });
  }

  it('reads Ollama-style string errors and non-JSON bodies', () => {
    assert.deepEqual(openAIErrorToAnthropic(404, { error: 'model "x" not found' }).body.error, { type: 'not_found_error', message: 'model "x" not found' });
    assert.equal(anthropicErrorToOpenAI(502, '<html>Bad gateway</html>').body.error.message, '<html>Bad gateway</html>');
    assert.equal(anthropicErrorToOpenAI(502, '<html>Bad gateway</html>').status, 500);
  });
});
