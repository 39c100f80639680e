/**
 * Issue 15: spillway spoken to as Gemini. The official @google/genai SDK, on both API versions,
 * through spillway onto an Anthropic provider and an OpenAI-compatible one (the simulator): the
 * same texts as the same prompt gets through those providers' own surfaces, streams, countTokens,
 * a function-call round trip, embeddings, and errors in Google's shape.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Content } from '@google/genai';
import { loadGenAI } from '../support/clients.js';
import { simKeys, simProvider, type Stack, startStack } from '../support/stack.js';

const { FunctionCallingConfigMode, GoogleGenAI, Type } = await loadGenAI();

let stack: Stack;
before(async () => {
  stack = await startStack({
    config: (simUrl, keys) => {
      return {
        providers: {
          anthropic: simProvider('anthropic', simUrl, keys),
          openai: simProvider('openai', simUrl, keys),
        },
        routes: {
          'gpt-*': { targets: [{ provider: 'openai' }] },
          'text-embedding-*': { targets: [{ provider: 'openai' }] },
          '*': { targets: [{ provider: 'anthropic' }] },
        },
      };
    },
  });
});
after(() => stack.close());

const prompt = 'Name three rivers in Europe.';

/**
 * What the same prompt gets through `/v1/messages` (through spillway); for a model of an
 * OpenAI-compatible provider, the same as through that provider's own surface.
 */
async function reference(model: string): Promise<string> {
  const message = await stack.anthropic.messages.create({ model, max_tokens: 64, messages: [{ role: 'user', content: prompt }] });
  const text = message.content.map((block) => (block.type === 'text' ? block.text : '')).join('');
  if (model.startsWith('gpt-')) {
    const completion = await stack.openai.chat.completions.create({ model, max_completion_tokens: 64, messages: [{ role: 'user', content: prompt }] });
    assert.equal(completion.choices[0]!.message.content, text, '/v1/messages and /v1/chat/completions agree');
  }
  return text;
}

const weatherTool = {
  functionDeclarations: [
    { name: 'get_weather', description: 'Current weather for a city', parameters: { type: Type.OBJECT, properties: { city: { type: Type.STRING } }, required: ['city'] } },
  ],
};

