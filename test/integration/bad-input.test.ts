/**
 * Issues 2 and 11: input spillway cannot work with (no model, no message list, no output
 * allowance) gets a 4xx in the caller's API shape, worded as the provider words the same fault,
 * and nothing reaches a provider; client authentication keeps strangers out. Everything else is
 * the provider's to judge (passthrough.test.ts).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { defaultConfig, startStack, type Stack } from '../support/stack.js';

interface Answer {
  status: number;
  body: Record<string, unknown>;
}

async function post(url: string, body: string, headers: Record<string, string> = {}): Promise<Answer> {
  const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

function anthropicError(answer: Answer): { type: string; message: string } {
  assert.equal(answer.body.type, 'error');
  const error = answer.body.error as { type: string; message: string };
  assert.equal(typeof error.message, 'string');
  assert.match(String(answer.body.request_id), /^req_/);
  return error;
}

function openaiError(answer: Answer): { type: string; message: string; param: string | null; code: string | null } {
  const error = answer.body.error as { type: string; message: string; param: string | null; code: string | null };
  assert.deepEqual(Object.keys(error).sort(), ['code', 'message', 'param', 'type']);
  return error;
}

describe('bad input on the Anthropic surface', () => {
  let stack: Stack;
  let url: string;
  before(async () => {
    stack = await startStack({
      config: (simUrl, keys) => ({ ...defaultConfig(simUrl, keys), server: { max_body_bytes: 4096 } }),
    });
    url = `${stack.gateway.url}/v1/messages`;
  });
  after(async () => {
    assert.equal(stack.sim.stats().total.requests, 0, 'no bad request reached the provider');
    await stack.close();
  });

  const cases: Array<{ name: string; body: string; status: number; type: string; message: RegExp }> = [
    { name: 'malformed JSON', body: '{"model": "claude", ', status: 400, type: 'invalid_request_error', message: /^There was an error parsing the body/ },
    { name: 'an array instead of an object', body: '[1,2]', status: 400, type: 'invalid_request_error', message: /^Input should be a valid dictionary/ },
    { name: 'an empty body', body: '', status: 400, type: 'invalid_request_error', message: /empty/ },
    {
      name: 'missing model',
      body: JSON.stringify({ max_tokens: 10, messages: [{ role: 'user', content: 'hi' }] }),
      status: 400,
      type: 'invalid_request_error',
      message: /^model: Field required/,
    },
    {
      name: 'missing messages',
      body: JSON.stringify({ model: 'claude-x', max_tokens: 10 }),
      status: 400,
      type: 'invalid_request_error',
      message: /^messages: Field required/,
    },
    {
      name: 'missing max_tokens',
      body: JSON.stringify({ model: 'claude-x', messages: [{ role: 'user', content: 'hi' }] }),
      status: 400,
      type: 'invalid_request_error',
      message: /^max_tokens: Field required/,
    },
    {
      name: 'max_tokens of the wrong type',
      body: JSON.stringify({ model: 'claude-x', max_tokens: 'ten', messages: [{ role: 'user', content: 'hi' }] }),
      status: 400,
      type: 'invalid_request_error',
      message: /^max_tokens: Input should be a valid integer$/,
    },
    {
      name: 'max_tokens of zero',
      body: JSON.stringify({ model: 'claude-x', max_tokens: 0, messages: [{ role: 'user', content: 'hi' }] }),
      status: 400,
      type: 'invalid_request_error',
      message: /^max_tokens: Input should be greater than or equal to 1$/,
    },
    {
      name: 'messages that are not a list',
      body: JSON.stringify({ model: 'claude-x', max_tokens: 5, messages: 'hi' }),
      status: 400,
      type: 'invalid_request_error',
      message: /^messages: Input should be a valid list$/,
    },
    {
      name: 'a body over the configured size',
      body: JSON.stringify({ model: 'claude-x', max_tokens: 5, messages: [{ role: 'user', content: 'x'.repeat(5000) }] }),
      status: 413,
      type: 'request_too_large',
      message: /limit of 4096 bytes|limit is 4096 bytes/,
    },
  ];

  for (const c of cases) {
    it(`${c.name} → ${c.status} ${c.type}`, async () => {
      const answer = await post(url, c.body, { 'anthropic-version': '2023-06-01' });
      assert.equal(answer.status, c.status);
      const error = anthropicError(answer);
      assert.equal(error.type, c.type);
      assert.match(error.message, c.message);
    });
  }

  it('an unknown path → 404 not_found_error', async () => {
    const answer = await post(`${stack.gateway.url}/v1/nothing-here`, '{}', { 'anthropic-version': '2023-06-01' });
    assert.equal(answer.status, 404);
    assert.equal(anthropicError(answer).type, 'not_found_error');
  });

  it('the SDK sees a BadRequestError with the message', async () => {
    const client = new Anthropic({ baseURL: stack.gateway.url, apiKey: 'x', maxRetries: 0 });
    await assert.rejects(
      client.messages.create({ model: 'claude-x', max_tokens: -1, messages: [{ role: 'user', content: 'hi' }] }),
      (error: unknown) => error instanceof Anthropic.BadRequestError && /max_tokens/.test(error.message),
    );
  });

  it('a good request right after the bad ones still works', async () => {
    const answer = await post(url, JSON.stringify({ model: 'claude-x', max_tokens: 5, messages: [{ role: 'user', content: 'hi' }] }));
    assert.equal(answer.status, 200);
    stack.sim.resetStats();
  });
});

describe('bad input on the OpenAI surfaces (chat, Responses) and the Gemini surface', () => {
  let stack: Stack;
  before(async () => {
    stack = await startStack();
  });
  after(async () => {
    assert.equal(stack.sim.stats().total.requests, 0, 'no bad request reached the provider');
    await stack.close();
  });

  it("malformed JSON, missing fields and wrong types each get a 400 in OpenAI's words, with param and code", async () => {
    const url = `${stack.gateway.url}/v1/chat/completions`;
    const cases: Array<[string, RegExp, string | null, string | null]> = [
      ['{oops', /^We could not parse the JSON body of your request/, null, null],
      [JSON.stringify({ messages: [{ role: 'user', content: 'hi' }] }), /^Missing required parameter: 'model'\.$/, 'model', 'missing_required_parameter'],
      [JSON.stringify({ model: 'gpt-4o' }), /^Missing required parameter: 'messages'\.$/, 'messages', 'missing_required_parameter'],
      [JSON.stringify({ model: 'gpt-4o', messages: 'hi' }), /^Invalid type for 'messages': expected an array, but got a string instead\.$/, 'messages', 'invalid_type'],
      [JSON.stringify({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }], max_tokens: 'ten' }), /^Invalid type for 'max_tokens': expected an integer/, 'max_tokens', 'invalid_type'],
      [JSON.stringify({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }], max_completion_tokens: 0 }), /^Invalid 'max_completion_tokens': integer below minimum value/, 'max_completion_tokens', 'integer_below_min_value'],
    ];
    for (const [body, message, param, code] of cases) {
      const answer = await post(url, body);
      assert.equal(answer.status, 400, body);
      const error = openaiError(answer);
      assert.equal(error.type, 'invalid_request_error');
      assert.match(error.message, message);
      assert.equal(error.param, param);
      assert.equal(error.code, code);
    }
  });

  it('the SDK sees a BadRequestError', async () => {
    const client = new OpenAI({ baseURL: `${stack.gateway.url}/v1`, apiKey: 'x', maxRetries: 0 });
    await assert.rejects(
      client.chat.completions.create({ model: 'gpt-4o', messages: [] }),
      (error: unknown) => error instanceof OpenAI.BadRequestError && /messages/.test(error.message),
    );
  });

  it('Responses: no input at all is a missing input, not a chat field', async () => {
    const answer = await post(`${stack.gateway.url}/v1/responses`, JSON.stringify({ model: 'gpt-4o' }));
    assert.equal(answer.status, 400);
    const error = openaiError(answer);
    assert.equal(error.message, "Missing required parameter: 'input'.");
    assert.equal(error.param, 'input');
  });

  it("Gemini: malformed JSON and contents without parts get Google's INVALID_ARGUMENT wording", async () => {
    const url = `${stack.gateway.url}/v1beta/models/gemini-2.5-flash:generateContent`;
    const cases: Array<[string, RegExp]> = [
      ['{oops', /^Invalid JSON payload received\./],
      [JSON.stringify({ contents: [{ role: 'user', parts: null }] }), /^\* GenerateContentRequest\.contents\[0\]\.parts: contents\.parts must not be empty\.$/],
      [JSON.stringify({ contents: [{ role: 'user', parts: [{ text: 'hi' }] }], generationConfig: { maxOutputTokens: 'x' } }), /^Invalid value at 'generation_config\.max_output_tokens' \(TYPE_INT32\), "x"$/],
    ];
    for (const [body, message] of cases) {
      const answer = await post(url, body);
      assert.equal(answer.status, 400, body);
      const error = answer.body.error as { code: number; status: string; message: string };
      assert.equal(error.status, 'INVALID_ARGUMENT');
      assert.match(error.message, message);
    }
  });
});

describe('client authentication', () => {
  let stack: Stack;
  before(async () => {
    stack = await startStack({
      clientKey: 'gw-secret',
      config: (simUrl, keys) => ({ ...defaultConfig(simUrl, keys), server: { auth: { keys: ['gw-secret'] } } }),
    });
  });
  after(() => stack.close());

  it('a request without a gateway key gets 401 in the caller shape and never reaches a provider', async () => {
    const body = JSON.stringify({ model: 'claude-x', max_tokens: 5, messages: [{ role: 'user', content: 'hi' }] });
    const anthropic = await post(`${stack.gateway.url}/v1/messages`, body);
    assert.equal(anthropic.status, 401);
    assert.equal(anthropicError(anthropic).type, 'authentication_error');
    const openai = await post(`${stack.gateway.url}/v1/chat/completions`, JSON.stringify({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }] }), {
      authorization: 'Bearer wrong-key',
    });
    assert.equal(openai.status, 401);
    assert.equal(openaiError(openai).code, 'invalid_api_key');
    assert.equal(stack.sim.stats().total.requests, 0);
  });

  it('the gateway key works as x-api-key (older SDKs) and as a Bearer token (newer ones)', async () => {
    const params = { model: 'claude-x', max_tokens: 5, messages: [{ role: 'user' as const, content: 'hi' }] };
    await stack.anthropic.messages.create(params);
    const bearer = new Anthropic({ baseURL: stack.gateway.url, apiKey: null, authToken: 'gw-secret', maxRetries: 0 });
    await bearer.messages.create(params);
    assert.equal(stack.sim.stats().total.ok, 2);
  });
});
