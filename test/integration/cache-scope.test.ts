/**
 * Issue 12, item 8: the cache answers a client only with what was answered to that client (exact,
 * semantic, and requests in flight), and only with what the target it is routed to answered; the
 * negative cache remembers only failures the request itself caused.
 */
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import type { ConfigInput } from '../../src/config/schema.js';
import { defaultConfig, startStack, type Stack } from '../support/stack.js';

const question = (content: string) => ({
  model: 'claude-haiku-4-5',
  max_tokens: 64,
  temperature: 0,
  messages: [{ role: 'user' as const, content }],
});

const textOf = (message: Anthropic.Message) => message.content.map((block) => (block.type === 'text' ? block.text : '')).join('');

function twoClients(stack: Stack) {
  const a = new Anthropic({ baseURL: stack.gateway.url, apiKey: 'key-a', maxRetries: 0 });
  const b = new Anthropic({ baseURL: stack.gateway.url, apiKey: 'key-b', maxRetries: 0 });
  return { a, b };
}

describe('the cache is per client key', () => {
  let stack: Stack;
  before(async () => {
    stack = await startStack({
      sim: { latency: { ttftMs: 40 } },
      config: (simUrl, keys) => ({ ...defaultConfig(simUrl, keys), server: { auth: { keys: ['key-a', 'key-b'] } } }),
    });
  });
  after(() => stack.close());

  it("client B does not get client A's cached answer, plain or streamed", async () => {
    const { a, b } = twoClients(stack);
    stack.sim.resetStats();
    const params = question('List three uses of vinegar.');
    assert.equal((await a.messages.create(params).withResponse()).response.headers.get('x-spillway-cache'), 'miss');
    assert.equal((await a.messages.create(params).withResponse()).response.headers.get('x-spillway-cache'), 'hit');
    assert.equal((await b.messages.create(params).withResponse()).response.headers.get('x-spillway-cache'), 'miss');
    assert.equal(stack.sim.stats().total.requests, 2);

    const streamed = question('Name two rivers in Spain.');
    const first = a.messages.stream(streamed);
    await first.finalMessage();
    assert.equal((await first.withResponse()).response.headers.get('x-spillway-cache'), 'miss');
    const other = b.messages.stream(streamed);
    await other.finalMessage();
    assert.equal((await other.withResponse()).response.headers.get('x-spillway-cache'), 'miss');
    assert.equal(stack.sim.stats().total.requests, 4);
  });

  it("client B's paraphrase of client A's prompt is no semantic hit; A's own paraphrase is", async () => {
    const { a, b } = twoClients(stack);
    await a.messages.create(question('What is the capital of Portugal?'));
    const probe = await b.messages.create(question('what is the capital of portugal')).withResponse();
    assert.equal(probe.response.headers.get('x-spillway-cache'), 'miss');
    const own = await a.messages.create(question('What is the capital of Portugal')).withResponse();
    assert.equal(own.response.headers.get('x-spillway-cache'), 'semantic');
  });

  it('identical requests in flight are joined within one client, never across clients', async () => {
    const { a, b } = twoClients(stack);
    stack.sim.resetStats();
    const params = question('Explain how a lock works.');
    const answers = await Promise.all([a, a, a, b, b].map((client) => client.messages.create(params).withResponse()));
    assert.equal(stack.sim.stats().total.requests, 2);
    const statuses = answers.map((answer) => answer.response.headers.get('x-spillway-cache'));
    assert.deepEqual(statuses.filter((status) => status === 'miss').length, 2, statuses.join(','));
  });

  it("a request the provider refused for client A is sent again for client B", async () => {
    const { a, b } = twoClients(stack);
    stack.sim.resetStats();
    const broken = {
      ...question('Use the tool.'),
      tools: [{ name: 'lookup', input_schema: { type: 'object' as const, properties: {} } }],
      tool_choice: { type: 'tool' as const, name: 'missing_tool' },
    };
    for (const client of [a, a, b]) await assert.rejects(client.messages.create(broken), Anthropic.BadRequestError);
    assert.equal(stack.sim.stats().total.requests, 2);
  });
});

