/**
 * Issue 4: an OpenAI client can use Claude and an Anthropic client can use OpenAI-compatible
 * models; the SDKs' own helpers assemble text, tool calls and stop reasons as usual.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { simProvider, type Stack, startStack } from '../support/stack.js';

const weatherTool = {
  name: 'get_weather',
  description: 'Current weather for a city',
  input_schema: { type: 'object' as const, properties: { city: { type: 'string' } }, required: ['city'] },
};
const weatherFunction = {
  type: 'function' as const,
  function: { name: 'get_weather', description: 'Current weather for a city', parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } },
};

describe('across providers', () => {
  let stack: Stack;
  before(async () => {
    stack = await startStack({
      config: (simUrl, keys) => {
        return {
          providers: {
            anthropic: simProvider('anthropic', simUrl, keys),
            openai: simProvider('openai', simUrl, keys),
            local: { type: 'ollama', base_url: simUrl, limits: { concurrency: 4 } },
          },
          routes: {
            // An OpenAI model name served by Anthropic, and a Claude model name served by OpenAI.
            'gpt-via-claude': { targets: [{ provider: 'anthropic', model: 'claude-sonnet-4-6' }] },
            'claude-via-gpt': { targets: [{ provider: 'openai', model: 'gpt-4o-mini' }] },
            'claude-via-ollama': { targets: [{ provider: 'local', model: 'qwen2.5-coder:7b' }] },
            'gpt-via-ollama': { targets: [{ provider: 'local', model: 'qwen2.5-coder:7b' }] },
          },
        };
      },
    });
  });
  after(() => stack.close());

  for (const [name, model, provider] of [
    ['Anthropic', 'gpt-via-claude', 'anthropic'],
    ['Ollama', 'gpt-via-ollama', 'local'],
  ] as const) {
    it(`OpenAI SDK → ${name} provider: text, streaming and not`, async () => {
      const { data, response } = await stack.openai.chat.completions
        .create({ model, max_tokens: 100, messages: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'Write a haiku about rivers.' }] })
        .withResponse();
      assert.equal(response.headers.get('x-spillway-provider'), provider);
      assert.equal(data.model, model);
      assert.ok((data.choices[0]?.message.content ?? '').length > 0);
      assert.equal(data.choices[0]?.finish_reason, 'stop');
      assert.ok(data.usage && data.usage.prompt_tokens > 0 && data.usage.completion_tokens > 0);

      const stream = await stack.openai.chat.completions.create({
        model,
        max_tokens: 100,
        messages: [{ role: 'user', content: 'Write a haiku about rivers.' }],
        stream: true,
        stream_options: { include_usage: true },
      });
      let text = '';
      let finish: string | null | undefined;
      let usage: { completion_tokens: number } | undefined | null;
      for await (const chunk of stream) {
        text += chunk.choices[0]?.delta.content ?? '';
        finish = chunk.choices[0]?.finish_reason ?? finish;
        if (chunk.usage) usage = chunk.usage;
      }
      assert.ok(text.length > 0);
      assert.equal(finish, 'stop');
      assert.ok(usage && usage.completion_tokens > 0, 'include_usage is honoured');
    });

    it(`OpenAI SDK → ${name} provider: a two-turn tool-use conversation, streaming and not`, async () => {
      for (const stream of [false, true]) {
        const ask = { model, max_tokens: 200, messages: [{ role: 'user' as const, content: 'Weather in Paris?' }], tools: [weatherFunction] };
        const first = stream
          ? await stack.openai.chat.completions.stream({ ...ask, stream: true }).finalChatCompletion()
          : await stack.openai.chat.completions.create(ask);
        const choice = first.choices[0]!;
        assert.equal(choice.finish_reason, 'tool_calls');
        const call = choice.message.tool_calls?.[0];
        assert.ok(call && call.type === 'function' && call.function.name === 'get_weather');
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
        assert.equal(second.choices[0]?.finish_reason, 'stop');
        assert.ok((second.choices[0]?.message.content ?? '').length > 0);
      }
    });
  }

  for (const [name, model, provider] of [
    ['OpenAI-compatible', 'claude-via-gpt', 'openai'],
    ['Ollama', 'claude-via-ollama', 'local'],
  ] as const) {
    it(`Anthropic SDK → ${name} provider: text, streaming and not`, async () => {
      const params = { model, max_tokens: 100, system: 'Be brief.', messages: [{ role: 'user' as const, content: 'Write a haiku about rivers.' }] };
      const { data, response } = await stack.anthropic.messages.create(params).withResponse();
      assert.equal(response.headers.get('x-spillway-provider'), provider);
      assert.equal(data.model, model);
      assert.equal(data.stop_reason, 'end_turn');
      assert.ok(data.content[0]?.type === 'text' && data.content[0].text.length > 0);
      assert.ok(data.usage.input_tokens > 0 && data.usage.output_tokens > 0);

      const streamed = await stack.anthropic.messages.stream(params).finalMessage();
      assert.equal(streamed.stop_reason, 'end_turn');
      assert.ok(streamed.content[0]?.type === 'text' && streamed.content[0].text.length > 0);
      assert.ok(streamed.usage.output_tokens > 0);
    });

    it(`Anthropic SDK → ${name} provider: a two-turn tool-use conversation, streaming and not`, async () => {
      for (const stream of [false, true]) {
        const ask = { model, max_tokens: 200, messages: [{ role: 'user' as const, content: 'Weather in Paris?' }], tools: [weatherTool] };
        const first = stream ? await stack.anthropic.messages.stream(ask).finalMessage() : await stack.anthropic.messages.create(ask);
        assert.equal(first.stop_reason, 'tool_use');
        const call = first.content.find((block) => block.type === 'tool_use');
        assert.ok(call && call.type === 'tool_use' && call.name === 'get_weather');
        assert.equal(typeof (call.input as { city?: unknown }).city, 'string');
        const followUp = {
          ...ask,
          messages: [
            ...ask.messages,
            { role: 'assistant' as const, content: first.content },
            { role: 'user' as const, content: [{ type: 'tool_result' as const, tool_use_id: call.id, content: 'Sunny, 21 C' }] },
          ],
        };
        const second = stream ? await stack.anthropic.messages.stream(followUp).finalMessage() : await stack.anthropic.messages.create(followUp);
        assert.equal(second.stop_reason, 'end_turn');
        assert.ok(second.content.some((block) => block.type === 'text' && block.text.length > 0));
      }
    });
  }

  it('an upstream error comes back in the caller\'s shape', async () => {
    // The OpenAI simulator rejects an unknown tool_choice function with 400: the Anthropic client sees an Anthropic error.
    await assert.rejects(
      stack.anthropic.messages.create({
        model: 'claude-via-gpt',
        max_tokens: 50,
        messages: [{ role: 'user', content: 'hi' }],
        tools: [weatherTool],
        tool_choice: { type: 'tool', name: 'no_such_tool' },
      }),
      (error: unknown) => {
        const e = error as { status?: number; error?: { type?: string; error?: { type?: string } } };
        assert.equal(e.status, 400);
        assert.equal(e.error?.type, 'error');
        assert.equal(e.error?.error?.type, 'invalid_request_error');
        return true;
      },
    );
  });
});
