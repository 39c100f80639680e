/**
 * Issue 12, item 9: what a client's headers may and may not do. x-spillway-max-wait is capped by
 * config whatever number form it takes, and refused in the caller's shape when it is no number;
 * headers that choose the provider account (openai-organization, openai-project), credentials
 * and cookies never travel upstream.
 */
import assert from 'node:assert/strict';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { defaultConfig, simKeys, startStack, type Stack } from '../support/stack.js';

describe('x-spillway-max-wait', () => {
  let stack: Stack;
  before(async () => {
    stack = await startStack({
      sim: { keys: simKeys(1, { rpm: 1, itpm: 1_000_000, otpm: 1_000_000 }) },
      config: (simUrl, keys) => {
        const config = defaultConfig(simUrl, keys);
        // One request a minute: the second one would wait about a minute for room.
        const slow = keys.map(({ id, key }) => ({ id, key, limits: { rpm: 1 } }));
        return {
          ...config,
          providers: { anthropic: { type: 'anthropic', base_url: simUrl, keys: slow }, openai: { type: 'openai', base_url: `${simUrl}/v1`, keys: slow } },
          queue: { max_wait_cap: '1s' },
        };
      },
    });
  });
  after(() => stack.close());

  const ask = (content: string) => ({ model: 'claude-haiku-4-5', max_tokens: 16, messages: [{ role: 'user' as const, content }] });

  it('a wait of 99999999999999999999 seconds, or 1e12, is cut to max_wait_cap: the request is answered 429 at once, not held for a minute', async () => {
    await stack.anthropic.messages.create(ask('take the only slot'));
    for (const wait of ['99999999999999999999', '1e12', '2h']) {
      const started = Date.now();
      await assert.rejects(stack.anthropic.messages.create(ask(`wait ${wait}`), { headers: { 'x-spillway-max-wait': wait } }), (error: unknown) => {
        assert.ok(error instanceof Anthropic.RateLimitError, `${wait}: ${String(error)}`);
        return true;
      });
      assert.ok(Date.now() - started < 5000, `${wait} was held ${Date.now() - started} ms`);
    }
  });

  it('a wait that is no number or duration is answered 400 in the caller\'s shape', async () => {
    for (const wait of ['soon', '-5', 'Infinity', '1e999']) {
      await assert.rejects(stack.anthropic.messages.create(ask('x'), { headers: { 'x-spillway-max-wait': wait } }), (error: unknown) => {
        assert.ok(error instanceof Anthropic.BadRequestError, `${wait}: ${String(error)}`);
        assert.equal((error.error as { type?: string }).type, 'error');
        assert.match(error.message, /x-spillway-max-wait/);
        return true;
      });
    }
    await assert.rejects(
      stack.openai.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'x' }] }, { headers: { 'x-spillway-max-wait': 'soon' } }),
      (error: unknown) => {
        assert.ok(error instanceof OpenAI.BadRequestError);
        assert.equal(error.type, 'invalid_request_error');
        return true;
      },
    );
  });
});

describe('headers forwarded upstream', () => {
  let upstream: Server;
  const seen: IncomingHttpHeaders[] = [];
  let stack: Stack;

  before(async () => {
    upstream = createServer((req, res) => {
      seen.push(req.headers);
      req.resume();
      req.on('end', () => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(
          JSON.stringify({
            id: 'chatcmpl-1',
            object: 'chat.completion',
            created: 1,
            model: 'gpt-4o-mini',
            choices: [{ index: 0, message: { role: 'assistant', content: 'hi' }, finish_reason: 'stop', logprobs: null }],
            usage: { prompt_tokens: 3, completion_tokens: 1, total_tokens: 4 },
          }),
        );
      });
    });
    await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}/v1`;
    stack = await startStack({
      config: () => ({
        server: { auth: { keys: ['client-key'] } },
        providers: { openai: { type: 'openai', base_url: url, keys: [{ id: 'oa', key: 'sk-operator' }], headers: { 'openai-organization': 'org-operator' } } },
        routes: { '*': { targets: [{ provider: 'openai' }] } },
      }),
    });
  });
  after(async () => {
    await stack.close();
    await new Promise<void>((resolve) => upstream.close(() => resolve()));
  });

  it("a client's openai-organization, openai-project, credentials and cookies do not reach the provider", async () => {
    const client = new OpenAI({
      baseURL: `${stack.gateway.url}/v1`,
      apiKey: 'client-key',
      organization: 'org-client',
      project: 'proj-client',
      maxRetries: 0,
      defaultHeaders: { cookie: 'session=secret', 'x-api-key': 'client-key' },
    });
    const answer = await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hello' }] });
    assert.equal(answer.choices[0]?.message.content, 'hi');
    const headers = seen.at(-1)!;
    assert.equal(headers['openai-organization'], 'org-operator', "the operator's configured organization is kept");
    assert.equal(headers['openai-project'], undefined);
    assert.equal(headers.authorization, 'Bearer sk-operator');
    assert.equal(headers.cookie, undefined);
    assert.equal(headers['x-api-key'], undefined);
  });
});
