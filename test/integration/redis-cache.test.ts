/**
 * Issue 5 with issue 7: with `store: redis`, replicas share the exact cache, so an answer one
 * replica got is a hit on another; and the semantic index, a log in Redis (a stream) that every
 * replica follows into its own index, searched locally, so a paraphrase is a hit on another too.
 */
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import Anthropic from '@anthropic-ai/sdk';
import { startGateway, type RunningGateway } from '../../src/server/gateway.js';
import { startSimulator, type Simulator } from '../../src/sim/index.js';
import { skipWithoutRedis, startRedis, type RedisServer } from '../support/redis.js';
import { defaultConfig, simKeys } from '../support/stack.js';

/**
 * One Redis, one simulator and two gateways on that Redis under `prefix`, started before the
 * suite's tests and stopped after them; `server` is the gateways' server section, if any.
 */
function twoReplicas(prefix: string, server?: { auth: { keys: string[] } }) {
  const stack = { sim: undefined as unknown as Simulator, gateways: [] as RunningGateway[] };
  let redis: RedisServer;
  before(async () => {
    redis = await startRedis();
    const keys = simKeys(1);
    stack.sim = await startSimulator({ keys });
    for (let i = 0; i < 2; i++) {
      const config = {
        ...defaultConfig(stack.sim.url, keys),
        ...(server && { server }),
        data_dir: mkdtempSync(join(tmpdir(), 'spillway-test-')),
        store: { type: 'redis' as const, url: redis.url, prefix },
      };
      stack.gateways.push(await startGateway(config, { port: 0, quiet: true }));
    }
  });
  after(async () => {
    for (const gateway of stack.gateways) await gateway.close();
    await stack.sim.close();
    await redis.stop();
  });
  return stack;
}

describe('two replicas sharing Redis', { skip: skipWithoutRedis }, () => {
  const stack = twoReplicas('cache-test:');
  const { gateways } = stack;

  it('an answer cached by one replica is a hit on the other, streamed or not', async () => {
    const [one, two] = gateways.map((gateway) => new Anthropic({ baseURL: gateway.url, apiKey: 'x', maxRetries: 0 }));
    const params = { model: 'claude-haiku-4-5', max_tokens: 40, temperature: 0, messages: [{ role: 'user' as const, content: 'Name a prime number.' }] };
    const first = await one!.messages.create(params).withResponse();
    assert.equal(first.response.headers.get('x-spillway-cache'), 'miss');
    const second = await two!.messages.create(params).withResponse();
    assert.equal(second.response.headers.get('x-spillway-cache'), 'hit');
    assert.deepEqual(second.data.content, first.data.content);
    const streamed = await two!.messages.stream(params).finalMessage();
    assert.equal(streamed.content[0]?.type === 'text' && streamed.content[0].text, first.data.content[0]?.type === 'text' && first.data.content[0].text);
    assert.equal(stack.sim.stats().total.requests, 1);
  });

  it('a paraphrase of a prompt answered through one replica is a semantic hit on the other', async () => {
    const [one, two] = gateways.map((gateway) => new Anthropic({ baseURL: gateway.url, apiKey: 'x', maxRetries: 0 }));
    const ask = (content: string) => ({ model: 'claude-haiku-4-5', max_tokens: 40, temperature: 0, messages: [{ role: 'user' as const, content }] });
    const upstreamBefore = stack.sim.stats().total.requests;
    const otherIndex = gateways[1]!.gateway.cache.semantic!;
    const arrived = async (count: number) => {
      for (const deadline = Date.now() + 2000; otherIndex.stats().entries < count; await sleep(20)) {
        assert.ok(Date.now() < deadline, 'the entry never reached the other replica');
      }
    };
    await arrived(1); // the prompt of the test above
    const entriesBefore = otherIndex.stats().entries;
    const first = await one!.messages.create(ask('What is a closure in JavaScript?')).withResponse();
    assert.equal(first.response.headers.get('x-spillway-cache'), 'miss');

    // The entry reaches the other replica's index in the background; lookups never wait on Redis.
    await arrived(entriesBefore + 1);

    const paraphrase = await two!.messages.create(ask('Could you tell me what a closure is in JavaScript?')).withResponse();
    assert.equal(paraphrase.response.headers.get('x-spillway-cache'), 'semantic');
    assert.deepEqual(paraphrase.data.content, first.data.content);
    assert.equal(stack.sim.stats().total.requests - upstreamBefore, 1);
  });
});

describe('two replicas sharing Redis keep each client key its own answers', { skip: skipWithoutRedis }, () => {
  const { gateways } = twoReplicas('cache-scope-test:', { auth: { keys: ['key-a', 'key-b'] } });

  it("client B is answered neither from client A's shared entry nor from A's prompt in the shared semantic log", async () => {
    const client = (gateway: RunningGateway, apiKey: string) => new Anthropic({ baseURL: gateway.url, apiKey, maxRetries: 0 });
    const [aOnOne, aOnTwo, bOnTwo] = [client(gateways[0]!, 'key-a'), client(gateways[1]!, 'key-a'), client(gateways[1]!, 'key-b')];
    const ask = (content: string) => ({ model: 'claude-haiku-4-5', max_tokens: 40, temperature: 0, messages: [{ role: 'user' as const, content }] });

    await aOnOne.messages.create(ask('Name an even prime.'));
    assert.equal((await bOnTwo.messages.create(ask('Name an even prime.')).withResponse()).response.headers.get('x-spillway-cache'), 'miss');
    assert.equal((await aOnTwo.messages.create(ask('Name an even prime.')).withResponse()).response.headers.get('x-spillway-cache'), 'hit');

    const otherIndex = gateways[1]!.gateway.cache.semantic!;
    const before = otherIndex.stats().entries;
    await aOnOne.messages.create(ask('What is a monad in Haskell?'));
    for (const deadline = Date.now() + 2000; otherIndex.stats().entries <= before; await sleep(20)) {
      assert.ok(Date.now() < deadline, 'the entry never reached the other replica');
    }
    const probe = await bOnTwo.messages.create(ask('Could you tell me what a monad is in Haskell?')).withResponse();
    assert.equal(probe.response.headers.get('x-spillway-cache'), 'miss');
    const own = await aOnTwo.messages.create(ask('Could you tell me what a monad is in Haskell?')).withResponse();
    assert.equal(own.response.headers.get('x-spillway-cache'), 'semantic');
  });
});
