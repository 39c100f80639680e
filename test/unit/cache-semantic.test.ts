import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { HashedEmbedder } from '../../src/cache/semantic/hashed-embedder.js';
import { dot } from '../../src/cache/semantic/embedder.js';
import { checkGuard, extractNumbers, guardFeatures } from '../../src/cache/semantic/guard.js';
import { SemanticCache } from '../../src/cache/semantic/semantic-cache.js';
import { VectorIndex } from '../../src/cache/semantic/vector-index.js';
import { OpenAIEmbedder, EmbeddingError } from '../../src/cache/semantic/openai-embedder.js';
import type { KeyInput } from '../../src/cache/key.js';
import { handWritten } from '../fixtures/semantic/labelled.js';

const pairs = handWritten();

function request(prompt: string, extra: Record<string, unknown> = {}): KeyInput {
  return { surface: 'openai', scope: '', plan: 'openai/gpt-test', body: { temperature: 0, messages: [{ role: 'user', content: prompt }], ...extra } };
}

describe('semantic cache on the labelled prompt pairs (built-in embedder, default threshold)', () => {
  it('serves paraphrases and never serves a prompt that differs in meaning', async () => {
    assert.ok(pairs.length >= 60);
    const misses: string[] = [];
    const falseHits: string[] = [];
    let hits = 0;
    const byKind = new Map<string, { total: number; hits: number }>();
    for (const pair of pairs) {
      const cache = new SemanticCache({ embedder: new HashedEmbedder() });
      await cache.remember(request(pair.a), 'answer-a', 0);
      const hit = await cache.lookup(request(pair.b), 1);
      const tally = byKind.get(`${pair.label}/${pair.kind}`) ?? { total: 0, hits: 0 };
      tally.total += 1;
      if (hit) tally.hits += 1;
      byKind.set(`${pair.label}/${pair.kind}`, tally);
      if (pair.label === 'should_hit') {
        if (hit) hits += 1;
        else misses.push(`${pair.a} | ${pair.b}`);
      } else if (hit) falseHits.push(`${pair.a} | ${pair.b} (similarity ${hit.similarity.toFixed(3)})`);
    }
    const shouldHit = pairs.filter((pair) => pair.label === 'should_hit').length;
    const mustNot = pairs.length - shouldHit;
    console.log(`semantic cache: hit rate ${hits}/${shouldHit} = ${((100 * hits) / shouldHit).toFixed(1)}% on should_hit; false hits ${falseHits.length}/${mustNot} on must_not_hit`);
    for (const [kind, tally] of [...byKind].sort()) console.log(`  ${kind.padEnd(26)} ${tally.hits}/${tally.total} hit`);
    for (const miss of misses) console.log(`  missed: ${miss}`);
    assert.deepEqual(falseHits, []);
    assert.ok(hits / shouldHit >= 0.6, `hit rate ${hits}/${shouldHit}`);
  });
});

describe('the guard refuses near-identical prompts that ask for different things', () => {
  const refuses = (a: string, b: string): string | undefined => {
    const verdict = checkGuard(guardFeatures(a), guardFeatures(b));
    return verdict.pass ? undefined : verdict.reason;
  };

  it('negations, with or without apostrophes', () => {
    assert.equal(refuses('Does this code compile?', "Doesn't this code compile?"), 'negation');
    assert.equal(refuses('Does this code compile?', 'Doesnt this code compile?'), 'negation');
    assert.equal(refuses('Do not use recursion', "Don't use recursion"), undefined);
  });

  it('numbers, decimals, units and spelled-out numbers', () => {
    assert.deepEqual(extractNumbers('retry 3 times within 2.5s, 1,000 rows, 5 kilograms, twenty five items, the 3rd one'.toLowerCase()).sort(),
      ['#3', '1', '1000rows', '2.5s', '25items', '3x', '5kg'].sort());
    assert.equal(refuses('wait 5 kg', 'wait five kilograms'), undefined);
    assert.equal(refuses('timeout of 30 seconds', 'timeout of 30 minutes'), 'number');
    assert.equal(refuses('pick 3 items', 'pick three items'), undefined);
  });

  it('names, but not a word capitalised because it starts the sentence', () => {
    assert.equal(refuses('Tell me about Paris', 'tell me about paris'), undefined);
    assert.equal(refuses('Tell me about Paris', 'Tell me about Berlin'), 'anchor');
    assert.equal(refuses('Summarize this. Keep it short', 'summarize this, keep it short'), undefined);
  });

  it('code identifiers', () => {
    assert.equal(refuses('what does `fooBar` return', 'what does `fooBaz` return'), 'anchor');
    assert.equal(refuses('edit src/server/main.ts', 'edit src/server/app.ts'), 'anchor');
    assert.equal(refuses('what does MAX_RETRIES do', 'what does MAX_DELAY do'), 'anchor');
  });
});

