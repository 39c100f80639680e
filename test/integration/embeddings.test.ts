/**
 * Issue 15: `POST /v1/embeddings` through spillway, with the OpenAI SDK, onto OpenAI-compatible,
 * Gemini and Ollama providers (the simulator's deterministic vectors), and an embedding burst paced
 * by the same quota engine as chat.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import { openUsageDb, type UsageRow } from '../../src/observe/usage-log.js';
import { defaultConfig, simKeys, simProvider, type Stack, startStack } from '../support/stack.js';

const texts = ['the cat sat on the mat', 'quarterly revenue grew by four percent', 'how do I reset my password?'];

/** Each vector's own text, asked for alone: a list answer in the wrong order would not match. */
async function oneByOne(client: OpenAI, model: string): Promise<number[][]> {
  const out: number[][] = [];
  for (const input of texts) out.push((await client.embeddings.create({ model, input })).data[0]!.embedding);
  return out;
}

describe('OpenAI SDK embeddings.create through spillway', () => {
  let stack: Stack;
  before(async () => {
    stack = await startStack({
      config: (simUrl, keys) => {
        return {
          providers: {
            openai: simProvider('openai', simUrl, keys),
            gemini: simProvider('gemini', simUrl, keys),
            local: { type: 'ollama', base_url: simUrl, limits: { concurrency: 4 } },
            anthropic: simProvider('anthropic', simUrl, keys),
          },
          routes: {
            'text-embedding-*': { targets: [{ provider: 'openai' }] },
            'gemini-embedding-*': { targets: [{ provider: 'gemini' }] },
            'nomic-embed-text': { targets: [{ provider: 'local' }] },
            '*': { targets: [{ provider: 'anthropic' }] },
          },
        };
      },
    });
  });
  after(() => stack.close());

  it('three inputs to an OpenAI-compatible provider: three vectors in order, equal to the provider\'s own', async () => {
    const model = 'text-embedding-3-small';
    const answer = await stack.openai.embeddings.create({ model, input: texts });
    const direct = await stack.directOpenAI.embeddings.create({ model, input: texts });
    assert.equal(answer.data.length, 3);
    assert.deepEqual(answer.data.map((d) => d.index), [0, 1, 2]);
    assert.deepEqual(answer.data.map((d) => d.embedding), direct.data.map((d) => d.embedding));
    assert.equal(answer.model, model);
    assert.ok(answer.usage.prompt_tokens > 0);
    assert.deepEqual(answer.data.map((d) => d.embedding), await oneByOne(stack.openai, model));
  });

  it('float and base64 encodings carry the same vector, and dimensions reach the provider', async () => {
    const model = 'text-embedding-3-small';
    const body = { model, input: texts[0]!, dimensions: 64 };
    const float = await fetch(`${stack.gateway.url}/v1/embeddings`, {
      method: 'POST',
      headers: { authorization: 'Bearer x', 'content-type': 'application/json' },
      body: JSON.stringify({ ...body, encoding_format: 'float' }),
    }).then((r) => r.json() as Promise<{ data: Array<{ embedding: number[] }> }>);
    const viaSdk = await stack.openai.embeddings.create(body); // the SDK asks for base64 and decodes it
    assert.equal(float.data[0]!.embedding.length, 64);
    assert.deepEqual(viaSdk.data[0]!.embedding, float.data[0]!.embedding);
  });

  for (const [provider, model] of [['Gemini (batchEmbedContents)', 'gemini-embedding-001'], ['Ollama (/api/embed)', 'nomic-embed-text']] as const) {
    it(`three inputs to ${provider}: three vectors in order, with the route's provider named`, async () => {
      const { data, response } = await stack.openai.embeddings.create({ model, input: texts, dimensions: 256 }).withResponse();
      assert.equal(data.data.length, 3);
      for (const item of data.data) assert.equal(item.embedding.length, 256);
      assert.deepEqual(data.data.map((d) => d.embedding), (await Promise.all(texts.map((input) => stack.openai.embeddings.create({ model, input, dimensions: 256 })))).map((a) => a.data[0]!.embedding));
      assert.notDeepEqual(data.data[0]!.embedding, data.data[1]!.embedding);
      assert.equal(response.headers.get('x-spillway-model'), model);
    });
  }

  it('a repeated request is answered from the exact cache, on any surface, without going upstream', async () => {
    const model = 'text-embedding-3-small';
    const input = ['cache me once', 'and once more'];
    const first = await stack.openai.embeddings.create({ model, input }).withResponse();
    assert.equal(first.response.headers.get('x-spillway-cache'), 'miss');
    const before = stack.sim.stats().total.requests;
    const again = await stack.openai.embeddings.create({ model, input }).withResponse();
    assert.equal(again.response.headers.get('x-spillway-cache'), 'hit');
    assert.deepEqual(again.data.data, first.data.data);
    const gemini = await fetch(`${stack.gateway.url}/v1beta/models/${model}:batchEmbedContents`, {
      method: 'POST',
      headers: { 'x-goog-api-key': 'x', 'content-type': 'application/json' },
      body: JSON.stringify({ requests: input.map((text) => ({ model: `models/${model}`, content: { parts: [{ text }] } })) }),
    });
    assert.equal(gemini.headers.get('x-spillway-cache'), 'hit');
    assert.deepEqual(((await gemini.json()) as { embeddings: Array<{ values: number[] }> }).embeddings.map((e) => e.values), first.data.data.map((d) => d.embedding));
    assert.equal(stack.sim.stats().total.requests, before, 'nothing went upstream');
  });

  it('bad input is a 400 in OpenAI\'s shape naming the parameter; a route to a provider without embeddings says so', async () => {
    const empty = await stack.openai.embeddings.create({ model: 'text-embedding-3-small', input: [] }).catch((error: unknown) => error);
    assert.ok(empty instanceof OpenAI.BadRequestError);
    assert.equal(empty.param, 'input');
    const format = await stack.openai.embeddings.create({ model: 'text-embedding-3-small', input: 'x', encoding_format: 'int8' as 'float' }).catch((error: unknown) => error);
    assert.ok(format instanceof OpenAI.BadRequestError);
    assert.equal(format.param, 'encoding_format');
    const tokens = await stack.openai.embeddings.create({ model: 'gemini-embedding-001', input: [[1, 2, 3]] }).catch((error: unknown) => error);
    assert.ok(tokens instanceof OpenAI.BadRequestError, 'token arrays cannot go to Gemini');
    const anthropic = await stack.openai.embeddings.create({ model: 'claude-haiku-4-5', input: 'x' }).catch((error: unknown) => error);
    assert.ok(anthropic instanceof OpenAI.BadRequestError);
    assert.match(anthropic.message, /no embeddings endpoint/);
  });
});

