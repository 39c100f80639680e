/**
 * Issue 16: tenants sharing one pool of keys, driven with the official SDKs over real sockets
 * against the simulator.
 */
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { keysCommand } from '../../src/cli/keys.js';
import { startGateway } from '../../src/server/gateway.js';
import { startSimulator } from '../../src/sim/index.js';
import { defaultConfig, simKeys, startStack, type Stack } from '../support/stack.js';
import { fireTenants } from '../support/tenant-load.js';

describe('tenants: keys, models', () => {
  let stack: Stack;
  before(async () => {
    stack = await startStack({
      clientKey: 'sk-checkout',
      config: (simUrl, keys) => ({
        ...defaultConfig(simUrl, keys),
        admin: { keys: ['sk-admin'] },
        tenants: {
          checkout: { keys: ['sk-checkout', 'sk-checkout-2'], weight: 3 },
          ci: { keys: ['sk-ci'], priority: 'batch', models: ['claude-haiku-*', 'gpt-4o-mini'] },
        },
      }),
    });
  });
  after(() => stack.close());

  const anthropicAs = (apiKey: string) => new Anthropic({ baseURL: stack.gateway.url, apiKey, maxRetries: 0 });
  const openaiAs = (apiKey: string) => new OpenAI({ baseURL: `${stack.gateway.url}/v1`, apiKey, maxRetries: 0 });
  const ask = { max_tokens: 8, messages: [{ role: 'user' as const, content: 'hi' }] };

  it('each tenant key is served; an unknown key gets 401 on both surfaces and reaches no provider', async () => {
    await anthropicAs('sk-checkout').messages.create({ model: 'claude-sonnet-4-6', ...ask });
    await openaiAs('sk-ci').chat.completions.create({ model: 'gpt-4o-mini', messages: ask.messages });
    const before = stack.sim.stats().total.requests;
    await assert.rejects(anthropicAs('sk-stranger').messages.create({ model: 'claude-sonnet-4-6', ...ask }), (e: unknown) => e instanceof Anthropic.AuthenticationError);
    await assert.rejects(openaiAs('sk-stranger').chat.completions.create({ model: 'gpt-4o-mini', messages: ask.messages }), (e: unknown) => e instanceof OpenAI.AuthenticationError);
    await assert.rejects(anthropicAs('sk-admin').messages.create({ model: 'claude-sonnet-4-6', ...ask }), (e: unknown) => e instanceof Anthropic.AuthenticationError, 'an admin key is no client key');
    assert.equal(stack.sim.stats().total.requests, before);
  });

  it("a model outside the tenant's `models` is 403 in the caller's shape, with x-should-retry: false, and reaches no provider", async () => {
    const before = stack.sim.stats().total.requests;
    await assert.rejects(anthropicAs('sk-ci').messages.create({ model: 'claude-opus-4-8', ...ask }), (e: unknown) => {
      assert.ok(e instanceof Anthropic.PermissionDeniedError);
      assert.equal((e.error as { error: { type: string } }).error.type, 'permission_error');
      assert.match(e.message, /claude-opus-4-8/);
      assert.equal(e.headers?.get('x-should-retry'), 'false');
      return true;
    });
    await assert.rejects(openaiAs('sk-ci').chat.completions.create({ model: 'gpt-4o', messages: ask.messages }), (e: unknown) => {
      assert.ok(e instanceof OpenAI.PermissionDeniedError);
      assert.match(e.message, /gpt-4o/);
      return true;
    });
    assert.equal(stack.sim.stats().total.requests, before);
    // Another tenant may use it.
    await anthropicAs('sk-checkout').messages.create({ model: 'claude-opus-4-8', ...ask });
  });

  it("the cache is per tenant: a tenant's two keys share answers, another tenant's identical request is not answered from them", async () => {
    const params = { model: 'claude-haiku-4-5', max_tokens: 8, temperature: 0, messages: [{ role: 'user' as const, content: 'the cache is per tenant' }] };
    const cacheOf = async (key: string) => (await anthropicAs(key).messages.create(params).withResponse()).response.headers.get('x-spillway-cache');
    assert.equal(await cacheOf('sk-checkout'), 'miss');
    assert.equal(await cacheOf('sk-checkout-2'), 'hit');
    assert.equal(await cacheOf('sk-ci'), 'miss');
    assert.equal(await cacheOf('sk-ci'), 'hit');
  });

  it('metrics carry the tenant: requests, tokens and queue wait by tenant name, never by key', async () => {
    const metrics = await (await fetch(`${stack.gateway.url}/metrics`, { headers: { authorization: 'Bearer sk-admin' } })).text();
    assert.match(metrics, /spillway_tenant_requests_total\{tenant="checkout",status="200"\} [1-9]/);
    assert.match(metrics, /spillway_tenant_requests_total\{tenant="ci",status="403"\} 2/);
    assert.match(metrics, /spillway_tenant_tokens_total\{tenant="ci",direction="output"\} [1-9]/);
    assert.doesNotMatch(metrics, /sk-checkout|sk-ci/);
  });
});

