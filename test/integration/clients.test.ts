/**
 * Issue 11: the client libraries people run today, pointed at spillway, get their answers, tool
 * round trips included, whether spillway relays to a provider of the client's own protocol or
 * translates for the other one. `npm run test:clients-latest` runs this file against the newest
 * releases on the registry (SPILLWAY_CLIENTS_DIR), `npm test` against package.json's.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { clientSource, clientVersion, loadAI, loadAISDKAnthropic, loadAISDKOpenAI, loadAnthropic, loadOpenAI } from '../support/clients.js';
import { defaultConfig, startStack, type Stack } from '../support/stack.js';

const SECRET = 'tangerine';
const versions = ['@anthropic-ai/sdk', 'openai', 'ai', '@ai-sdk/anthropic', '@ai-sdk/openai'].map((name) => `${name} ${clientVersion(name)}`).join(', ');

/** Routes: claude-* to the Anthropic provider, gpt-* to the OpenAI one, and one across each way. */
const routes = {
  'claude-via-openai': { targets: [{ provider: 'openai', model: 'gpt-4o-mini' }] },
  'gpt-via-anthropic': { targets: [{ provider: 'anthropic', model: 'claude-sonnet-4-6' }] },
  'gpt-*': { targets: [{ provider: 'openai' }] },
  '*': { targets: [{ provider: 'anthropic' }] },
};

const readInput = { type: 'object', properties: { file_path: { type: 'string', description: 'Absolute path' } }, required: ['file_path'] };
const prompt = `Use the read tool to read /srv/notes.txt and tell me the secret word.`;

describe(`client libraries through spillway: ${versions} (${clientSource})`, () => {
  let stack: Stack;
  before(async () => {
    stack = await startStack({ config: (simUrl, keys) => ({ ...defaultConfig(simUrl, keys), routes }) });
  });
  after(() => stack.close());

  for (const model of ['claude-sonnet-4-6', 'claude-via-openai']) {
    it(`Anthropic SDK, ${model}: a tool round trip, streamed, with a system message between turns`, async () => {
      const Anthropic = await loadAnthropic();
      const client = new Anthropic({ baseURL: stack.gateway.url, apiKey: 'client', maxRetries: 0 });
      const tools = [{ name: 'read', description: 'Read a file', input_schema: readInput as { type: 'object' } }];
      const first = await client.messages.create({ model, max_tokens: 300, tools, messages: [{ role: 'user', content: prompt }] });
      const call = first.content.find((block) => block.type === 'tool_use');
      assert.ok(call && call.type === 'tool_use', JSON.stringify(first.content));
      assert.deepEqual(call.input, { file_path: '/srv/notes.txt' });
      const stream = client.messages.stream({
        model,
        max_tokens: 300,
        tools,
        messages: [
          { role: 'user', content: prompt },
          { role: 'assistant', content: first.content },
          { role: 'user', content: [{ type: 'tool_result', tool_use_id: call.id, content: `The secret word is ${SECRET}.` }] },
          { role: 'system', content: 'Answer in one sentence.' },
        ],
      });
      const final = await stream.finalMessage();
      const text = final.content.map((block) => (block.type === 'text' ? block.text : '')).join('');
      assert.match(text, new RegExp(SECRET));
    });
  }

  for (const model of ['gpt-4o-mini', 'gpt-via-anthropic']) {
    it(`OpenAI SDK, ${model}: a tool round trip, streamed`, async () => {
      const OpenAI = await loadOpenAI();
      const client = new OpenAI({ baseURL: `${stack.gateway.url}/v1`, apiKey: 'client', maxRetries: 0 });
      const tools = [{ type: 'function' as const, function: { name: 'read', description: 'Read a file', parameters: readInput } }];
      const first = await client.chat.completions.create({ model, tools, messages: [{ role: 'user', content: prompt }] });
      const call = first.choices[0]!.message.tool_calls?.[0];
      assert.ok(call && call.type === 'function', JSON.stringify(first.choices[0]));
      assert.deepEqual(JSON.parse(call.function.arguments), { file_path: '/srv/notes.txt' });
      const stream = await client.chat.completions.create({
        model,
        tools,
        stream: true,
        messages: [
          { role: 'user', content: prompt },
          first.choices[0]!.message,
          { role: 'tool', tool_call_id: call.id, content: `The secret word is ${SECRET}.` },
        ],
      });
      let text = '';
      for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
      assert.match(text, new RegExp(SECRET));
    });
  }

  /** The Vercel AI SDK runs the tool itself and goes on until the model answers. */
  async function aiSdkRoundTrip(model: Parameters<Awaited<ReturnType<typeof loadAI>>['generateText']>[0]['model']): Promise<{ text: string; calls: unknown[] }> {
    const { generateText, jsonSchema, stepCountIs, tool } = await loadAI();
    const calls: unknown[] = [];
    const result = await generateText({
      model,
      maxRetries: 0,
      stopWhen: stepCountIs(3),
      tools: {
        read: tool({
          description: 'Read a file',
          inputSchema: jsonSchema<{ file_path: string }>(readInput as Parameters<typeof jsonSchema>[0]),
          execute: async (input: { file_path: string }) => {
            calls.push(input);
            return `The secret word is ${SECRET}.`;
          },
        }),
      },
      prompt,
    });
    return { text: result.text, calls };
  }

  for (const model of ['claude-sonnet-4-6', 'claude-via-openai']) {
    it(`Vercel AI SDK with @ai-sdk/anthropic, ${model}: the tool runs and the answer quotes it`, async () => {
      const { createAnthropic } = await loadAISDKAnthropic();
      const anthropic = createAnthropic({ baseURL: `${stack.gateway.url}/v1`, apiKey: 'client' });
      const { text, calls } = await aiSdkRoundTrip(anthropic(model));
      assert.deepEqual(calls, [{ file_path: '/srv/notes.txt' }]);
      assert.match(text, new RegExp(SECRET));
    });
  }

  for (const model of ['gpt-4o-mini', 'gpt-via-anthropic']) {
    it(`Vercel AI SDK with @ai-sdk/openai (chat completions), ${model}: the tool runs and the answer quotes it`, async () => {
      const { createOpenAI } = await loadAISDKOpenAI();
      const openai = createOpenAI({ baseURL: `${stack.gateway.url}/v1`, apiKey: 'client' });
      const { text, calls } = await aiSdkRoundTrip(openai.chat(model));
      assert.deepEqual(calls, [{ file_path: '/srv/notes.txt' }]);
      assert.match(text, new RegExp(SECRET));
    });
  }
});
