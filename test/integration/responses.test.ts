/**
 * Issue 14: the OpenAI Responses API through spillway, onto providers that do not speak it (an
 * Anthropic one and a chat-completions-only one), with the official OpenAI SDK over real sockets.
 */
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { after, before, describe, it } from 'node:test';
import type { ResponseInputItem, ResponseStreamEvent } from 'openai/resources/responses/responses';
import { defaultConfig, simProvider, type Stack, startStack } from '../support/stack.js';

const weather = {
  type: 'function' as const,
  name: 'get_weather',
  description: 'Current weather for a city',
  parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'], additionalProperties: false },
  strict: true,
};

describe('POST /v1/responses onto providers that speak only Messages or chat completions', () => {
  let stack: Stack;
  before(async () => {
    stack = await startStack({
      config: (simUrl, keys) => {
        return {
          providers: {
            anthropic: simProvider('anthropic', simUrl, keys),
            chatonly: simProvider('openai', simUrl, keys),
            native: { ...simProvider('openai', simUrl, keys), responses: 'native' },
          },
          routes: {
            'via-claude': { targets: [{ provider: 'anthropic', model: 'claude-sonnet-4-6' }] },
            'via-chat': { targets: [{ provider: 'chatonly', model: 'gpt-4o-mini' }] },
            'via-native': { targets: [{ provider: 'native', model: 'gpt-4o-mini' }] },
          },
          cache: { exact: { enabled: false } },
          responses: { keep: 'memory' },
        };
      },
    });
  });
  after(() => stack.close());

  for (const [name, model, provider] of [
    ['an Anthropic provider', 'via-claude', 'anthropic'],
    ['a chat-completions-only provider', 'via-chat', 'chatonly'],
  ] as const) {
    it(`${name}: plain and streamed text equal what /v1/chat/completions answers the same prompt`, async () => {
      const prompt = 'Write a haiku about rivers.';
      const chat = await stack.openai.chat.completions.create({ model, max_tokens: 100, messages: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: prompt }] });
      const expected = chat.choices[0]!.message.content;
      assert.ok(expected && expected.length > 0);

      const { data, response } = await stack.openai.responses.create({ model, instructions: 'Be brief.', input: prompt, max_output_tokens: 100 }).withResponse();
      assert.equal(response.headers.get('x-spillway-provider'), provider);
      assert.equal(data.object, 'response');
      assert.match(data.id, /^resp_/);
      assert.equal(data.status, 'completed');
      assert.equal(data.model, model);
      assert.equal(data.output_text, expected);
      assert.equal(data.output[0]?.type, 'message');
      assert.ok(data.usage && data.usage.input_tokens > 0 && data.usage.output_tokens > 0);
      assert.equal(data.usage.total_tokens, data.usage.input_tokens + data.usage.output_tokens);

      const stream = await stack.openai.responses.create({ model, instructions: 'Be brief.', input: prompt, max_output_tokens: 100, stream: true });
      const events: ResponseStreamEvent[] = [];
      for await (const event of stream) events.push(event);
      const types = events.map((event) => event.type);
      assert.deepEqual(types.slice(0, 4), ['response.created', 'response.in_progress', 'response.output_item.added', 'response.content_part.added']);
      assert.deepEqual(types.slice(-4), ['response.output_text.done', 'response.content_part.done', 'response.output_item.done', 'response.completed']);
      assert.deepEqual(events.map((event) => event.sequence_number), events.map((_, i) => i));
      const deltas = events.flatMap((event) => (event.type === 'response.output_text.delta' ? [event.delta] : []));
      assert.equal(deltas.join(''), expected);
      const completed = events.at(-1);
      assert.ok(completed?.type === 'response.completed');
      assert.equal(completed.response.output_text ?? deltas.join(''), expected);
      assert.ok(completed.response.usage && completed.response.usage.output_tokens > 0);
    });

    it(`${name}: a function call round trip with function_call_output, plain and streamed`, async () => {
      for (const streamed of [false, true]) {
        const input: ResponseInputItem[] = [{ role: 'user', content: 'Weather in Paris?' }];
        const ask = { model, input, tools: [weather], max_output_tokens: 200 };
        const first = streamed ? await stack.openai.responses.stream(ask).finalResponse() : await stack.openai.responses.create(ask);
        const call = first.output.find((item) => item.type === 'function_call');
        assert.ok(call && call.type === 'function_call', `a function_call item (${streamed ? 'streamed' : 'plain'})`);
        assert.equal(call.name, 'get_weather');
        assert.ok(call.call_id.length > 0);
        assert.equal(typeof (JSON.parse(call.arguments) as { city?: unknown }).city, 'string');

        const second = await stack.openai.responses.create({
          ...ask,
          input: [...input, ...first.output.filter((item) => item.type !== 'reasoning'), { type: 'function_call_output', call_id: call.call_id, output: 'Sunny, 21 C' }] as ResponseInputItem[],
        });
        assert.equal(second.status, 'completed');
        assert.ok(second.output_text.length > 0);
        assert.ok(!second.output.some((item) => item.type === 'function_call'));
      }
    });
  }

  it('a provider that serves Responses natively gets the request untouched and its answer comes back as it sent it', async () => {
    const ask = { model: 'via-native', instructions: 'Be brief.', input: 'Write a haiku about rivers.', max_output_tokens: 100 };
    const direct = await stack.directOpenAI.responses.create({ ...ask, model: 'gpt-4o-mini' });
    const { data, response } = await stack.openai.responses.create(ask).withResponse();
    assert.equal(response.headers.get('x-spillway-provider'), 'native');
    assert.equal(response.headers.get('x-spillway-dropped'), null);
    // Relayed, not rebuilt: the provider's own model name and ids, the text it gives a direct caller.
    assert.equal(data.model, 'gpt-4o-mini');
    assert.equal(data.output_text, direct.output_text);

    const events: ResponseStreamEvent[] = [];
    for await (const event of await stack.openai.responses.create({ ...ask, stream: true })) events.push(event);
    const directEvents: ResponseStreamEvent[] = [];
    for await (const event of await stack.directOpenAI.responses.create({ ...ask, model: 'gpt-4o-mini', stream: true })) directEvents.push(event);
    assert.deepEqual(events.map((event) => event.type), directEvents.map((event) => event.type));
    assert.equal(events.at(-1)?.type, 'response.completed');

    // A follow-up naming it works too: spillway kept what passed through.
    const followUp = await stack.openai.responses.create({ model: 'via-native', previous_response_id: data.id, input: 'And one about stones.' });
    assert.equal(followUp.status, 'completed');
    assert.ok(followUp.output_text.length > 0);
  });

  it('previous_response_id continues a conversation across two calls on an Anthropic provider', async () => {
    const first = await stack.openai.responses.create({ model: 'via-claude', input: 'Weather in Paris?', tools: [weather] });
    const call = first.output.find((item) => item.type === 'function_call');
    assert.ok(call && call.type === 'function_call');
    // The second call sends only the tool's output: the call it answers is known from the first response.
    const second = await stack.openai.responses.create({
      model: 'via-claude',
      previous_response_id: first.id,
      input: [{ type: 'function_call_output', call_id: call.call_id, output: 'Sunny, 21 C' }],
      tools: [weather],
    });
    assert.equal(second.status, 'completed');
    assert.equal(second.previous_response_id, first.id);
    assert.ok(second.output_text.length > 0);

    const kept = await stack.openai.responses.retrieve(second.id);
    assert.equal(kept.output_text, second.output_text);
    await stack.openai.responses.delete(second.id);
    await assert.rejects(stack.openai.responses.retrieve(second.id), (error: { status?: number }) => error.status === 404);
  });

  it('what a chat-only model cannot take is dropped by its codec and named: reasoning.effort, built-in tools', async () => {
    const { data, response } = await stack.openai.responses
      .create({ model: 'via-chat', input: 'Hi', reasoning: { effort: 'low' }, tools: [{ type: 'web_search' }] })
      .withResponse();
    assert.equal(data.status, 'completed');
    const dropped = response.headers.get('x-spillway-dropped') ?? '';
    assert.match(dropped, /reasoning_effort/);
    assert.match(dropped, /tools of type web_search/);
  });

  it('an unknown previous_response_id is a 400 in OpenAI shape; store: false keeps nothing', async () => {
    await assert.rejects(
      stack.openai.responses.create({ model: 'via-claude', previous_response_id: 'resp_nope', input: 'Hi' }),
      (error: { status?: number; param?: string; code?: string }) => error.status === 400 && error.param === 'previous_response_id' && error.code === 'previous_response_not_found',
    );
    const unkept = await stack.openai.responses.create({ model: 'via-claude', input: 'Hi', store: false });
    await assert.rejects(stack.openai.responses.retrieve(unkept.id), (error: { status?: number }) => error.status === 404);
  });

  it("Codex's WebSocket attempt on /v1/responses is answered 426 at once", async () => {
    const { status, body } = await new Promise<{ status: number | undefined; body: string }>((resolve, reject) => {
      const req = request(`${stack.gateway.url}/v1/responses`, {
        headers: {
          authorization: 'Bearer client-key',
          connection: 'Upgrade',
          upgrade: 'websocket',
          'sec-websocket-version': '13',
          'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==',
          'openai-beta': 'responses_websockets=2026-02-06',
        },
      });
      req.on('response', (res) => {
        let text = '';
        res.on('data', (chunk: Buffer) => (text += chunk.toString()));
        res.on('end', () => resolve({ status: res.statusCode, body: text }));
      });
      req.on('upgrade', () => reject(new Error('the connection was upgraded')));
      req.on('error', reject);
      req.end();
    });
    assert.equal(status, 426);
    assert.equal((JSON.parse(body) as { error: { code: string } }).error.code, 'upgrade_required');
  });
});

describe('POST /v1/responses and the answer cache', () => {
  let stack: Stack;
  before(async () => {
    stack = await startStack({ config: (simUrl, keys) => ({ ...defaultConfig(simUrl, keys), cache: { exact: { enabled: true } }, responses: { keep: 'memory' } }) });
  });
  after(() => stack.close());

  it('the same request twice: the second is a cache hit with the same text, whole and streamed', async () => {
    const ask = { model: 'claude-sonnet-4-6', input: 'Name three rivers.', temperature: 0 };
    const first = await stack.openai.responses.create(ask).withResponse();
    assert.equal(first.response.headers.get('x-spillway-cache'), 'miss');
    const second = await stack.openai.responses.create(ask).withResponse();
    assert.equal(second.response.headers.get('x-spillway-cache'), 'hit');
    assert.equal(second.data.output_text, first.data.output_text);
    assert.notEqual(second.data.id, first.data.id, 'each response is its own, for previous_response_id');

    const streamed = await stack.openai.responses.stream({ ...ask }).finalResponse();
    assert.equal(streamed.output_text, first.data.output_text);
  });
});