describe('tenants: fair share of a saturated pool', () => {
  it("two tenants of equal weight on a pool serving 20 requests/s: 600 at once, then 30 from the other 3 s later; the 30 are served alongside the 600 rather than behind them, all 630 succeed, upstream 429s ≤ 1%", async () => {
    // Two keys of 600 rpm enforced per second: 20 requests/s together.
    const limits = { rpm: 600, itpm: 10_000_000, otpm: 10_000_000 };
    const stack = await startStack({
      sim: { keys: simKeys(2, limits), window: 'second', latency: { ttftMs: 20 } },
      config: (simUrl, keys) => ({
        ...defaultConfig(simUrl, keys),
        admin: { keys: ['sk-admin'] },
        tenants: { ci: { keys: ['sk-ci'] }, checkout: { keys: ['sk-checkout'] } },
      }),
    });
    try {
      const [ci, checkout] = await fireTenants(stack.gateway.url, [
        { apiKey: 'sk-ci', count: 600, startMs: 0 },
        { apiKey: 'sk-checkout', count: 30, startMs: 3000 },
      ]);
      assert.deepEqual(ci!.failures, {});
      assert.deepEqual(checkout!.failures, {});
      assert.equal(ci!.waits.length + checkout!.waits.length, 630);
      const upstream = stack.sim.stats().total;
      assert.ok(upstream.rateLimited <= upstream.requests * 0.01, `upstream 429s: ${upstream.rateLimited} of ${upstream.requests}`);
      // Equal weights: while checkout's 30 wait, ci gets one admission per checkout admission. Counted
      // in answers, not seconds (a loaded machine stretches both alike): at most 2× the fair 30.
      const firstCheckout = Math.min(...checkout!.answeredAt);
      const lastCheckout = Math.max(...checkout!.answeredAt);
      const ciMeanwhile = ci!.answeredAt.filter((t) => t > firstCheckout && t < lastCheckout).length;
      assert.ok(ciMeanwhile <= 60, `ci had ${ciMeanwhile} answers while checkout's 30 were served`);
      assert.ok(ci!.answeredAt.some((t) => t > lastCheckout + 5000), "ci's burst was still being served after checkout finished: the pool was saturated");
    } finally {
      await stack.close();
    }
  });
});