describe('embeddings in the usage log', () => {
  it('each call is a row with its route, provider, key, input tokens and cost at the model\'s price', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'spillway-embed-usage-'));
    const stack = await startStack({ config: (simUrl, keys) => ({ ...defaultConfig(simUrl, keys), data_dir: dataDir, routes: { '*': { targets: [{ provider: 'openai' }] } } }) });
    try {
      await stack.openai.embeddings.create({ model: 'text-embedding-3-small', input: texts });
      await stack.close(); // flushes the log
      const db = openUsageDb(dataDir, { readonly: true });
      const rows = db.prepare('SELECT * FROM usage').all() as UsageRow[];
      db.close();
      assert.equal(rows.length, 1);
      const [row] = rows;
      assert.deepEqual([row!.surface, row!.route, row!.provider, row!.model, row!.key_id, row!.status], ['openai', 'text-embedding-3-small', 'openai', 'text-embedding-3-small', 'k1', 200]);
      assert.ok(row!.input_tokens! > 0);
      assert.equal(row!.output_tokens, 0);
      // text-embedding-3-small lists at $0.02 per million input tokens.
      assert.ok(Math.abs(row!.cost_usd! - (row!.input_tokens! * 0.02) / 1e6) < 1e-12);
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});

describe('an embedding burst', () => {
  it('300 embedding calls at once on a key with room for 60 per 6 s: all served, upstream 429s at most 1%', async () => {
    // 600 a minute enforced per second: 10 a second, 60 in 6 s.
    const stack = await startStack({
      sim: { keys: simKeys(1, { rpm: 600, itpm: 10_000_000, otpm: 1_000_000 }), window: 'second' },
      config: (simUrl, keys) => ({
        providers: { openai: simProvider('openai', simUrl, keys) },
        routes: { '*': { targets: [{ provider: 'openai' }] } },
      }),
    });
    try {
      const count = 300;
      const answers = await Promise.all(
        Array.from({ length: count }, (_, i) => stack.openai.embeddings.create({ model: 'text-embedding-3-small', input: [`document ${i}`, `chunk ${i} of the corpus`] })),
      );
      assert.equal(answers.length, count);
      for (const answer of answers) assert.equal(answer.data.length, 2);
      const upstream = stack.sim.stats().total;
      assert.equal(upstream.ok, count, 'each call went upstream once');
      assert.ok(upstream.rateLimited <= upstream.requests * 0.01, `upstream 429s: ${upstream.rateLimited} of ${upstream.requests}`);
    } finally {
      await stack.close();
    }
  });
});
