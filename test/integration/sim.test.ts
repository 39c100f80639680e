import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { startSimulator, type Simulator } from '../../src/sim/index.js';

const weatherTool = {
  name: 'get_weather',
  description: 'Weather for a city',
  input_schema: {
    type: 'object' as const,
    properties: { city: { type: 'string' }, unit: { type: 'string', enum: ['celsius', 'fahrenheit'] }, days: { type: 'integer' } },
    required: ['city'],
  },
};

async function post(url: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
}

describe('provider simulator through the official SDKs', () => {
  let sim: Simulator;
  const anthropic = (): Anthropic => new Anthropic({ baseURL: sim.url, apiKey: 'sk-ant-main', maxRetries: 0 });
  const openai = (): OpenAI => new OpenAI({ baseURL: `${sim.url}/v1`, apiKey: 'sk-oai-main', maxRetries: 0 });

  before(async () => {
    sim = await startSimulator({
      keys: [
        { id: 'ant', key: 'sk-ant-main', limits: { rpm: 10_000, itpm: 1_000_000, otpm: 200_000 } },
        { id: 'oai', key: 'sk-oai-main', limits: { rpm: 10_000, tpm: 2_000_000 } },
        { id: 'tiny', key: 'sk-tiny', limits: { rpm: 30 } },
        { id: 'small-input', key: 'sk-small', limits: { itpm: 100 } },
      ],
    });
  });
  after(async () => {
    await sim.close();
  });

  it('answers Anthropic messages deterministically, with usage and rate-limit headers', async () => {
    const params = { model: 'claude-sonnet-4-6', max_tokens: 256, messages: [{ role: 'user' as const, content: 'Tell me about rivers' }] };
    const { data: first, response } = await anthropic().messages.create(params).withResponse();
    const second = await anthropic().messages.create(params);
    assert.equal(first.type, 'message');
    assert.equal(first.stop_reason, 'end_turn');
    const text = first.content[0]?.type === 'text' ? first.content[0].text : '';
    assert.ok(text.length > 0);
    assert.equal(first.usage.output_tokens, text.split(' ').length);
    assert.ok(first.usage.output_tokens >= 12 && first.usage.output_tokens <= 48);
    assert.deepEqual(second.content, first.content, 'same prompt, same answer');
    assert.match(response.headers.get('request-id') ?? '', /^req_/);
    assert.equal(response.headers.get('anthropic-ratelimit-requests-limit'), '10000');
    assert.equal(response.headers.get('anthropic-ratelimit-input-tokens-limit'), '1000000');
    assert.match(response.headers.get('anthropic-ratelimit-requests-reset') ?? '', /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    assert.equal(response.headers.get('anthropic-ratelimit-tokens-limit'), '1200000');
  });

  it('cuts the answer at max_tokens with stop_reason max_tokens', async () => {
    const msg = await anthropic().messages.create({ model: 'claude-sonnet-4-6', max_tokens: 3, messages: [{ role: 'user', content: 'Be long' }] });
    assert.equal(msg.stop_reason, 'max_tokens');
    assert.equal(msg.usage.output_tokens, 3);
  });

  it('count_tokens returns the same number usage.input_tokens reports', async () => {
    const params = {
      model: 'claude-sonnet-4-6',
      system: 'You are terse.',
      tools: [weatherTool],
      messages: [{ role: 'user' as const, content: 'How warm is it in Lisbon this afternoon, roughly?' }],
    };
    const counted = await anthropic().messages.countTokens(params);
    const msg = await anthropic().messages.create({ ...params, max_tokens: 100 });
    assert.ok(counted.input_tokens > 0);
    assert.equal(msg.usage.input_tokens, counted.input_tokens);
  });

  it('streams Anthropic events incrementally and the SDK assembles the same message', async () => {
    const params = { model: 'claude-sonnet-4-6', max_tokens: 256, messages: [{ role: 'user' as const, content: 'Stream please' }] };
    const plain = await anthropic().messages.create(params);
    const stream = anthropic().messages.stream(params);
    const events: string[] = [];
    stream.on('streamEvent', (e) => events.push(e.type));
    const final = await stream.finalMessage();
    assert.deepEqual(final.content.map((b) => (b.type === 'text' ? b.text : '')), plain.content.map((b) => (b.type === 'text' ? b.text : '')));
    assert.equal(final.usage.output_tokens, plain.usage.output_tokens);
    assert.equal(events[0], 'message_start');
    assert.equal(events.at(-1), 'message_stop');
    assert.ok(events.filter((e) => e === 'content_block_delta').length >= 3, 'several deltas');
  });

  it('does tool use in two turns on the Anthropic surface', async () => {
    const client = anthropic();
    const user = { role: 'user' as const, content: 'Weather in Paris?' };
    const first = await client.messages.create({ model: 'claude-sonnet-4-6', max_tokens: 500, tools: [weatherTool], messages: [user] });
    assert.equal(first.stop_reason, 'tool_use');
    const call = first.content.find((b) => b.type === 'tool_use');
    assert.ok(call && call.type === 'tool_use');
    assert.equal(call.name, 'get_weather');
    const input = call.input as Record<string, unknown>;
    assert.equal(typeof input['city'], 'string');
    assert.equal(input['unit'], 'celsius');
    assert.equal(typeof input['days'], 'number');

    const streamed = await client.messages.stream({ model: 'claude-sonnet-4-6', max_tokens: 500, tools: [weatherTool], messages: [user] }).finalMessage();
    const streamedCall = streamed.content.find((b) => b.type === 'tool_use');
    assert.deepEqual(streamedCall && streamedCall.type === 'tool_use' ? streamedCall.input : undefined, call.input, 'input_json_delta fragments reassemble');

    const second = await client.messages.create({
      model: 'claude-sonnet-4-6',
      max_tokens: 500,
      tools: [weatherTool],
      messages: [user, { role: 'assistant', content: first.content }, { role: 'user', content: [{ type: 'tool_result', tool_use_id: call.id, content: 'sunny 24C' }] }],
    });
    assert.equal(second.stop_reason, 'end_turn');
    const text = second.content[0]?.type === 'text' ? second.content[0].text : '';
    assert.match(text, /sunny 24C/);
  });

  it('answers OpenAI chat completions, streamed and not, with usage', async () => {
    const params = { model: 'gpt-4o-mini', messages: [{ role: 'user' as const, content: 'Hello there' }] };
    const { data: plain, response } = await openai().chat.completions.create(params).withResponse();
    assert.equal(plain.choices[0]?.finish_reason, 'stop');
    const content = plain.choices[0]?.message.content ?? '';
    assert.equal(plain.usage?.completion_tokens, content.split(' ').length);
    assert.equal(plain.usage?.total_tokens, (plain.usage?.prompt_tokens ?? 0) + (plain.usage?.completion_tokens ?? 0));
    assert.match(response.headers.get('x-request-id') ?? '', /^req_/);
    assert.equal(response.headers.get('x-ratelimit-limit-requests'), '10000');
    assert.equal(response.headers.get('x-ratelimit-limit-tokens'), '2000000');
    assert.match(response.headers.get('x-ratelimit-reset-tokens') ?? '', /^(\d+ms|[\dhm.]+s)$/);

    const stream = openai().chat.completions.stream({ ...params, stream_options: { include_usage: true } });
    const final = await stream.finalChatCompletion();
    assert.equal(final.choices[0]?.message.content, content);
    assert.equal(final.usage?.completion_tokens, plain.usage?.completion_tokens);

    const cut = await openai().chat.completions.create({ ...params, max_completion_tokens: 2 });
    assert.equal(cut.choices[0]?.finish_reason, 'length');
  });

  it('does tool calls in two turns on the OpenAI surface, streamed in fragments', async () => {
    const tools = [{ type: 'function' as const, function: { name: weatherTool.name, parameters: weatherTool.input_schema } }];
    const user = { role: 'user' as const, content: 'Weather in Oslo?' };
    const first = await openai().chat.completions.create({ model: 'gpt-4o-mini', tools, messages: [user] });
    assert.equal(first.choices[0]?.finish_reason, 'tool_calls');
    const call = first.choices[0]?.message.tool_calls?.[0];
    assert.ok(call && call.type === 'function');
    assert.equal(call.function.name, 'get_weather');
    const args = JSON.parse(call.function.arguments) as Record<string, unknown>;
    assert.equal(args['unit'], 'celsius');

    const streamed = await openai().chat.completions.stream({ model: 'gpt-4o-mini', tools, messages: [user] }).finalChatCompletion();
    const streamedCall = streamed.choices[0]?.message.tool_calls?.[0];
    assert.equal(streamedCall?.type === 'function' ? streamedCall.function.arguments : undefined, call.function.arguments);

    const second = await openai().chat.completions.create({
      model: 'gpt-4o-mini',
      tools,
      messages: [user, first.choices[0]!.message, { role: 'tool', tool_call_id: call.id, content: 'snowing -3C' }],
    });
    assert.equal(second.choices[0]?.finish_reason, 'stop');
    assert.match(second.choices[0]?.message.content ?? '', /snowing -3C/);
  });

  it('serves deterministic embeddings as floats and as base64', async () => {
    const client = openai();
    const viaSdk = await client.embeddings.create({ model: 'text-embedding-3-small', input: ['the red fox', 'the red fox'] });
    const floats = await client.embeddings.create({ model: 'text-embedding-3-small', input: 'the red fox', encoding_format: 'float' });
    assert.equal(viaSdk.data.length, 2);
    assert.equal(viaSdk.data[0]?.embedding.length, 1536);
    assert.deepEqual(viaSdk.data[0]?.embedding, floats.data[0]?.embedding, 'base64 decodes to the same floats');
    const norm = Math.hypot(...(floats.data[0]?.embedding ?? []));
    assert.ok(Math.abs(norm - 1) < 1e-5);
    assert.ok((viaSdk.usage.prompt_tokens ?? 0) > 0);
  });

  it('lists models in the Anthropic page shape or the OpenAI list shape', async () => {
    const page = await anthropic().models.list();
    assert.ok(page.data.some((m) => m.id.startsWith('claude-')));
    assert.equal(page.data[0]?.type, 'model');
    const list = await openai().models.list();
    assert.ok(list.data.some((m) => m.id === 'gpt-4o-mini'));
    assert.equal(list.data[0]?.object, 'model');
  });

  it('rejects an unknown key with 401 in each API shape', async () => {
    const bad = new Anthropic({ baseURL: sim.url, apiKey: 'nope', maxRetries: 0 });
    await assert.rejects(bad.messages.create({ model: 'm', max_tokens: 5, messages: [{ role: 'user', content: 'x' }] }), (e: unknown) => {
      assert.ok(e instanceof Anthropic.AuthenticationError);
      assert.equal(e.status, 401);
      return true;
    });
    const badOpenai = new OpenAI({ baseURL: `${sim.url}/v1`, apiKey: 'nope', maxRetries: 0 });
    await assert.rejects(badOpenai.chat.completions.create({ model: 'm', messages: [{ role: 'user', content: 'x' }] }), (e: unknown) => {
      assert.ok(e instanceof OpenAI.AuthenticationError);
      assert.equal(e.code, 'invalid_api_key');
      return true;
    });
  });

  it('validates requests like the real APIs', async () => {
    const res = await post(`${sim.url}/v1/messages`, { model: 'm', messages: [{ role: 'user', content: 'x' }] }, { 'x-api-key': 'sk-ant-main' });
    assert.equal(res.status, 400);
    const body = (await res.json()) as { type: string; error: { type: string; message: string } };
    assert.equal(body.type, 'error');
    assert.equal(body.error.type, 'invalid_request_error');
    assert.match(body.error.message, /max_tokens/);
    const oai = await post(`${sim.url}/v1/chat/completions`, { model: 'gpt-4o-mini' }, { authorization: 'Bearer sk-oai-main' });
    assert.equal(oai.status, 400);
    assert.equal(((await oai.json()) as { error: { param: string } }).error.param, 'messages');
  });

  it('answers 429 with retry-after once a tiny RPM is used up, and admits again after waiting that long', async () => {
    const client = new Anthropic({ baseURL: sim.url, apiKey: 'sk-tiny', maxRetries: 0 });
    const params = { model: 'claude-haiku-4-5', max_tokens: 5, messages: [{ role: 'user' as const, content: 'hi' }] };
    await Promise.all(Array.from({ length: 30 }, () => client.messages.create(params)));
    let retryAfter = 0;
    await assert.rejects(client.messages.create(params), (e: unknown) => {
      assert.ok(e instanceof Anthropic.RateLimitError);
      const body = e.error as { error?: { type?: string; message?: string } } | undefined;
      assert.equal(body?.error?.type, 'rate_limit_error');
      assert.match(String(body?.error?.message), /30 requests per minute/);
      retryAfter = Number(e.headers?.get('retry-after'));
      return true;
    });
    assert.ok(retryAfter >= 1 && retryAfter <= 2, `retry-after ${retryAfter}`);
    await new Promise((r) => setTimeout(r, retryAfter * 1000));
    const ok = await client.messages.create(params);
    assert.equal(ok.type, 'message');
    const stats = sim.stats().keys['tiny'];
    assert.equal(stats?.requests, 32);
    assert.equal(stats?.rateLimited, 1);
    assert.equal(stats?.ok, 31);
  });

  it('answers 429 without a retry-after when a request can never fit', async () => {
    const res = await post(
      `${sim.url}/v1/messages`,
      { model: 'm', max_tokens: 5, messages: [{ role: 'user', content: 'x'.repeat(2000) }] },
      { 'x-api-key': 'sk-small' },
    );
    assert.equal(res.status, 429);
    assert.equal(res.headers.get('retry-after'), null);
    assert.match(((await res.json()) as { error: { message: string } }).error.message, /500 input tokens.*100 input tokens per minute/);
  });

  it('Ollama: NDJSON streaming by default, one object with stream:false, tags', async () => {
    const res = await post(`${sim.url}/api/chat`, { model: 'llama3.2', messages: [{ role: 'user', content: 'hi' }] });
    assert.equal(res.headers.get('content-type'), 'application/x-ndjson');
    const lines = (await res.text()).trim().split('\n').map((l) => JSON.parse(l) as { done: boolean; message: { content: string }; eval_count?: number });
    assert.ok(lines.length >= 3);
    assert.equal(lines.at(-1)?.done, true);
    const streamedText = lines.map((l) => l.message.content).join('');
    const single = (await (await post(`${sim.url}/api/chat`, { model: 'llama3.2', stream: false, messages: [{ role: 'user', content: 'hi' }] })).json()) as {
      done: boolean;
      message: { content: string };
      eval_count: number;
    };
    assert.equal(single.done, true);
    assert.equal(single.message.content, streamedText);
    assert.equal(single.eval_count, streamedText.split(' ').length);
    const tools = (await (
      await post(`${sim.url}/api/chat`, {
        model: 'llama3.2',
        stream: false,
        tools: [{ type: 'function', function: { name: 'get_weather', parameters: weatherTool.input_schema } }],
        messages: [{ role: 'user', content: 'weather?' }],
      })
    ).json()) as { message: { tool_calls: { function: { name: string; arguments: Record<string, unknown> } }[] } };
    assert.equal(tools.message.tool_calls[0]?.function.name, 'get_weather');
    assert.equal(typeof tools.message.tool_calls[0]?.function.arguments['city'], 'string');
    const tags = (await (await fetch(`${sim.url}/api/tags`)).json()) as { models: { name: string }[] };
    assert.ok(tags.models.length > 0);
  });

  it('exposes stats over HTTP and resets them', async () => {
    const before = (await (await fetch(`${sim.url}/_sim/stats`)).json()) as { total: { requests: number }; keys: Record<string, { ok: number }> };
    assert.ok(before.total.requests > 0);
    assert.ok((before.keys['ant']?.ok ?? 0) > 0);
    assert.equal((await post(`${sim.url}/_sim/reset`, {})).status, 200);
    assert.equal(sim.stats().total.requests, 0);
  });
});

describe('provider simulator: windows, latency and faults', () => {
  it("window 'second' enforces limit/60 as the burst, visible in remaining", async () => {
    const sim = await startSimulator({ window: 'second', keys: [{ id: 'k', key: 'sk-k', limits: { rpm: 120, itpm: 60_000, otpm: 6_000 } }] });
    try {
      const client = new Anthropic({ baseURL: sim.url, apiKey: 'sk-k', maxRetries: 0 });
      const params = { model: 'm', max_tokens: 5, messages: [{ role: 'user' as const, content: 'hi' }] };
      const { response } = await client.messages.create(params).withResponse();
      assert.equal(response.headers.get('anthropic-ratelimit-requests-limit'), '120');
      assert.ok(Number(response.headers.get('anthropic-ratelimit-requests-remaining')) <= 2);
      assert.ok(Number(response.headers.get('anthropic-ratelimit-input-tokens-remaining')) <= 1000);
      await client.messages.create(params);
      await assert.rejects(client.messages.create(params), Anthropic.RateLimitError);
    } finally {
      await sim.close();
    }
  });

  it('paces streams: the first event arrives after ttft and well before the end', async () => {
    const sim = await startSimulator({ keys: [{ id: 'k', key: 'sk-k', limits: {} }], latency: { ttftMs: 150, tokensPerSecond: 100 }, outputTokens: 20 });
    try {
      const t0 = Date.now();
      const res = await post(
        `${sim.url}/v1/messages`,
        { model: 'm', max_tokens: 100, stream: true, messages: [{ role: 'user', content: 'hi' }] },
        { 'x-api-key': 'sk-k' },
      );
      const reader = res.body!.getReader();
      await reader.read();
      const firstAt = Date.now() - t0;
      while (!(await reader.read()).done);
      const endAt = Date.now() - t0;
      assert.ok(firstAt >= 140, `first event after ${firstAt} ms`);
      assert.ok(endAt - firstAt >= 150, `stream took ${endAt - firstAt} ms after the first event`);
      assert.equal(sim.stats().total.outputTokens, 20);
    } finally {
      await sim.close();
    }
  });

  it('injects faults with probability 1', async () => {
    const sim = await startSimulator({ keys: [{ id: 'k', key: 'sk-k', limits: {} }], faults: { overloaded: 1 } });
    try {
      const anthropic = new Anthropic({ baseURL: sim.url, apiKey: 'sk-k', maxRetries: 0 });
      const openai = new OpenAI({ baseURL: `${sim.url}/v1`, apiKey: 'sk-k', maxRetries: 0 });
      const params = { model: 'm', max_tokens: 50, messages: [{ role: 'user' as const, content: 'hi' }] };
      await assert.rejects(anthropic.messages.create(params), (e: unknown) => e instanceof Anthropic.APIError && e.status === 529);
      await assert.rejects(openai.chat.completions.create(params), (e: unknown) => e instanceof OpenAI.APIError && e.status === 503);

      sim.setOptions({ faults: { serverError: 1 } });
      await assert.rejects(anthropic.messages.create(params), (e: unknown) => e instanceof Anthropic.InternalServerError && e.status === 500);

      sim.setOptions({ faults: { reset: 1 } });
      await assert.rejects(anthropic.messages.create(params), Anthropic.APIConnectionError);

      sim.setOptions({ faults: { midStreamError: 1 } });
      const deltas: string[] = [];
      const stream = anthropic.messages.stream(params);
      stream.on('text', (t) => deltas.push(t));
      await assert.rejects(stream.finalMessage(), (e: unknown) => e instanceof Anthropic.APIError && /overloaded/i.test(e.message));
      assert.equal(deltas.length, 1, 'broken after the first delta');
      await assert.rejects(openai.chat.completions.stream(params).finalChatCompletion(), /server had an error/);

      sim.setOptions({ faults: { stall: 1 } });
      const controller = new AbortController();
      setTimeout(() => controller.abort(), 200);
      await assert.rejects(anthropic.messages.create(params, { signal: controller.signal }), Anthropic.APIUserAbortError);
      await new Promise((r) => setTimeout(r, 50));
      const stats = sim.stats().total;
      assert.equal(stats.ok, 0);
      assert.equal(stats.errors, stats.requests);
      assert.equal(stats.peakConcurrency, 1);
    } finally {
      await sim.close();
    }
  });

  it('tracks in-flight requests per key', async () => {
    const sim = await startSimulator({ keys: [{ id: 'k', key: 'sk-k', limits: {} }], latency: { ttftMs: 100 } });
    try {
      const client = new OpenAI({ baseURL: `${sim.url}/v1`, apiKey: 'sk-k', maxRetries: 0 });
      await Promise.all(Array.from({ length: 5 }, () => client.chat.completions.create({ model: 'm', messages: [{ role: 'user', content: 'x' }] })));
      assert.equal(sim.stats().keys['k']?.peakConcurrency, 5);
      assert.equal(sim.stats().keys['k']?.ok, 5);
    } finally {
      await sim.close();
    }
  });
});
