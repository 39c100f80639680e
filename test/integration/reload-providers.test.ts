/**
 * Issue 12, item 9: a hot reload that changes a provider. Metrics and the dashboard show the new
 * provider's keys, the Redis connection is the same one (no extra replica counted), and the
 * replaced pool is closed once the request still using it has finished.
 */
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import Anthropic from '@anthropic-ai/sdk';
import { parseConfig } from '../../src/config/load.js';
import { applyConfig } from '../../src/config/reload.js';
import type { ConfigInput } from '../../src/config/schema.js';
import { startGateway, type RunningGateway } from '../../src/server/gateway.js';
import { startSimulator, type Simulator } from '../../src/sim/index.js';
import { skipWithoutRedis, startRedis, type RedisServer } from '../support/redis.js';
import { generousLimits } from '../support/stack.js';

describe('a reload that changes a provider, with store: redis', { skip: skipWithoutRedis }, () => {
  let redis: RedisServer;
  let sim: Simulator;
  let gateway: RunningGateway;
  const config = (keyId: string): ConfigInput => ({
    data_dir: mkdtempSync(join(tmpdir(), 'spillway-test-')),
    store: { type: 'redis', url: redis.url, prefix: 'reload-test:' },
    providers: { anthropic: { type: 'anthropic', base_url: sim.url, keys: [{ id: keyId, key: 'sk-k' }] } },
    routes: { '*': { targets: [{ provider: 'anthropic' }] } },
  });

  before(async () => {
    redis = await startRedis();
    sim = await startSimulator({ keys: [{ id: 'k', key: 'sk-k', limits: generousLimits }], latency: { ttftMs: 400 } });
    gateway = await startGateway(config('old-key'), { port: 0, quiet: true });
  });
  after(async () => {
    await gateway.close();
    await sim.close();
    await redis.stop();
  });

  it('metrics and /admin/state show the new keys, one replica is counted, and the old pool closes after its last request', async () => {
    const gw = gateway.gateway;
    const client = new Anthropic({ baseURL: gateway.url, apiKey: 'x', maxRetries: 0 });
    const inFlight = client.messages.create({ model: 'claude-haiku-4-5', max_tokens: 20, messages: [{ role: 'user', content: 'still going' }] }).withResponse();
    await sleep(150); // admitted, waiting for its first byte

    const old = gw.providers.get('anthropic')!;
    let closedAt: number | undefined;
    const close = old.pool.close!.bind(old.pool);
    old.pool.close = () => {
      closedAt = Date.now();
      return close();
    };
    const redisBefore = gw.redis;
    applyConfig(gw, parseConfig(config('new-key'), 'config'));
    assert.notEqual(gw.providers.get('anthropic'), old);
    assert.equal(gw.redis, redisBefore, 'the gateway keeps its one Redis connection');
    assert.equal(closedAt, undefined, 'the replaced pool stays open while a request uses it');

    const answered = await inFlight;
    assert.equal(answered.response.status, 200);
    assert.equal(answered.response.headers.get('x-spillway-key'), 'old-key');
    assert.ok(closedAt !== undefined && closedAt <= Date.now(), 'the replaced pool is closed once its request has finished');

    const metrics = await (await fetch(`${gateway.url}/metrics`)).text();
    assert.match(metrics, /spillway_key_healthy\{provider="anthropic",key="new-key"\} 1/);
    // Counters keep what the old key did; the gauges describe the keys in service now.
    assert.doesNotMatch(metrics, /spillway_key_\w+\{[^}]*key="old-key"/);
    const state = (await (await fetch(`${gateway.url}/admin/state`)).json()) as { keys: Array<{ id: string }> };
    assert.deepEqual(state.keys.map((key) => key.id), ['new-key']);

    // Heartbeats of a second connection would count as a second replica.
    await sleep(1500);
    assert.match(await (await fetch(`${gateway.url}/metrics`)).text(), /spillway_store_replicas 1\b/);
    const next = await client.messages.create({ model: 'claude-haiku-4-5', max_tokens: 20, messages: [{ role: 'user', content: 'after' }] }).withResponse();
    assert.equal(next.response.headers.get('x-spillway-key'), 'new-key');
  });
});
