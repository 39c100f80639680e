/**
 * The semantic index shared through a Redis stream: what one replica remembers becomes a hit on the
 * others, a replica started later is warm, and a Redis outage leaves each replica serving its own
 * index until the log is readable again.
 */
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import type { KeyInput } from '../../src/cache/key.js';
import { HashedEmbedder } from '../../src/cache/semantic/hashed-embedder.js';
import { semanticQuery } from '../../src/cache/semantic/prompt.js';
import { SemanticCache } from '../../src/cache/semantic/semantic-cache.js';
import { decodeEntry, encodeEntry, RedisSemanticLog } from '../../src/store/redis-semantic.js';
import { RedisStore } from '../../src/store/redis-store.js';
import { skipWithoutRedis, startRedis, type RedisServer } from '../support/redis.js';

function request(prompt: string): KeyInput {
  return { surface: 'openai', scope: '', plan: 'openai/gpt-test', body: { temperature: 0, messages: [{ role: 'user', content: prompt }] } };
}

interface Replica {
  cache: SemanticCache;
  store: RedisStore;
  lines: string[];
  close(): Promise<void>;
}

/** A replica's semantic cache, wired to the shared log as the gateway wires it. */
function replica(url: string): Replica {
  const lines: string[] = [];
  const store = new RedisStore({ url, prefix: 'sem:', heartbeatMs: 100 });
  const log = new RedisSemanticLog(store, { blockMs: 200, retryMs: 100, log: (line) => lines.push(line) });
  const cache = new SemanticCache({ embedder: new HashedEmbedder(), onRemember: (entry) => log.publish(entry) });
  log.follow((entry) => cache.add(entry, Date.now()));
  return { cache, store, lines, close: () => log.close() };
}

async function until(condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 2000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) assert.fail(`timed out waiting: ${what}`);
    await sleep(20);
  }
}

describe('stream entry encoding', () => {
  it('round-trips the vector bytes and the fields, and refuses a malformed entry', () => {
    const vector = new Float32Array([0.6, -0.8, 0]);
    const entry = { partition: 'p', prompt: 'Ünïcode prompt', value: 'key', expiresAt: 1_700_000_000_000, vector };
    const fields = encodeEntry('replica-1', entry).map((field) => Buffer.from(field));
    const decoded = decodeEntry(fields);
    assert.equal(decoded?.origin, 'replica-1');
    assert.deepEqual(decoded?.entry, entry);
    assert.equal(decodeEntry(fields.slice(0, -2)), undefined);
    assert.equal(decodeEntry([...fields.slice(0, -1), Buffer.from([1, 2, 3])]), undefined);
  });
});

describe('semantic index shared through Redis', { skip: skipWithoutRedis }, () => {
  let redis: RedisServer;
  const replicas: Replica[] = [];
  const start = (): Replica => {
    const started = replica(redis.url);
    replicas.push(started);
    return started;
  };

  before(async () => {
    redis = await startRedis();
  });
  after(async () => {
    for (const started of replicas) await started.close();
    await redis.stop();
  });

  it('a prompt remembered by one replica is a paraphrase hit on another, added once, and warms a later one', async () => {
    const [a, b] = [start(), start()];
    assert.equal(await a!.cache.remember(request('What is the capital of France?'), 'key-france', Date.now()), true);
    await until(async () => (await b!.cache.lookup(request('what is the capital of france'), Date.now()))?.value === 'key-france', 'b sees a paraphrase');

    // b's entry comes after a's in the stream: once a has it, a has read past its own.
    await b!.cache.remember(request('Explain recursion to a beginner'), 'key-recursion', Date.now());
    await until(async () => (await a!.cache.lookup(request('Can you please explain recursion to a beginner?'), Date.now()))?.value === 'key-recursion', 'a sees b');
    assert.deepEqual(a!.cache.stats(), { partitions: 1, entries: 2 });
    assert.deepEqual(b!.cache.stats(), { partitions: 1, entries: 2 });

    const c = start();
    await until(() => c.cache.stats().entries === 2, 'c reads the stream at start');
    assert.equal((await c.cache.lookup(request('what is the capital of france'), Date.now()))?.value, 'key-france');
    assert.deepEqual([...a!.lines, ...b!.lines, ...c.lines], []);
  });

  it('through an outage: entries stay local, and after Redis returns empty the log is followed from its start', async () => {
    const [a, b] = replicas;
    await redis.stop();
    assert.equal(await a!.cache.remember(request('Give me a recipe for banana bread'), 'key-bread', Date.now()), true);
    assert.equal((await a!.cache.lookup(request('give me a RECIPE for banana bread'), Date.now()))?.value, 'key-bread');
    await sleep(500); // several failed reads
    await redis.start();
    await until(() => replicas.every(({ lines, store }) => lines.length === 2 && !store.degraded), 'replicas reach Redis again', 5000);

    // An id below any read before the restart: only a tailer that started over from '0' sees it.
    const [vector] = await new HashedEmbedder().embed(['What is a closure in JavaScript?']);
    const { partition } = semanticQuery(request('What is a closure in JavaScript?'), { multiTurn: false })!;
    const entry = { partition, prompt: 'What is a closure in JavaScript?', value: 'key-closure', expiresAt: Date.now() + 60_000, vector: vector! };
    await a!.store.client.xadd('sem:semantic', '1-0', ...encodeEntry('elsewhere', entry));
    await until(async () => (await b!.cache.lookup(request('Could you tell me what a closure is in JavaScript?'), Date.now()))?.value === 'key-closure', 'b reads from the start');

    await a!.cache.remember(request('Write a haiku about autumn leaves.'), 'key-haiku', Date.now());
    await until(async () => (await b!.cache.lookup(request('Write a haiku about autumn leaves!!'), Date.now()))?.value === 'key-haiku', 'b sees a after the restart', 5000);
    assert.equal(await b!.cache.lookup(request('give me a RECIPE for banana bread'), Date.now()), undefined, 'remembered during the outage: local to a');
    for (const { lines } of replicas) {
      assert.equal(lines.length, 2, lines.join('\n'));
      assert.match(lines[0]!, /cannot read the shared semantic cache log/);
      assert.match(lines[1]!, /readable again/);
    }
  });
});
