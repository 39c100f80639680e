import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { firstByteLimitMs, openingError } from '../../src/pipeline/first-byte.js';

describe('how long an attempt may wait for its first byte', () => {
  const cases: Array<[string, number | undefined, number | undefined, boolean, number | undefined, number]> = [
    // name, first_byte_timeout, timeout, stream, max_tokens, limit
    ['a stream: 60 s by default, a tenth of the SDK timeout', undefined, undefined, true, 4096, 60_000],
    ['a stream: as configured', 5_000, undefined, true, 4096, 5_000],
    ['a non-streamed answer comes after its generation: + max_tokens at 10 tokens/s', undefined, undefined, false, 100, 70_000],
    ['without max_tokens (OpenAI) 4096 is assumed', 1_000, undefined, false, undefined, 410_600],
    ['never beyond the whole attempt timeout', undefined, 30_000, false, 8192, 30_000],
  ];
  for (const [name, first, whole, stream, maxTokens, limit] of cases) {
    it(name, () => assert.equal(firstByteLimitMs(first, whole, stream, maxTokens), limit));
  }
});

describe('a stream that opens with an error failed before the client saw anything', () => {
  const anthropicError = (type: string) => Buffer.from(`event: error\ndata: {"type":"error","error":{"type":"${type}","message":"x"}}\n\n`);
  const cases: Array<[string, 'anthropic' | 'openai', Buffer, number | undefined]> = [
    ['Anthropic overloaded_error: a 529', 'anthropic', anthropicError('overloaded_error'), 529],
    ['Anthropic api_error: a 500', 'anthropic', anthropicError('api_error'), 500],
    ['Anthropic invalid_request_error: not for a retry', 'anthropic', anthropicError('invalid_request_error'), undefined],
    ['Anthropic message_start: a stream like any other', 'anthropic', Buffer.from('event: message_start\ndata: {"type":"message_start","message":{}}\n\n'), undefined],
    ['OpenAI error chunk of type server_error: a 500', 'openai', Buffer.from('data: {"error":{"message":"x","type":"server_error","param":null,"code":null}}\n\n'), 500],
    ['OpenAI first delta: a stream like any other', 'openai', Buffer.from('data: {"id":"c","choices":[{"index":0,"delta":{"role":"assistant"}}]}\n\n'), undefined],
    ['an event cut across reads: left to the stream', 'anthropic', Buffer.from('event: error\ndata: {"type":"err'), undefined],
  ];
  for (const [name, protocol, chunk, status] of cases) it(name, () => assert.equal(openingError(protocol, chunk)?.status, status));
});