describe('cache.scope: shared', () => {
  it("lets every client key be answered from one cache, as the operator chose", async () => {
    const stack = await startStack({
      config: (simUrl, keys) => ({ ...defaultConfig(simUrl, keys), server: { auth: { keys: ['key-a', 'key-b'] } }, cache: { scope: 'shared' } }),
    });
    try {
      const { a, b } = twoClients(stack);
      const first = await a.messages.create(question('Name a green vegetable.'));
      const shared = await b.messages.create(question('Name a green vegetable.')).withResponse();
      assert.equal(shared.response.headers.get('x-spillway-cache'), 'hit');
      assert.equal(textOf(shared.data), textOf(first));
      assert.equal(stack.sim.stats().total.requests, 1);
    } finally {
      await stack.close();
    }
  });
});

describe('the cache follows the routing decision', () => {
  let stack: Stack;
  before(async () => {
    stack = await startStack({
      config: (simUrl, keys): ConfigInput => {
        const config = defaultConfig(simUrl, keys);
        return {
          ...config,
          providers: { ...config.providers, down: { type: 'anthropic', base_url: 'http://127.0.0.1:9', keys: [{ id: 'down', key: 'sk-down' }] } },
          routes: {
            ...config.routes,
            'claude-haiku-4-5': {
              targets: [{ provider: 'anthropic' }],
              rules: [{ when: { header: { 'x-spillway-tier': 'big' } }, target: { provider: 'anthropic', model: 'claude-sonnet-4-6' } }],
            },
            fragile: { targets: [{ provider: 'down', model: 'claude-haiku-4-5' }], fallback: [{ provider: 'anthropic', model: 'claude-haiku-4-5' }] },
          },
        };
      },
    });
  });
  after(() => stack.close());

  it('a request a rule routes to another target is not served the answer cached for the first', async () => {
    const params = question('Summarise the plot of Hamlet in one line.');
    const small = await stack.anthropic.messages.create(params).withResponse();
    assert.equal(small.response.headers.get('x-spillway-model'), 'claude-haiku-4-5');
    const big = await stack.anthropic.messages.create(params, { headers: { 'x-spillway-tier': 'big' } }).withResponse();
    assert.equal(big.response.headers.get('x-spillway-cache'), 'miss');
    assert.equal(big.response.headers.get('x-spillway-model'), 'claude-sonnet-4-6');
    const bigAgain = await stack.anthropic.messages.create(params, { headers: { 'x-spillway-tier': 'big' } }).withResponse();
    assert.equal(bigAgain.response.headers.get('x-spillway-cache'), 'hit');
    assert.equal(bigAgain.data.model, 'claude-sonnet-4-6');
  });

  it("an answer a fallback gave is served to its client and not kept for the route's own target", async () => {
    const params = { ...question('Say the word pebble.'), model: 'fragile' };
    for (let i = 0; i < 2; i++) {
      const answer = await stack.anthropic.messages.create(params).withResponse();
      assert.equal(answer.response.headers.get('x-spillway-provider'), 'anthropic');
      assert.equal(answer.response.headers.get('x-spillway-cache'), 'miss');
    }
  });
});

describe('the cache follows quota tiers', () => {
  it('once the quota drains into a lower tier, a prompt cached on the higher tier is asked of the lower one', async () => {
    // Ten requests a day: each one takes a tenth of the quota.
    const limits = { rpd: 10 };
    const stack = await startStack({
      config: (simUrl, keys) => ({
        ...defaultConfig(simUrl, keys),
        providers: { anthropic: { type: 'anthropic', base_url: simUrl, keys: keys.map(({ id, key }) => ({ id, key, limits })) } },
        routes: {
          '*': {
            targets: [{ provider: 'anthropic' }],
            tiers: [
              { model: 'claude-sonnet-4-6', min_remaining: 0.5 },
              { model: 'claude-haiku-4-5', min_remaining: 0 },
            ],
          },
        },
      }),
    });
    try {
      const params = { ...question('Name a famous bridge.'), model: 'smart' };
      const high = await stack.anthropic.messages.create(params).withResponse();
      assert.equal(high.response.headers.get('x-spillway-model'), 'claude-sonnet-4-6');
      for (let i = 0; i < 5; i++) await stack.anthropic.messages.create({ ...params, messages: [{ role: 'user', content: `Drain ${i}` }] });
      const low = await stack.anthropic.messages.create(params).withResponse();
      assert.equal(low.response.headers.get('x-spillway-cache'), 'miss');
      assert.equal(low.response.headers.get('x-spillway-model'), 'claude-haiku-4-5');
    } finally {
      await stack.close();
    }
  });
});

