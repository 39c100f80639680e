/**
 * Issue 20: a prompt that swaps the roles of a cached prompt's words ("advantages of Go over Rust"
 * after "advantages of Rust over Go") is a different question. Through the gateway, with the
 * built-in embedder and with an OpenAI-compatible embeddings endpoint (the simulator's bag of
 * words, under which a mirror image embeds exactly like its original), the mirror image is asked of
 * the provider and gets its own answer, never the cached one.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type Anthropic from '@anthropic-ai/sdk';
import { defaultConfig, startStack, type Stack } from '../support/stack.js';

const MIRRORS: Array<[string, string]> = [
  ['What are the advantages of Rust over Go?', 'What are the advantages of Go over Rust?'],
  ['Is tea healthier than coffee?', 'Is coffee healthier than tea?'],
  ['How do I migrate from MySQL to PostgreSQL?', 'How do I migrate from PostgreSQL to MySQL?'],
  ['Convert celsius to fahrenheit', 'Convert fahrenheit to celsius'],
  ['Why does the cat chase the dog?', 'Why does the dog chase the cat?'],
];

const question = (content: string) => ({ model: 'claude-haiku-4-5', max_tokens: 64, temperature: 0, messages: [{ role: 'user' as const, content }] });
const textOf = (message: Anthropic.Message) => message.content.map((block) => (block.type === 'text' ? block.text : '')).join('');

describe('a mirror image of a cached prompt, through the gateway (built-in embedder)', () => {
  let stack: Stack;
  before(async () => {
    stack = await startStack();
  });
  after(() => stack.close());

  it('gets the provider’s own answer to it, not the cached answer, while a paraphrase is served from the cache', async () => {
    for (const [original, mirror] of MIRRORS) {
      const first = await stack.anthropic.messages.create(question(original));
      const paraphrase = await stack.anthropic.messages.create(question(`Please, ${original.toLowerCase()}`)).withResponse();
      assert.equal(paraphrase.response.headers.get('x-spillway-cache'), 'semantic', original);

      const mirrored = await stack.anthropic.messages.create(question(mirror)).withResponse();
      assert.equal(mirrored.response.headers.get('x-spillway-cache'), 'miss', mirror);
      assert.notEqual(textOf(mirrored.data), textOf(first), mirror);
      assert.equal(textOf(mirrored.data), textOf(await stack.direct.messages.create(question(mirror))), mirror);
    }
  });
});

describe('a mirror image of a cached prompt, through the gateway (OpenAI-compatible embeddings)', () => {
  let stack: Stack;
  before(async () => {
    stack = await startStack({
      config: (simUrl, keys) => ({
        ...defaultConfig(simUrl, keys),
        cache: { semantic: { embedder: { type: 'openai', base_url: `${simUrl}/v1`, key: keys[0]?.key, model: 'text-embedding-3-small' } } },
      }),
    });
  });
  after(() => stack.close());

  it('is asked of the provider even though it embeds exactly like the cached prompt', async () => {
    for (const [original, mirror] of MIRRORS) {
      const ask = (content: string) =>
        stack.openai.chat.completions.create({ model: 'gpt-4o-mini', temperature: 0, messages: [{ role: 'user', content }] }).withResponse();
      const first = await ask(original);
      const caseOnly = await ask(original.toUpperCase());
      assert.equal(caseOnly.response.headers.get('x-spillway-cache'), 'semantic', original);

      const mirrored = await ask(mirror);
      assert.equal(mirrored.response.headers.get('x-spillway-cache'), 'miss', mirror);
      const direct = await stack.directOpenAI.chat.completions.create({ model: 'gpt-4o-mini', temperature: 0, messages: [{ role: 'user', content: mirror }] });
      assert.equal(mirrored.data.choices[0]?.message.content, direct.choices[0]?.message.content, mirror);
      assert.notEqual(mirrored.data.choices[0]?.message.content, first.data.choices[0]?.message.content, mirror);
    }
  });
});