describe('tenants: their own ceilings', () => {
  it("a tenant ceiling of 60 rpm paces that tenant's burst with 0 upstream 429s while another tenant uses the rest of the pool; answers carry the tenant's own headroom", async () => {
    const limits = { rpm: 600, itpm: 10_000_000, otpm: 10_000_000 };
    const stack = await startStack({
      sim: { keys: simKeys(2, limits), window: 'second', latency: { ttftMs: 20 } },
      config: (simUrl, keys) => ({
        ...defaultConfig(simUrl, keys),
        admin: { keys: ['sk-admin'] },
        tenants: { ci: { keys: ['sk-ci'], limits: { rpm: 60 } }, checkout: { keys: ['sk-checkout'] } },
      }),
    });
    try {
      const ci = new Anthropic({ baseURL: stack.gateway.url, apiKey: 'sk-ci', maxRetries: 0 });
      const checkout = new Anthropic({ baseURL: stack.gateway.url, apiKey: 'sk-checkout', maxRetries: 0 });
      const ask = (i: number) => ({ model: 'claude-sonnet-4-6', max_tokens: 16, messages: [{ role: 'user' as const, content: `item ${i}` }] });
      const [ciAnswers, checkoutAnswers] = await Promise.all([
        Promise.all(Array.from({ length: 8 }, (_, i) => ci.messages.create(ask(i)).withResponse())),
        Promise.all(Array.from({ length: 120 }, (_, i) => checkout.messages.create(ask(100 + i)).withResponse())),
      ]);
      const total = stack.sim.stats().total;
      assert.equal(total.ok, 128);
      assert.equal(total.rateLimited, 0);
      // Paced at one a second: the 8th of a burst of 8 waited about 7 s in spillway's queue.
      const ciQueued = ciAnswers.map(({ response }) => Number(response.headers.get('x-spillway-queue-ms'))).sort((a, b) => a - b);
      assert.ok(ciQueued.at(-1)! >= 6000, `ci's queue times: ${ciQueued.join(', ')}`);
      // The other tenant used the rest: 120 requests on a 20/s pool, not held to ci's pace.
      assert.ok(checkoutAnswers.every(({ response }) => response.headers.get('anthropic-ratelimit-requests-limit') !== '60'));
      // Each ci answer shows ci's ceiling, not the pool's.
      for (const { response } of ciAnswers) {
        assert.equal(response.headers.get('anthropic-ratelimit-requests-limit'), '60');
        assert.ok(Number(response.headers.get('anthropic-ratelimit-requests-remaining')) <= 1);
        assert.match(response.headers.get('anthropic-ratelimit-requests-reset') ?? '', /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
      }
      const openai = new OpenAI({ baseURL: `${stack.gateway.url}/v1`, apiKey: 'sk-ci', maxRetries: 0 });
      const { response } = await openai.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] }).withResponse();
      assert.equal(response.headers.get('x-ratelimit-limit-requests'), '60');
      assert.match(response.headers.get('x-ratelimit-reset-requests') ?? '', /^\d+(ms|s)$/);

      // Over the ceiling with a deadline it cannot meet: an honest 429 at once, the pool untouched.
      const before = stack.sim.stats().total.requests;
      await Promise.all([ci.messages.create(ask(1000)), ci.messages.create(ask(1001))].map((p) => p.catch(() => undefined)));
      await assert.rejects(ci.messages.create(ask(1002), { headers: { 'x-spillway-max-wait': '0.5' } }), (e: unknown) => {
        assert.ok(e instanceof Anthropic.RateLimitError);
        assert.match((e.error as { error: { message: string } }).error.message, /tenant "ci" is over its own rate limit/);
        assert.ok(Number(e.headers?.get('retry-after')) >= 1);
        return true;
      });
      assert.equal(stack.sim.stats().total.requests, before + 2);
    } finally {
      await stack.close();
    }
  });
});

describe('tenants: a request served on its second attempt', () => {
  it("counts once against its tenant's ceiling: the failed attempt's request comes back", async () => {
    const broken = await startSimulator({ keys: simKeys(1), faults: { serverError: 1 } });
    const stack = await startStack({
      config: (simUrl, keys) => ({
        admin: { keys: ['sk-admin'] },
        providers: {
          down: { type: 'anthropic', base_url: broken.url, keys: simKeys(1) },
          anthropic: { type: 'anthropic', base_url: simUrl, keys },
        },
        routes: { '*': { targets: [{ provider: 'down' }], fallback: [{ provider: 'anthropic' }] } },
        tenants: { ci: { keys: ['sk-ci'], limits: { rpm: 600 } } }, // a burst of 10
      }),
    }).catch(async (error: unknown) => {
      await broken.close();
      throw error;
    });
    try {
      const ci = new Anthropic({ baseURL: stack.gateway.url, apiKey: 'sk-ci', maxRetries: 0 });
      const { response } = await ci.messages.create({ model: 'claude-sonnet-4-6', max_tokens: 16, messages: [{ role: 'user', content: 'hello' }] }).withResponse();
      assert.equal(response.headers.get('x-spillway-provider'), 'anthropic');
      assert.equal(response.headers.get('x-spillway-attempts'), '2');
      assert.equal(broken.stats().total.requests, 1, 'the first attempt reached the failing provider');
      assert.equal(response.headers.get('anthropic-ratelimit-requests-remaining'), '9', 'one request of the ten taken, not two');
    } finally {
      await stack.close();
      await broken.close();
    }
  });
});

