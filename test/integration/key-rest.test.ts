/**
 * Issue 12, items 2 and 3: a key the provider refuses rests and comes back by itself; a 403 that
 * belongs to one request (a model the key may not use) takes nothing out of service; and no client
 * sees a refusal another key could have avoided. The same with keys in the process and in Redis.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import Anthropic from '@anthropic-ai/sdk';
import type { Provider } from '../../src/providers/provider.js';
import { defaultConfig, simKeys, startStack, type Stack } from '../support/stack.js';
import { skipWithoutRedis, startRedis, type RedisServer } from '../support/redis.js';

interface AlertDelivery {
  status: string;
  alert: string;
  labels: { provider?: string; key?: string };
}

async function startReceiver(): Promise<{ url: string; deliveries: AlertDelivery[]; close(): Promise<void> }> {
  const deliveries: AlertDelivery[] = [];
  const server: Server = createServer((req, res) => {
    let data = '';
    req.on('data', (chunk: Buffer) => (data += chunk));
    req.on('end', () => {
      deliveries.push(JSON.parse(data) as AlertDelivery);
      res.end('ok');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/alerts`,
    deliveries,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

async function until(what: string, check: () => boolean | Promise<boolean>, timeoutMs: number): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) assert.fail(`timed out waiting until ${what}`);
    await sleep(50);
  }
}

function metric(text: string, name: string, labels: Record<string, string>): number {
  const wanted = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  const line = text.split('\n').find((l) => l.startsWith(`${name}{`) && wanted.every((w) => l.includes(w)));
  return line ? Number(line.split(' ').at(-1)) : 0;
}

async function keyState(provider: Provider, keyId: string) {
  await (provider.pool as { refresh?: () => Promise<boolean> }).refresh?.();
  return provider.pool.snapshot(Date.now()).find((key) => key.id === keyId)!;
}

const ask = (stack: Stack, model = 'claude-haiku-4-5') =>
  stack.anthropic.messages.create({ model, max_tokens: 16, messages: [{ role: 'user', content: 'hello' }] }).withResponse();
const askOpenAI = (stack: Stack, model = 'gpt-4o-mini') =>
  stack.openai.chat.completions.create({ model, max_tokens: 16, messages: [{ role: 'user', content: 'hello' }] }).withResponse();

for (const storeType of ['memory', 'redis'] as const) {
  describe(`refused keys (${storeType} pool)`, { skip: storeType === 'redis' ? skipWithoutRedis : false }, () => {
    let redis: RedisServer | undefined;
    let stack: Stack;
    let receiver: Awaited<ReturnType<typeof startReceiver>>;
    const logs: string[] = [];

    before(async () => {
      if (storeType === 'redis') redis = await startRedis();
      receiver = await startReceiver();
      stack = await startStack({
        // Limits enforced per second, as the gateway assumes until told more: both keys look alike,
        // so the pool spreads requests over them by headroom.
        sim: { keys: simKeys(2), window: 'second' },
        config: (url, keys) => ({
          ...defaultConfig(url, keys),
          // Short probe backoff so the test sees several probes; the default is 30 s → 10 min.
          key_rest: { first_probe: '200ms', max_probe: '800ms' },
          alerts: { webhooks: [{ url: receiver.url, format: 'json' }] },
          ...(redis ? { store: { type: 'redis' as const, url: redis.url, prefix: 'key-rest:' } } : {}),
        }),
      });
      stack.gateway.gateway.log = (line) => logs.push(line);
    });
    after(async () => {
      await stack?.close();
      await receiver?.close();
      await redis?.stop();
    });

    it('one of two keys answering 401: no client sees it; the key rests and is probed; when the provider accepts it again it serves within a minute, without restart or reload', async () => {
      const anthropic = stack.gateway.gateway.providers.get('anthropic')!;
      const metrics = () => stack.gateway.gateway.observability.metrics.text();
      stack.sim.setOptions({ faults: { revokedKeys: ['k1'] } });

      // 40 clients at once, both SDKs: every one is answered, none sees a 401.
      const answers = await Promise.allSettled([...Array.from({ length: 20 }, () => ask(stack)), ...Array.from({ length: 20 }, () => askOpenAI(stack))]);
      const failed = answers.filter((a) => a.status === 'rejected');
      assert.deepEqual(failed.map((a) => String((a as PromiseRejectedResult).reason)), []);
      for (const answer of answers) assert.equal((answer as PromiseFulfilledResult<{ response: Response }>).value.response.headers.get('x-spillway-key'), 'k2');

      // The key rests, counted and announced once however many requests it refused.
      const resting = await keyState(anthropic, 'k1');
      assert.equal(resting.healthy, false);
      assert.match(resting.disabledReason ?? '', /401 authentication_error/);
      assert.equal(metric(await metrics(), 'spillway_key_disabled_total', { provider: 'anthropic', key: 'k1' }), 1);
      assert.equal(metric(await metrics(), 'spillway_key_disabled_total', { provider: 'openai', key: 'k1' }), 1);
      await until(
        'the key_disabled alert fires',
        () => receiver.deliveries.some((d) => d.status === 'firing' && d.alert === 'key_disabled' && d.labels.provider === 'anthropic' && d.labels.key === 'k1'),
        15_000,
      );
      assert.ok(!logs.some((line) => line.includes('sk-sim-')), 'no secret in the log');

      // Probed on its backoff while the provider still refuses it: still resting, still no client error.
      await until('two refused probes', async () => metric(await metrics(), 'spillway_key_probes_total', { provider: 'anthropic', key: 'k1', result: 'refused' }) >= 2, 10_000);
      assert.equal((await keyState(anthropic, 'k1')).healthy, false);
      await ask(stack);

      // The provider accepts the key again: it serves within a minute, with nothing restarted or reloaded.
      stack.sim.setOptions({ faults: {} });
      const started = Date.now();
      let servedBy = '';
      while (servedBy !== 'k1') {
        assert.ok(Date.now() - started < 60_000, 'k1 serves again within a minute');
        servedBy = (await ask(stack)).response.headers.get('x-spillway-key') ?? '';
        if (servedBy !== 'k1') await sleep(50);
      }
      assert.equal((await keyState(anthropic, 'k1')).healthy, true);
      assert.equal(metric(await metrics(), 'spillway_key_restored_total', { provider: 'anthropic', key: 'k1' }), 1);
      await until(
        'the key_disabled alert resolves',
        () => receiver.deliveries.some((d) => d.status === 'resolved' && d.alert === 'key_disabled' && d.labels.provider === 'anthropic' && d.labels.key === 'k1'),
        15_000,
      );
      await until('the OpenAI provider has its k1 back too', async () => (await keyState(stack.gateway.gateway.providers.get('openai')!, 'k1')).healthy, 10_000);
    });

    it('when the provider refuses every key, clients get 503 overloaded_error, never a 401 that blames their own key', async () => {
      stack.sim.setOptions({ faults: { revokedKeys: ['k1', 'k2'] } });
      try {
        await assert.rejects(ask(stack), (error: unknown) => {
          assert.ok(error instanceof Anthropic.APIError, String(error));
          assert.equal(error.status, 503);
          assert.equal((error.error as { error?: { type?: string } }).error?.type, 'overloaded_error');
          return true;
        });
      } finally {
        stack.sim.setOptions({ faults: {} });
      }
      const anthropic = stack.gateway.gateway.providers.get('anthropic')!;
      await until('both keys are back', async () => (await keyState(anthropic, 'k1')).healthy && (await keyState(anthropic, 'k2')).healthy, 30_000);
      await ask(stack);
    });

    it('a 403 for one model only: the other key serves it, and the key keeps serving every other model', async () => {
      const anthropic = stack.gateway.gateway.providers.get('anthropic')!;
      const disabledBefore = metric(await stack.gateway.gateway.observability.metrics.text(), 'spillway_key_disabled_total', { provider: 'anthropic', key: 'k1' });
      stack.sim.setOptions({ faults: { forbiddenModels: { k1: ['claude-opus-4-1', 'gpt-4o'] } } });

      const forbidden = await Promise.all([...Array.from({ length: 10 }, () => ask(stack, 'claude-opus-4-1')), ...Array.from({ length: 10 }, () => askOpenAI(stack, 'gpt-4o'))]);
      for (const answer of forbidden) assert.equal(answer.response.headers.get('x-spillway-key'), 'k2');
      const others = await Promise.all(Array.from({ length: 20 }, () => ask(stack, 'claude-haiku-4-5')));
      const servedBy = new Set(others.map((answer) => answer.response.headers.get('x-spillway-key')));
      assert.ok(servedBy.has('k1'), `k1 still serves other models (served by ${[...servedBy].join(', ')})`);
      assert.equal((await keyState(anthropic, 'k1')).healthy, true);
      const disabledAfter = metric(await stack.gateway.gateway.observability.metrics.text(), 'spillway_key_disabled_total', { provider: 'anthropic', key: 'k1' });
      assert.equal(disabledAfter, disabledBefore, 'nothing was taken out of service');
    });

    it('a model every key refuses is answered with the provider 403, and nothing rests', async () => {
      stack.sim.setOptions({ faults: { forbiddenModels: { k1: ['claude-opus-4-1'], k2: ['claude-opus-4-1'] } } });
      await assert.rejects(ask(stack, 'claude-opus-4-1'), (error: unknown) => {
        assert.ok(error instanceof Anthropic.PermissionDeniedError, String(error));
        assert.equal((error.error as { error?: { type?: string } }).error?.type, 'permission_error');
        return true;
      });
      const anthropic = stack.gateway.gateway.providers.get('anthropic')!;
      assert.equal((await keyState(anthropic, 'k1')).healthy, true);
      assert.equal((await keyState(anthropic, 'k2')).healthy, true);
      await ask(stack, 'claude-haiku-4-5');
      stack.sim.setOptions({ faults: {} });
    });
  });
}
