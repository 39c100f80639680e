/**
 * Issue 4: the Anthropic and OpenAI SDKs reach a `type: gemini` provider (the simulator's
 * generateContent / streamGenerateContent?alt=sse) through spillway; the SDKs' own helpers
 * assemble text, tool calls and stop reasons. A Gemini 429 never reaches the client.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { generousLimits, startStack, type Stack } from '../support/stack.js';

const weatherTool = {
  name: 'get_weather',
  description: 'Current weather for a city',
  // additionalProperties is JSON Schema that Gemini's `parameters` would reject: it must travel as parametersJsonSchema.
  input_schema: { type: 'object' as const, properties: { city: { type: 'string' } }, required: ['city'], additionalProperties: false },
};
const weatherFunction = {
  type: 'function' as const,
  function: {
    name: 'get_weather',
    description: 'Current weather for a city',
    parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'], additionalProperties: false },
  },
};

// Gemini 2.5 sends function calls without ids; Gemini 3 sends ids and wants thought signatures back.
const MODELS = [
  ['gemini 2.5', 'via-gemini', 'gemini-2.5-flash'],
  ['gemini 3', 'via-gemini-3', 'gemini-3-pro-preview'],
] as const;

describe('Anthropic and OpenAI clients → Gemini provider', () => {
  let stack: Stack;
  before(async () => {
    stack = await startStack({
      sim: {
        keys: [
          { id: 'big', key: 'sk-sim-big', limits: generousLimits },
          // Two requests a minute; the gateway is not told, so it meets Gemini's own 429.
          { id: 'tiny', key: 'sk-sim-tiny', limits: { rpm: 2 } },
          { id: 'solo', key: 'sk-sim-solo', limits: { rpm: 1 } },
        ],
      },
      config: (simUrl) => ({
        providers: {
          gemini: { type: 'gemini', base_url: simUrl, keys: [{ id: 'big', key: 'sk-sim-big' }] },
          'gemini-tiny': { type: 'gemini', base_url: simUrl, keys: [{ id: 'tiny', key: 'sk-sim-tiny' }] },
          'gemini-pool': { type: 'gemini', base_url: simUrl, keys: [{ id: 'tiny', key: 'sk-sim-tiny' }, { id: 'big', key: 'sk-sim-big' }] },
          'gemini-solo': { type: 'gemini', base_url: simUrl, keys: [{ id: 'solo', key: 'sk-sim-solo' }] },
          openai: { type: 'openai', base_url: `${simUrl}/v1`, keys: [{ id: 'big', key: 'sk-sim-big' }] },
        },
        routes: {
          'via-gemini': { targets: [{ provider: 'gemini', model: 'gemini-2.5-flash' }] },
          'via-gemini-3': { targets: [{ provider: 'gemini', model: 'gemini-3-pro-preview' }] },
          'spill-gemini': { targets: [{ provider: 'gemini-tiny', model: 'gemini-2.5-flash' }, { provider: 'openai', model: 'gpt-4o-mini' }] },
          'pool-gemini': { targets: [{ provider: 'gemini-pool', model: 'gemini-2.5-flash' }] },
          'solo-gemini': { targets: [{ provider: 'gemini-solo', model: 'gemini-2.5-flash' }] },
        },
      }),
    });
  });
  after(() => stack.close());

  it('Anthropic SDK: text, streaming and not, with usage and max_tokens', async () => {
    const params = { model: 'via-gemini', max_tokens: 100, system: 'Be brief.', messages: [{ role: 'user' as const, content: 'Write a haiku about rivers.' }] };
    const { data, response } = await stack.anthropic.messages.create(params).withResponse();
    assert.equal(response.headers.get('x-spillway-provider'), 'gemini');
    assert.equal(response.headers.get('x-spillway-model'), 'gemini-2.5-flash');
    assert.equal(data.model, 'via-gemini');
    assert.equal(data.stop_reason, 'end_turn');
    const text = data.content[0]?.type === 'text' ? data.content[0].text : '';
    assert.ok(text.length > 0);
    // The simulator answers one token per word: usage comes from Gemini's usageMetadata.
    assert.equal(data.usage.output_tokens, text.split(' ').length);
    assert.ok(data.usage.input_tokens > 0);

    const streamed = await stack.anthropic.messages.stream(params).finalMessage();
    assert.equal(streamed.stop_reason, 'end_turn');
    assert.deepEqual(streamed.content, data.content, 'the same prompt gets the same answer, streamed or not');
    assert.equal(streamed.usage.output_tokens, data.usage.output_tokens);

    const short = await stack.anthropic.messages.stream({ ...params, max_tokens: 3 }).finalMessage();
    assert.equal(short.stop_reason, 'max_tokens');
    assert.equal(short.content[0]?.type === 'text' && short.content[0].text.split(' ').length, 3);
  });

  it('OpenAI SDK: text, streaming and not, include_usage honoured', async () => {
    const messages = [{ role: 'system' as const, content: 'Be brief.' }, { role: 'user' as const, content: 'Write a haiku about rivers.' }];
    const { data, response } = await stack.openai.chat.completions.create({ model: 'via-gemini', max_tokens: 100, messages }).withResponse();
    assert.equal(response.headers.get('x-spillway-provider'), 'gemini');
    assert.equal(data.model, 'via-gemini');
    const content = data.choices[0]?.message.content ?? '';
    assert.ok(content.length > 0);
    assert.equal(data.choices[0]?.finish_reason, 'stop');
    assert.equal(data.usage?.completion_tokens, content.split(' ').length);

    const stream = await stack.openai.chat.completions.create({ model: 'via-gemini', max_tokens: 100, messages, stream: true, stream_options: { include_usage: true } });
    let text = '';
    let finish: string | null | undefined;
    let usage: { completion_tokens: number } | undefined | null;
    let chunks = 0;
    for await (const chunk of stream) {
      chunks++;
      text += chunk.choices[0]?.delta.content ?? '';
      finish = chunk.choices[0]?.finish_reason ?? finish;
      if (chunk.usage) usage = chunk.usage;
    }
    assert.equal(text, content);
    assert.ok(chunks > 3, 'the answer arrives in several chunks');
    assert.equal(finish, 'stop');
    assert.equal(usage?.completion_tokens, content.split(' ').length);

    const cut = await stack.openai.chat.completions.create({ model: 'via-gemini', max_tokens: 2, messages });
    assert.equal(cut.choices[0]?.finish_reason, 'length');
  });

  for (const [name, model, upstreamModel] of MODELS) {
    it(`Anthropic SDK → ${name}: a two-turn tool-use conversation, streaming and not`, async () => {
      for (const stream of [false, true]) {
        const ask = { model, max_tokens: 200, messages: [{ role: 'user' as const, content: 'Weather in Paris?' }], tools: [weatherTool] };
        const first = stream ? await stack.anthropic.messages.stream(ask).finalMessage() : await stack.anthropic.messages.create(ask);
        assert.equal(first.stop_reason, 'tool_use', `stream=${stream}`);
        const call = first.content.find((block) => block.type === 'tool_use');
        assert.ok(call && call.type === 'tool_use' && call.name === 'get_weather');
        assert.equal(typeof (call.input as { city?: unknown }).city, 'string');
        assert.ok(call.id.length > 0);
        const followUp = {
          ...ask,
          messages: [
            ...ask.messages,
            { role: 'assistant' as const, content: first.content },
            { role: 'user' as const, content: [{ type: 'tool_result' as const, tool_use_id: call.id, content: 'Sunny, 21 C' }] },
          ],
        };
        const { data: second, response } = stream
          ? { data: await stack.anthropic.messages.stream(followUp).finalMessage(), response: undefined }
          : await stack.anthropic.messages.create(followUp).withResponse();
        if (response) assert.equal(response.headers.get('x-spillway-model'), upstreamModel);
        assert.equal(second.stop_reason, 'end_turn', `stream=${stream}`);
        // The simulated model quotes the function result it was given, so it reached Gemini intact.
        const text = second.content.find((block) => block.type === 'text');
        assert.ok(text && text.type === 'text' && text.text.startsWith('Tool result: Sunny, 21 C'), JSON.stringify(second.content));
      }
    });

    it(`OpenAI SDK → ${name}: a two-turn tool-use conversation, streaming and not`, async () => {
      for (const stream of [false, true]) {
        const ask = { model, max_tokens: 200, messages: [{ role: 'user' as const, content: 'Weather in Paris?' }], tools: [weatherFunction] };
        const first = stream
          ? await stack.openai.chat.completions.stream({ ...ask, stream: true }).finalChatCompletion()
          : await stack.openai.chat.completions.create(ask);
        const choice = first.choices[0]!;
        assert.equal(choice.finish_reason, 'tool_calls', `stream=${stream}`);
        assert.equal(choice.message.tool_calls?.length, 1);
        const call = choice.message.tool_calls[0]!;
        assert.ok(call.type === 'function' && call.function.name === 'get_weather');
        assert.equal(typeof (JSON.parse(call.function.arguments) as { city?: unknown }).city, 'string');
        const followUp = {
          ...ask,
          messages: [
            ...ask.messages,
            { role: 'assistant' as const, content: choice.message.content, tool_calls: choice.message.tool_calls },
            { role: 'tool' as const, tool_call_id: call.id, content: 'Sunny, 21 C' },
          ],
        };
        const second = stream
          ? await stack.openai.chat.completions.stream({ ...followUp, stream: true }).finalChatCompletion()
          : await stack.openai.chat.completions.create(followUp);
        assert.equal(second.choices[0]?.finish_reason, 'stop', `stream=${stream}`);
        assert.ok((second.choices[0]?.message.content ?? '').startsWith('Tool result: Sunny, 21 C'));
      }
    });
  }

  it('a Gemini 429 spills to the next target and never reaches the client', async () => {
    stack.sim.resetStats();
    const answers = [];
    for (let i = 0; i < 6; i++) {
      const { data, response } = await stack.anthropic.messages
        .create({ model: 'spill-gemini', max_tokens: 50, messages: [{ role: 'user', content: `question ${i}` }] })
        .withResponse();
      answers.push({ provider: response.headers.get('x-spillway-provider'), text: data.content[0]?.type === 'text' ? data.content[0].text : '' });
    }
    assert.ok(answers.every((a) => a.text.length > 0));
    const stats = stack.sim.stats();
    assert.equal(stats.keys['tiny']?.ok, 2, 'the tiny Gemini key served what its limit allows');
    assert.ok((stats.keys['tiny']?.rateLimited ?? 0) >= 1, 'Gemini answered 429 RESOURCE_EXHAUSTED at least once');
    assert.equal(answers.filter((a) => a.provider === 'gemini-tiny').length, 2);
    assert.equal(answers.filter((a) => a.provider === 'openai').length, 4);
  });

  it('a Gemini 429 on one key is retried on another key of the same provider, streaming included', async () => {
    // The tiny key is still exhausted from the previous test; this provider's pool has not learnt that yet.
    stack.sim.resetStats();
    for (let i = 0; i < 6; i++) {
      const stream = i % 2 === 1;
      const params = { model: 'pool-gemini', max_tokens: 50, messages: [{ role: 'user' as const, content: `pool question ${i}` }] };
      const message = stream ? await stack.anthropic.messages.stream(params).finalMessage() : await stack.anthropic.messages.create(params);
      assert.equal(message.stop_reason, 'end_turn');
      const openai = await stack.openai.chat.completions.create({ model: 'pool-gemini', max_tokens: 50, messages: [{ role: 'user', content: `pool q ${i}` }] });
      assert.equal(openai.choices[0]?.finish_reason, 'stop');
    }
    const stats = stack.sim.stats();
    assert.ok((stats.keys['tiny']?.rateLimited ?? 0) >= 1, 'the tiny key was tried and refused');
    assert.equal(stats.keys['big']?.ok, 12 - (stats.keys['tiny']?.ok ?? 0), 'every request was served, by one key or the other');
  });

  it('with nowhere else to go, the wait in Gemini\'s RetryInfo rests the key and reaches the client as retry-after', async () => {
    const params = { model: 'solo-gemini', max_tokens: 20, messages: [{ role: 'user' as const, content: 'hi' }] };
    const options = { headers: { 'x-spillway-max-wait': '2s' } };
    await stack.anthropic.messages.create(params, options);
    for (let i = 0; i < 2; i++) {
      const started = Date.now();
      await assert.rejects(stack.anthropic.messages.create(params, options), (error: unknown) => {
        const e = error as { status?: number; headers?: Headers; error?: { error?: { type?: string } } };
        assert.equal(e.status, 429);
        assert.equal(e.error?.error?.type, 'rate_limit_error');
        const retryAfter = Number(e.headers?.get('retry-after'));
        assert.ok(retryAfter >= 55 && retryAfter <= 60, `retry-after ${retryAfter}`);
        return true;
      });
      assert.ok(Date.now() - started < 1000, 'no point waiting 2 s for a key that rests a minute');
    }
    // Gemini said 429 once; the second refusal came from spillway without asking Gemini again.
    assert.equal(stack.sim.stats().keys['solo']?.rateLimited, 1);
  });

  it('an error Gemini appends mid-stream (raw JSON after the 200) reaches the client as overloaded', async () => {
    stack.sim.setOptions({ faults: { midStreamError: 1 } });
    try {
      const params = { model: 'via-gemini', max_tokens: 50, messages: [{ role: 'user' as const, content: 'Tell me about stones.' }] };
      const texts: string[] = [];
      const stream = stack.anthropic.messages.stream(params);
      stream.on('text', (t) => texts.push(t));
      await assert.rejects(stream.finalMessage(), (error: unknown) => {
        assert.match(String((error as Error).message), /overloaded_error.*The model is overloaded/);
        return true;
      });
      assert.ok(texts.join('').length > 0, 'the text before the error was relayed');
      await assert.rejects(
        stack.openai.chat.completions.stream({ ...params, stream: true }).finalChatCompletion(),
        /The model is overloaded/,
      );
    } finally {
      stack.sim.setOptions({ faults: {} });
    }
  });

  it('features Gemini cannot take are left out and named in x-spillway-dropped', async () => {
    const { data, response } = await stack.anthropic.messages
      .create({ model: 'via-gemini', max_tokens: 2000, thinking: { type: 'enabled', budget_tokens: 1024 }, messages: [{ role: 'user', content: 'hi' }] })
      .withResponse();
    assert.equal(data.stop_reason, 'end_turn');
    assert.match(response.headers.get('x-spillway-dropped') ?? '', /thinking/);
    const openai = await stack.openai.chat.completions
      .create({ model: 'via-gemini', messages: [{ role: 'user', content: 'hi' }], response_format: { type: 'json_object' }, parallel_tool_calls: false, tools: [weatherFunction] })
      .withResponse();
    assert.equal(openai.data.choices[0]?.finish_reason, 'tool_calls');
    assert.deepEqual(openai.response.headers.get('x-spillway-dropped')?.split(', ').sort(), ['parallel_tool_calls', 'response_format']);
  });

  it('a Gemini error the client caused comes back in the client\'s shape', async () => {
    // allowedFunctionNames naming an undeclared function is a 400 INVALID_ARGUMENT upstream.
    await assert.rejects(
      stack.anthropic.messages.create({
        model: 'via-gemini',
        max_tokens: 50,
        messages: [{ role: 'user', content: 'hi' }],
        tools: [weatherTool],
        tool_choice: { type: 'tool', name: 'no_such_tool' },
      }),
      (error: unknown) => {
        const e = error as { status?: number; error?: { type?: string; error?: { type?: string } } };
        assert.equal(e.status, 400);
        assert.equal(e.error?.error?.type, 'invalid_request_error');
        return true;
      },
    );
    await assert.rejects(
      stack.openai.chat.completions.create({
        model: 'via-gemini',
        messages: [{ role: 'user', content: 'hi' }],
        tools: [weatherFunction],
        tool_choice: { type: 'function', function: { name: 'no_such_tool' } },
      }),
      (error: unknown) => {
        assert.equal((error as { status?: number }).status, 400);
        return true;
      },
    );
  });
});