describe('semantic cache scope', () => {
  it('only compares prompts within one partition (client, system prompt, tools, routed target, parameters)', async () => {
    const cache = new SemanticCache({ embedder: new HashedEmbedder() });
    await cache.remember(request('Explain recursion to a beginner'), 'k1', 0);
    assert.ok(await cache.lookup(request('Please explain recursion to a beginner'), 0));
    assert.equal(await cache.lookup({ ...request('Please explain recursion to a beginner'), plan: 'openai/other' }, 0), undefined);
    assert.equal(await cache.lookup({ ...request('Please explain recursion to a beginner'), scope: 'another-client' }, 0), undefined);
    assert.equal(await cache.lookup(request('Please explain recursion to a beginner', { temperature: 0.5 }), 0), undefined);
    const withSystem = request('x');
    withSystem.body['messages'] = [{ role: 'system', content: 'Answer in French.' }, { role: 'user', content: 'Please explain recursion to a beginner' }];
    assert.equal(await cache.lookup(withSystem, 0), undefined);
  });

  it('serves single-turn prompts only, unless multi-turn is configured', async () => {
    const conversation = (last: string): KeyInput => ({
      ...request(''),
      body: { temperature: 0, messages: [{ role: 'user', content: 'Hi' }, { role: 'assistant', content: 'Hello!' }, { role: 'user', content: last }] },
    });
    const single = new SemanticCache({ embedder: new HashedEmbedder() });
    assert.equal(await single.remember(conversation('Explain recursion'), 'k', 0), false);
    const multi = new SemanticCache({ embedder: new HashedEmbedder(), multiTurn: true });
    assert.equal(await multi.remember(conversation('Explain recursion'), 'k', 0), true);
    assert.ok(await multi.lookup(conversation('Please explain recursion'), 0));
  });

  it('forgets entries after their TTL', async () => {
    const cache = new SemanticCache({ embedder: new HashedEmbedder(), ttlMs: 1_000 });
    await cache.remember(request('Explain recursion to a beginner'), 'k', 0);
    assert.ok(await cache.lookup(request('Explain recursion to a beginner'), 999));
    assert.equal(await cache.lookup(request('Explain recursion to a beginner'), 1_000), undefined);
  });

  it('the built-in embedder gives unit vectors and identical vectors for identical text', async () => {
    const embedder = new HashedEmbedder();
    const [a, b, c] = await embedder.embed(['Sort a list', 'Sort a list', 'Bake a cake']);
    assert.ok(a && b && c);
    assert.ok(Math.abs(dot(a, a) - 1) < 1e-5);
    assert.ok(Math.abs(dot(a, b) - 1) < 1e-5);
    assert.ok(dot(a, c) < 0.5);
  });

  it('the vector index keeps at most its capacity, dropping the oldest', () => {
    const index = new VectorIndex<string>(2);
    const unit = (i: number): Float32Array => Float32Array.from([0, 0, 0].map((_, j) => (j === i ? 1 : 0)));
    index.add(unit(0), 'x');
    index.add(unit(1), 'y');
    index.add(unit(2), 'z');
    assert.equal(index.size, 2);
    assert.deepEqual(index.nearest(unit(0), 1, 0.5), []);
    assert.equal(index.nearest(unit(2), 1)[0]?.item, 'z');
  });
});

describe('OpenAI-compatible embeddings endpoint', () => {
  let server: Server;
  let baseUrl = '';
  const seen: Array<{ url?: string; auth?: string; body: Record<string, unknown> }> = [];

  before(async () => {
    server = createServer((req, res) => {
      let text = '';
      req.on('data', (chunk: Buffer) => (text += chunk.toString()));
      req.on('end', () => {
        const body = JSON.parse(text) as { input: string[]; model: string };
        seen.push({ url: req.url, auth: req.headers.authorization, body });
        if (body.model === 'broken') {
          res.writeHead(400, { 'content-type': 'application/json' });
          res.end('{"error":{"message":"unknown model","type":"invalid_request_error","param":null,"code":null}}');
          return;
        }
        // Out of order on purpose; the second vector as base64 like a server ignoring encoding_format.
        const vector = (i: number): number[] => [0, 0, 0, 0].map((_, j) => (j === i ? 2 : 0)); // one-hot, not yet unit length
        const data = body.input.map((_, i) => ({
          object: 'embedding',
          index: i,
          embedding: i === 1 ? Buffer.from(new Float32Array(vector(i)).buffer).toString('base64') : vector(i),
        }));
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ object: 'list', data: data.reverse(), model: body.model, usage: { prompt_tokens: 1, total_tokens: 1 } }));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
  });

  after(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('posts the inputs with the key and model, and returns unit vectors in input order', async () => {
    const embedder = new OpenAIEmbedder({ baseUrl, apiKey: 'sk-test', model: 'text-embedding-3-small' });
    const vectors = await embedder.embed(['a', 'b', 'c']);
    assert.deepEqual(vectors.map((v) => Array.from(v)), [[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0]]);
    assert.equal(embedder.dims, 4);
    const last = seen.at(-1);
    assert.equal(last?.url, '/v1/embeddings');
    assert.equal(last?.auth, 'Bearer sk-test');
    assert.deepEqual(last?.body, { model: 'text-embedding-3-small', input: ['a', 'b', 'c'], encoding_format: 'float' });
  });

  it('splits large inputs into batches', async () => {
    const embedder = new OpenAIEmbedder({ baseUrl, model: 'm', batchSize: 2 });
    const before = seen.length;
    assert.equal((await embedder.embed(['a', 'b', 'c', 'd', 'e'])).length, 5);
    assert.equal(seen.length - before, 3);
  });

  it('reports an upstream error with its status and without the key', async () => {
    const embedder = new OpenAIEmbedder({ baseUrl, apiKey: 'sk-secret', model: 'broken' });
    await assert.rejects(embedder.embed(['a']), (error: unknown) => {
      assert.ok(error instanceof EmbeddingError);
      assert.equal(error.status, 400);
      assert.match(error.message, /unknown model/);
      assert.doesNotMatch(error.message, /sk-secret/);
      return true;
    });
  });
});