for (const apiVersion of ['v1beta', 'v1']) {
  for (const [provider, model] of [['an Anthropic provider', 'claude-haiku-4-5'], ['an OpenAI-compatible provider', 'gpt-4o-mini']] as const) {
    describe(`@google/genai (apiVersion ${apiVersion}) through spillway onto ${provider}`, () => {
      const ai = () => new GoogleGenAI({ apiKey: 'client-key', httpOptions: { baseUrl: stack.gateway.url, apiVersion } });

      it('generateContent answers the text the provider gives the same prompt, with usage and a finish reason', async () => {
        const response = await ai().models.generateContent({ model, contents: prompt, config: { maxOutputTokens: 64 } });
        assert.equal(response.text, await reference(model));
        assert.ok(['STOP', 'MAX_TOKENS'].includes(String(response.candidates?.[0]?.finishReason)));
        assert.ok((response.usageMetadata?.promptTokenCount ?? 0) > 0);
        assert.ok((response.usageMetadata?.candidatesTokenCount ?? 0) > 0);
      });

      it('generateContentStream streams the same text in pieces and ends with usage', async () => {
        const pieces: string[] = [];
        let last;
        for await (const chunk of await ai().models.generateContentStream({ model, contents: prompt, config: { maxOutputTokens: 64 } })) {
          if (chunk.text) pieces.push(chunk.text);
          last = chunk;
        }
        assert.ok(pieces.length > 1, `${pieces.length} pieces`);
        assert.equal(pieces.join(''), await reference(model));
        assert.ok((last?.usageMetadata?.totalTokenCount ?? 0) > 0);
        assert.ok(last?.candidates?.[0]?.finishReason);
      });

      it('countTokens counts the prompt', async () => {
        const { totalTokens } = await ai().models.countTokens({ model, contents: prompt });
        assert.ok((totalTokens ?? 0) > 0 && (totalTokens ?? 0) < 100, `totalTokens ${totalTokens}`);
      });

      it('a function call round trip: functionCall, then functionResponse, then an answer', async () => {
        const client = ai();
        const config = { tools: [weatherTool], toolConfig: { functionCallingConfig: { mode: FunctionCallingConfigMode.ANY } }, maxOutputTokens: 128 };
        const ask: Content = { role: 'user', parts: [{ text: 'What is the weather in Paris?' }] };
        const first = await client.models.generateContent({ model, contents: [ask], config });
        const call = first.functionCalls?.[0];
        assert.equal(call?.name, 'get_weather');
        assert.equal(typeof call?.args, 'object');
        const history: Content[] = [
          ask,
          first.candidates![0]!.content!,
          { role: 'user', parts: [{ functionResponse: { id: call!.id, name: 'get_weather', response: { output: 'Sunny, 21 °C' } } }] },
        ];
        const second = await client.models.generateContent({ model, contents: history, config: { tools: [weatherTool], maxOutputTokens: 128 } });
        assert.ok((second.text ?? '').length > 0, 'an answer after the tool result');
        assert.equal(second.functionCalls, undefined);
      });
    });
  }

  describe(`@google/genai (apiVersion ${apiVersion}) embeddings and errors`, () => {
    const ai = () => new GoogleGenAI({ apiKey: 'client-key', httpOptions: { baseUrl: stack.gateway.url, apiVersion } });

    it('embedContent with two texts returns two vectors in order, equal to the provider\'s own', async () => {
      const model = 'text-embedding-3-small';
      const { embeddings } = await ai().models.embedContent({ model, contents: ['alpha river', 'beta mountain'] });
      const direct = await stack.directOpenAI.embeddings.create({ model, input: ['alpha river', 'beta mountain'] });
      assert.equal(embeddings?.length, 2);
      assert.deepEqual(embeddings!.map((e) => e.values), direct.data.map((d) => d.embedding));
    });

    it('an empty request is a 400 INVALID_ARGUMENT in Google\'s shape; an unknown method a 404 NOT_FOUND', async () => {
      const post = (method: string, body: unknown) =>
        fetch(`${stack.gateway.url}/${apiVersion}/models/claude-haiku-4-5:${method}`, {
          method: 'POST',
          headers: { 'x-goog-api-key': 'client-key', 'content-type': 'application/json' },
          body: JSON.stringify(body),
        });
      const empty = await post('generateContent', { contents: [] });
      assert.equal(empty.status, 400);
      const { error } = (await empty.json()) as { error: { code: number; status: string; message: string } };
      assert.equal(error.code, 400);
      assert.equal(error.status, 'INVALID_ARGUMENT');
      assert.match(error.message, /contents/);
      const unknown = await post('predictLongRunning', {});
      assert.equal(unknown.status, 404);
      assert.equal(((await unknown.json()) as { error: { status: string } }).error.status, 'NOT_FOUND');
    });
  });
}

describe('a Gemini client when no key has room before its deadline', () => {
  it('gets 429 RESOURCE_EXHAUSTED with a RetryInfo delay and a retry-after, and nothing went upstream', async () => {
    // One request per second, enforced per second.
    const small = await startStack({ sim: { keys: simKeys(1, { rpm: 60, itpm: 1_000_000, otpm: 1_000_000 }), window: 'second' } });
    try {
      const ask = () =>
        fetch(`${small.gateway.url}/v1beta/models/claude-haiku-4-5:generateContent`, {
          method: 'POST',
          headers: { 'x-goog-api-key': 'client-key', 'content-type': 'application/json', 'x-spillway-max-wait': '0' },
          body: JSON.stringify({ contents: [{ role: 'user', parts: [{ text: 'hello' }] }], generationConfig: { maxOutputTokens: 16 } }),
        });
      assert.equal((await ask()).status, 200);
      const refused = await ask();
      assert.equal(refused.status, 429);
      const { error } = (await refused.json()) as { error: { code: number; status: string; details: Array<{ '@type': string; retryDelay: string }> } };
      assert.equal(error.status, 'RESOURCE_EXHAUSTED');
      assert.equal(error.details[0]!['@type'], 'type.googleapis.com/google.rpc.RetryInfo');
      assert.match(error.details[0]!.retryDelay, /^[12]s$/);
      assert.ok(Number(refused.headers.get('retry-after')) >= 1);
      assert.equal(small.sim.stats().total.requests, 1, 'the refused request was not sent upstream');
    } finally {
      await small.close();
    }
  });
});
