/** Why an answer ended, read with its usage in each provider's words (for gen_ai.response.finish_reasons). */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { StreamUsage, usageOfBody } from '../../src/protocol/usage.js';

const usage = { input_tokens: 10, output_tokens: 3 };

describe('finish reasons with usage', () => {
  it('a whole answer: stop_reason, each choice, a Responses status, done_reason, each Gemini candidate', () => {
    assert.deepEqual(usageOfBody('anthropic', { stop_reason: 'tool_use', usage })?.finishReasons, ['tool_use']);
    const chat = { choices: [{ finish_reason: 'stop' }, { finish_reason: 'length' }], usage: { prompt_tokens: 1, completion_tokens: 2 } };
    assert.deepEqual(usageOfBody('openai', chat)?.finishReasons, ['stop', 'length']);
    assert.deepEqual(usageOfBody('openai', { object: 'response', status: 'incomplete', usage })?.finishReasons, ['incomplete']);
    assert.deepEqual(usageOfBody('ollama', { done_reason: 'stop', prompt_eval_count: 4, eval_count: 2 })?.finishReasons, ['stop']);
    assert.deepEqual(usageOfBody('gemini', { candidates: [{ finishReason: 'MAX_TOKENS' }], usageMetadata: { promptTokenCount: 3 } })?.finishReasons, ['MAX_TOKENS']);
    assert.equal(usageOfBody('anthropic', { usage })?.finishReasons, undefined, 'none said, none made up');
  });

  it('an Anthropic stream: the message_delta stop_reason', () => {
    const stream = new StreamUsage('anthropic');
    stream.push({ data: JSON.stringify({ type: 'message_start', message: { usage: { input_tokens: 5, output_tokens: 1 } } }) });
    stream.push({ data: JSON.stringify({ type: 'message_delta', delta: { stop_reason: 'end_turn' }, usage: { output_tokens: 7 } }) });
    assert.deepEqual(stream.usage(0), { inputTokens: 5, outputTokens: 7, finishReasons: ['end_turn'] });
  });

  it('an OpenAI stream: the finish_reason chunk, also when usage rides in the same chunk', () => {
    const stream = new StreamUsage('openai');
    stream.push({ data: JSON.stringify({ choices: [{ delta: { content: 'hello' } }] }) });
    stream.push({ data: JSON.stringify({ choices: [{ delta: {}, finish_reason: 'tool_calls' }], usage: { prompt_tokens: 4, completion_tokens: 2 } }) });
    stream.push({ data: '[DONE]' });
    assert.deepEqual(stream.usage(0), { inputTokens: 4, outputTokens: 2, finishReasons: ['tool_calls'] });
  });

  it('a Responses stream: the status of response.completed', () => {
    const stream = new StreamUsage('openai');
    stream.push({ data: JSON.stringify({ type: 'response.completed', response: { status: 'completed', usage: { input_tokens: 2, output_tokens: 1 } } }) });
    assert.deepEqual(stream.usage(0).finishReasons, ['completed']);
  });
});