/** A provider that answers every request with what `reply` says, counting them. */
async function fakeProvider(reply: (req: IncomingMessage) => { status: number; body: unknown }): Promise<{ url: string; count(): number; server: Server }> {
  let requests = 0;
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    req.resume();
    req.on('end', () => {
      requests += 1;
      const { status, body } = reply(req);
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, count: () => requests, server };
}

describe('the negative cache remembers only what the request caused', () => {
  const anthropicError = (message: string) => ({ type: 'error', error: { type: 'invalid_request_error', message }, request_id: 'req_fake' });
  let credit: Awaited<ReturnType<typeof fakeProvider>>;
  let invalid: Awaited<ReturnType<typeof fakeProvider>>;
  let openai: Awaited<ReturnType<typeof fakeProvider>>;
  let stack: Stack;

  before(async () => {
    credit = await fakeProvider(() => ({ status: 400, body: anthropicError('Your credit balance is too low to access the Anthropic API. Please go to Plans & Billing to upgrade or purchase credits.') }));
    invalid = await fakeProvider(() => ({ status: 400, body: anthropicError('messages.0.content: unexpected block type "bogus"') }));
    openai = await fakeProvider(() => ({ status: 400, body: { error: { message: "Invalid 'tools[0].function.name'", type: 'invalid_request_error', param: 'tools[0].function.name', code: 'invalid_value' } } }));
    stack = await startStack({
      config: (simUrl, keys) => ({
        ...defaultConfig(simUrl, keys),
        providers: {
          credit: { type: 'anthropic', base_url: credit.url, keys: [{ id: 'broke', key: 'sk-broke' }] },
          invalid: { type: 'anthropic', base_url: invalid.url, keys: [{ id: 'fine', key: 'sk-fine' }] },
          translated: { type: 'openai', base_url: `${openai.url}/v1`, keys: [{ id: 'oa', key: 'sk-oa' }] },
        },
        routes: {
          'credit-model': { targets: [{ provider: 'credit' }] },
          'invalid-model': { targets: [{ provider: 'invalid' }] },
          'translated-model': { targets: [{ provider: 'translated', model: 'gpt-4o-mini' }] },
        },
      }),
    });
  });
  after(async () => {
    await stack.close();
    for (const fake of [credit, invalid, openai]) await new Promise<void>((resolve) => fake.server.close(() => resolve()));
  });

  it('a key-specific 400 (no credit on the key) is not remembered: the next request asks again', async () => {
    for (let i = 0; i < 2; i++) await assert.rejects(stack.anthropic.messages.create({ ...question('Hi'), model: 'credit-model' }), Anthropic.BadRequestError);
    assert.equal(credit.count(), 2);
  });

  it('an invalid request is remembered, per client: the provider hears it once', async () => {
    for (let i = 0; i < 3; i++) await assert.rejects(stack.anthropic.messages.create({ ...question('Hi'), model: 'invalid-model' }), Anthropic.BadRequestError);
    assert.equal(invalid.count(), 1);
  });

  it("an error from a provider of another protocol (translated) is not remembered", async () => {
    for (let i = 0; i < 2; i++) await assert.rejects(stack.anthropic.messages.create({ ...question('Hi'), model: 'translated-model' }), Anthropic.BadRequestError);
    assert.equal(openai.count(), 2);
    // Same-protocol OpenAI clients going to it: the provider's own word about the request, remembered.
    const client = new OpenAI({ baseURL: `${stack.gateway.url}/v1`, apiKey: 'x', maxRetries: 0 });
    const ask = { model: 'translated-model', temperature: 0, messages: [{ role: 'user' as const, content: 'Hi' }] };
    for (let i = 0; i < 2; i++) await assert.rejects(client.chat.completions.create(ask), OpenAI.BadRequestError);
    assert.equal(openai.count(), 3);
  });
});