describe('tenants: budgets', () => {
  it('a tenant with a 0.05 USD daily budget is served until then, then refused with a 429 naming the budget, on both the Anthropic and the OpenAI surface; spend stays within what was in flight; other tenants are unaffected; webhooks hear of 80% and 100%', async () => {
    const hooks: Array<{ id: string; status: string }> = [];
    const receiver = createServer((req, res) => {
      let data = '';
      req.on('data', (chunk: Buffer) => (data += chunk));
      req.on('end', () => {
        hooks.push(JSON.parse(data) as { id: string; status: string });
        res.end('ok');
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    // $100 per million tokens either way: a request of a few dozen tokens costs about half a cent.
    const price = { input: 100, output: 100 };
    const stack = await startStack({
      config: (simUrl, keys) => ({
        ...defaultConfig(simUrl, keys),
        admin: { keys: ['sk-admin'] },
        prices: { 'claude-sonnet-4-6': price, 'gpt-4o-mini': price },
        alerts: { webhooks: [{ url: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook` }], interval: '100ms' },
        tenants: {
          web: { keys: ['sk-web'], budget: { daily_usd: 0.05 } },
          app: { keys: ['sk-app'], budget: { daily_usd: 0.05 } },
          other: { keys: ['sk-other'] },
        },
      }),
    });
    const costOfWork = () => {
      const { inputTokens, outputTokens } = stack.sim.stats().total;
      return ((inputTokens + outputTokens) * 100) / 1_000_000;
    };
    try {
      const messages = [{ role: 'user' as const, content: 'Describe a ceramic mug in two sentences.' }];
      // Anthropic surface: a burst of 20 at once, then one at a time until refused.
      const web = new Anthropic({ baseURL: stack.gateway.url, apiKey: 'sk-web', maxRetries: 0 });
      const ask = () => web.messages.create({ model: 'claude-sonnet-4-6', max_tokens: 32, messages });
      const burst = await Promise.allSettled(Array.from({ length: 20 }, ask));
      let served = burst.filter((r) => r.status === 'fulfilled').length;
      let refusal: unknown;
      for (let i = 0; i < 40 && refusal === undefined; i++) {
        await ask().then(() => served++, (e: unknown) => (refusal = e));
      }
      assert.ok(served >= 3, `served ${served} before the budget`);
      assert.ok(refusal instanceof Anthropic.RateLimitError, String(refusal));
      const message = (refusal.error as { error: { message: string } }).error.message;
      assert.match(message, /tenant "web" has used its daily budget of \$0\.0500/);
      assert.match(message, /resets at \d{4}-\d\d-\d\dT00:00:00\.000Z/);
      assert.equal(refusal.headers?.get('x-should-retry'), 'false');
      const resetIn = Number(refusal.headers?.get('retry-after'));
      assert.ok(resetIn > 0 && resetIn <= 86_400, `retry-after ${resetIn}`);
      const webSpend = costOfWork();
      // Spend may pass the budget only by what was in flight when it was reached: at most the burst.
      assert.ok(webSpend <= 0.05 + 20 * 0.006, `web spent $${webSpend}`);
      assert.ok(webSpend >= 0.05 * 0.8, `web spent $${webSpend}`);

      // OpenAI surface, another tenant with the same budget.
      const app = new OpenAI({ baseURL: `${stack.gateway.url}/v1`, apiKey: 'sk-app', maxRetries: 0 });
      let appRefusal: unknown;
      for (let i = 0; i < 60 && appRefusal === undefined; i++) {
        await app.chat.completions.create({ model: 'gpt-4o-mini', max_tokens: 32, messages }).catch((e: unknown) => (appRefusal = e));
      }
      assert.ok(appRefusal instanceof OpenAI.RateLimitError, String(appRefusal));
      assert.match(appRefusal.message, /tenant "app" has used its daily budget/);
      assert.equal(appRefusal.code, 'insufficient_quota');
      assert.ok(costOfWork() - webSpend <= 0.05 + 0.006, 'one at a time, spend stops within one request of the budget');

      // Others are unaffected.
      await new Anthropic({ baseURL: stack.gateway.url, apiKey: 'sk-other', maxRetries: 0 }).messages.create({ model: 'claude-sonnet-4-6', max_tokens: 32, messages });
      const before = stack.sim.stats().total.requests;
      await assert.rejects(ask(), Anthropic.RateLimitError);
      assert.equal(stack.sim.stats().total.requests, before, 'a refused request reaches no provider');

      // The alerts, through the webhooks the gateway already has.
      for (let i = 0; i < 100 && hooks.filter((h) => h.id.startsWith('budget:')).length < 4; i++) await new Promise((resolve) => setTimeout(resolve, 100));
      const fired = hooks.filter((h) => h.status === 'firing').map((h) => h.id).sort();
      assert.deepEqual(fired.filter((id) => id.startsWith('budget:')), ['budget:app:daily:0.8', 'budget:app:daily:1', 'budget:web:daily:0.8', 'budget:web:daily:1']);
    } finally {
      await stack.close();
      receiver.close();
    }
  });
});

describe('tenants: keys at runtime', () => {
  it('a key created through the admin API works at once, on every replica sharing the store; listed without the key; revoked, it gets 401 within a second everywhere', async () => {
    const stack = await startStack({
      config: (simUrl, keys) => ({ ...defaultConfig(simUrl, keys), admin: { keys: ['sk-admin'] }, tenants: { ci: { keys: [] } } }),
    });
    const replica = await startGateway({ ...stack.gateway.gateway.config, server: { ...stack.gateway.gateway.config.server, port: 0 } }, { port: 0, quiet: true });
    const admin = (path: string, init: RequestInit = {}, key = 'sk-admin') =>
      fetch(`${stack.gateway.url}${path}`, { ...init, headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' } });
    const ask = { model: 'claude-sonnet-4-6', max_tokens: 8, messages: [{ role: 'user' as const, content: 'hi' }] };
    try {
      assert.equal((await admin('/admin/keys', { method: 'POST', body: '{"tenant":"ci"}' }, 'sk-not-admin')).status, 401);
      assert.equal((await admin('/admin/keys', { method: 'POST', body: '{"tenant":"nobody"}' })).status, 400);
      const created = (await (await admin('/admin/keys', { method: 'POST', body: '{"tenant":"ci"}' })).json()) as { id: string; key: string; tenant: string };
      assert.equal(created.tenant, 'ci');
      assert.match(created.key, /^sk-spw-/);
      const here = new Anthropic({ baseURL: stack.gateway.url, apiKey: created.key, maxRetries: 0 });
      const there = new Anthropic({ baseURL: replica.url, apiKey: created.key, maxRetries: 0 });
      await here.messages.create(ask);
      await until(() => there.messages.create(ask).then(() => true, () => false), 'the other replica accepts the new key');

      const listed = await (await admin('/admin/keys')).text();
      assert.match(listed, new RegExp(created.id));
      assert.doesNotMatch(listed, new RegExp(created.key.slice(7)), 'the key itself is shown once only');

      assert.equal((await admin(`/admin/keys/${created.id}`, { method: 'DELETE' })).status, 200);
      const revokedAt = Date.now();
      await assert.rejects(here.messages.create(ask), Anthropic.AuthenticationError);
      await until(() => there.messages.create(ask).then(() => false, (e: unknown) => e instanceof Anthropic.AuthenticationError), 'the other replica refuses the revoked key');
      assert.ok(Date.now() - revokedAt < 3000, 'within about a second (the refresh interval), allowing for a loaded machine');
    } finally {
      await replica.close();
      await stack.close();
    }
  });
});

async function until(check: () => Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 50; i++) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  assert.fail(`timed out waiting until ${what}`);
}

describe('tenants: spillway keys', () => {
  it('spillway keys create --tenant ci prints a working key once; list shows its id; revoke ID ends it', async () => {
    const stack = await startStack({
      config: (simUrl, keys) => ({ ...defaultConfig(simUrl, keys), admin: { keys: ['sk-admin'] }, tenants: { ci: { keys: [] } } }),
    });
    const target = { url: stack.gateway.url, key: 'sk-admin' };
    const ask = { model: 'claude-sonnet-4-6', max_tokens: 8, messages: [{ role: 'user' as const, content: 'hi' }] };
    try {
      const printed = await keysCommand(target, { action: 'create', tenant: 'ci' });
      const key = printed.split('\n').at(-1)!;
      const id = /Created (key_\w+)/.exec(printed)![1]!;
      await new Anthropic({ baseURL: stack.gateway.url, apiKey: key, maxRetries: 0 }).messages.create(ask);
      const listed = await keysCommand(target, { action: 'list' });
      assert.match(listed, new RegExp(`${id}  ci  created`));
      assert.ok(!listed.includes(key));
      assert.equal(await keysCommand(target, { action: 'revoke', id }), `Revoked ${id}.`);
      await assert.rejects(new Anthropic({ baseURL: stack.gateway.url, apiKey: key, maxRetries: 0 }).messages.create(ask), Anthropic.AuthenticationError);
      await assert.rejects(keysCommand({ ...target, key: 'wrong' }, { action: 'list' }), /admin key is needed/);
      await assert.rejects(keysCommand(target, { action: 'create', tenant: 'nobody' }), /expected one of the configured tenants \(ci\)/);
    } finally {
      await stack.close();
    }
  });
});
