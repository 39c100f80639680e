/**
 * Issue 16: a tenant's `models` holds on every surface and endpoint, and one tenant's batches,
 * Responses conversations and usage are its own. Two tenants, the official SDKs (Anthropic,
 * OpenAI, @google/genai) over real sockets against the simulator.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { join } from 'node:path';
import Anthropic from '@anthropic-ai/sdk';
import Database from 'better-sqlite3';
import OpenAI from 'openai';
import { usageReport } from '../../src/cli/usage.js';
import { loadGenAI } from '../support/clients.js';
import { defaultConfig, startStack, type Stack } from '../support/stack.js';

const { GoogleGenAI } = await loadGenAI();

describe('tenants: models on every surface, isolation of batches, conversations and usage', () => {
  let stack: Stack;
  before(async () => {
    stack = await startStack({
      config: (simUrl, keys) => {
        const base = defaultConfig(simUrl, keys);
        return {
          ...base,
          routes: { 'text-embedding-*': { targets: [{ provider: 'openai' }] }, ...base.routes },
          admin: { keys: ['sk-admin'] },
          tenants: {
            // ci may use the small models only; web may use anything.
            ci: { keys: ['sk-ci', 'sk-ci-2'], models: ['claude-haiku-*', 'gpt-4o-mini', 'text-embedding-3-small'] },
            web: { keys: ['sk-web'] },
          },
        };
      },
    });
  });
  after(() => stack.close());

  const anthropicAs = (apiKey: string) => new Anthropic({ baseURL: stack.gateway.url, apiKey, maxRetries: 0 });
  const openaiAs = (apiKey: string) => new OpenAI({ baseURL: `${stack.gateway.url}/v1`, apiKey, maxRetries: 0 });
  const geminiAs = (apiKey: string) => new GoogleGenAI({ apiKey, httpOptions: { baseUrl: stack.gateway.url, apiVersion: 'v1beta' } });
  const messages = [{ role: 'user' as const, content: 'hi' }];

  /** Refused with 403 in the SDK's own error class, naming the model, without reaching a provider. */
  async function refused(call: () => Promise<unknown>, model: string, check: (e: unknown) => boolean): Promise<void> {
    const before = stack.sim.stats().total.requests;
    await assert.rejects(call(), (e: unknown) => {
      assert.ok(check(e), `expected a 403 in the caller's shape, got ${String(e)}`);
      assert.match(String((e as Error).message), new RegExp(model.replace(/\./g, '\\.')));
      return true;
    });
    assert.equal(stack.sim.stats().total.requests, before, `${model}: a refused request reaches no provider`);
  }
  const anthropic403 = (e: unknown) => e instanceof Anthropic.PermissionDeniedError && (e.error as { error: { type: string } }).error.type === 'permission_error';
  const openai403 = (e: unknown) => e instanceof OpenAI.PermissionDeniedError && e.headers?.get('x-should-retry') === 'false';
  const gemini403 = (e: unknown) => (e as { status?: number }).status === 403 && /PERMISSION_DENIED/.test(String((e as Error).message));

  it("a model outside the tenant's `models` is 403 on every surface and endpoint; the same calls with an allowed model are served", async () => {
    const ci = anthropicAs('sk-ci');
    const ciOpenAI = openaiAs('sk-ci');
    const ciGemini = geminiAs('sk-ci');
    await refused(() => ci.messages.create({ model: 'claude-opus-4-8', max_tokens: 8, messages }), 'claude-opus-4-8', anthropic403);
    await refused(() => ci.messages.create({ model: 'claude-opus-4-8', max_tokens: 8, messages, stream: true }), 'claude-opus-4-8', anthropic403);
    await refused(() => ci.messages.countTokens({ model: 'claude-opus-4-8', messages }), 'claude-opus-4-8', anthropic403);
    await refused(() => ciOpenAI.chat.completions.create({ model: 'gpt-4o', messages }), 'gpt-4o', openai403);
    await refused(() => ciOpenAI.responses.create({ model: 'gpt-4o', input: 'hi' }), 'gpt-4o', openai403);
    await refused(() => ciOpenAI.embeddings.create({ model: 'text-embedding-3-large', input: 'hi' }), 'text-embedding-3-large', openai403);
    await refused(() => ciGemini.models.generateContent({ model: 'gemini-2.5-pro', contents: 'hi' }), 'gemini-2.5-pro', gemini403);
    await refused(async () => {
      for await (const _ of await ciGemini.models.generateContentStream({ model: 'gemini-2.5-pro', contents: 'hi' })) void _;
    }, 'gemini-2.5-pro', gemini403);
    await refused(() => ciGemini.models.countTokens({ model: 'gemini-2.5-pro', contents: 'hi' }), 'gemini-2.5-pro', gemini403);
    await refused(() => ciGemini.models.embedContent({ model: 'gemini-embedding-001', contents: 'hi' }), 'gemini-embedding-001', gemini403);
    await refused(() => ciGemini.models.get({ model: 'gemini-2.5-pro' }), 'gemini-2.5-pro', gemini403);

    // The allowed models, on the same endpoints.
    await ci.messages.create({ model: 'claude-haiku-4-5', max_tokens: 8, messages });
    assert.ok((await ci.messages.countTokens({ model: 'claude-haiku-4-5', messages })).input_tokens > 0);
    await ciOpenAI.chat.completions.create({ model: 'gpt-4o-mini', messages });
    await ciOpenAI.responses.create({ model: 'gpt-4o-mini', input: 'hi' });
    await ciOpenAI.embeddings.create({ model: 'text-embedding-3-small', input: 'hi' });
    assert.ok((await ciGemini.models.countTokens({ model: 'claude-haiku-4-5', contents: 'hi' })).totalTokens! > 0);
    // The model lists show the tenant what it may use.
    const listed = (await ciOpenAI.models.list()).data.map((m) => m.id);
    const everything = (await openaiAs('sk-web').models.list()).data.map((m) => m.id);
    assert.ok(listed.every((id) => /^(claude-haiku-.*|gpt-4o-mini|text-embedding-3-small)$/.test(id)), listed.join(', '));
    assert.ok(everything.length > listed.length, `web sees ${everything.join(', ')}; ci sees ${listed.join(', ')}`);
    // Another tenant may use them.
    await anthropicAs('sk-web').messages.create({ model: 'claude-opus-4-8', max_tokens: 8, messages });
  });

  it("a batch's requests for a model outside `models` are errored with permission_error, as the provider reports per-request errors; the others succeed", async () => {
    const ci = anthropicAs('sk-ci');
    const batch = await ci.messages.batches.create({
      requests: [
        { custom_id: 'allowed', params: { model: 'claude-haiku-4-5', max_tokens: 8, messages } },
        { custom_id: 'forbidden', params: { model: 'claude-opus-4-8', max_tokens: 8, messages } },
      ],
    });
    const ended = await waitEnded(ci, batch.id);
    assert.deepEqual({ succeeded: ended.request_counts.succeeded, errored: ended.request_counts.errored }, { succeeded: 1, errored: 1 });
    const results = await resultsOf(ci, batch.id);
    assert.equal(results.get('allowed')?.type, 'succeeded');
    const forbidden = results.get('forbidden');
    assert.equal(forbidden?.type, 'errored');
    const error = (forbidden as Anthropic.Messages.Batches.MessageBatchErroredResult).error as unknown as { error: { type: string; message: string } };
    assert.equal(error.error.type, 'permission_error');
    assert.match(error.error.message, /claude-opus-4-8/);
  });

  it("a tenant's batches are its own: any of its keys reaches them, another tenant's get, results, cancel and delete answer 404 as for an unknown id, and its list leaves them out", async () => {
    const ci = anthropicAs('sk-ci');
    const ci2 = anthropicAs('sk-ci-2');
    const web = anthropicAs('sk-web');
    const batch = await ci.messages.batches.create({ requests: [{ custom_id: 'one', params: { model: 'claude-haiku-4-5', max_tokens: 8, messages } }] });
    // The tenant's other key sees it (a key rotated in keeps the tenant's batches).
    assert.equal((await ci2.messages.batches.retrieve(batch.id)).id, batch.id);
    const unknown = 'msgbatch_0000000000000000000000000';
    for (const id of [batch.id, unknown]) {
      await assert.rejects(web.messages.batches.retrieve(id), Anthropic.NotFoundError);
      await assert.rejects(web.messages.batches.cancel(id), Anthropic.NotFoundError);
      await assert.rejects(web.messages.batches.results(id), Anthropic.NotFoundError);
      await assert.rejects(web.messages.batches.delete(id), Anthropic.NotFoundError);
    }
    const notFound = async (id: string) => {
      const response = await fetch(`${stack.gateway.url}/v1/messages/batches/${id}`, { headers: { 'x-api-key': 'sk-web', 'anthropic-version': '2023-06-01' } });
      return { status: response.status, type: ((await response.json()) as { error: { type: string } }).error.type };
    };
    assert.deepEqual(await notFound(batch.id), await notFound(unknown), 'another tenant cannot tell its batch from an unknown id');
    const webList = [];
    for await (const b of web.messages.batches.list()) webList.push(b.id);
    assert.ok(!webList.includes(batch.id));
    const ciList = [];
    for await (const b of ci2.messages.batches.list()) ciList.push(b.id);
    assert.ok(ciList.includes(batch.id));
    await waitEnded(ci, batch.id);
    assert.equal((await resultsOf(ci2, batch.id)).get('one')?.type, 'succeeded');
  });

  it("a tenant's Responses conversations are its own: another tenant's previous_response_id, GET and DELETE answer as for an unknown id", async () => {
    const ci = openaiAs('sk-ci');
    const web = openaiAs('sk-web');
    const first = await ci.responses.create({ model: 'gpt-4o-mini', input: 'Remember the word "teal".' });
    // Continued by the same tenant, with its other key.
    const next = await openaiAs('sk-ci-2').responses.create({ model: 'gpt-4o-mini', input: 'Which word?', previous_response_id: first.id });
    assert.equal(next.status, 'completed');
    assert.equal((await openaiAs('sk-ci-2').responses.retrieve(first.id)).id, first.id);

    const failure = async (call: () => Promise<unknown>) => {
      try {
        await call();
      } catch (e) {
        assert.ok(e instanceof OpenAI.APIError);
        return { status: e.status, message: e.message.replace(/resp_\w+/g, 'ID') };
      }
      assert.fail('expected a refusal');
    };
    const unknown = 'resp_0000000000000000000000000000';
    const continued = await failure(() => web.responses.create({ model: 'gpt-4o-mini', input: 'Which word?', previous_response_id: first.id }));
    assert.deepEqual(continued, await failure(() => web.responses.create({ model: 'gpt-4o-mini', input: 'Which word?', previous_response_id: unknown })));
    assert.equal(continued.status, 400);
    const got = await failure(() => web.responses.retrieve(first.id));
    assert.equal(got.status, 404);
    assert.deepEqual(got, await failure(() => web.responses.retrieve(unknown)));
    assert.equal((await failure(() => web.responses.delete(first.id))).status, 404);
    // Still there for its tenant after another tenant's DELETE.
    assert.equal((await ci.responses.retrieve(first.id)).id, first.id);
  });

  it('usage is per tenant: `spillway usage --by tenant` and the metrics count each tenant, batch requests with the tenant that sent the batch', async () => {
    stack.gateway.gateway.observability.usage!.flush();
    const report = usageReport({ dataDir: stack.gateway.gateway.config.data_dir, since: 'all', by: ['tenant'] });
    assert.match(report, /By tenant/);
    assert.match(report, /\bci\b/);
    assert.match(report, /\bweb\b/);
    const metrics = await (await fetch(`${stack.gateway.url}/metrics`, { headers: { authorization: 'Bearer sk-admin' } })).text();
    assert.match(metrics, /spillway_tenant_requests_total\{tenant="ci",status="403"\} [1-9]/);
    assert.match(metrics, /spillway_tenant_requests_total\{tenant="ci",status="200"\} [1-9]/);
    assert.match(metrics, /spillway_tenant_tokens_total\{tenant="web",direction="input"\} [1-9]/);
    assert.match(metrics, /spillway_tenant_cost_usd_total\{tenant="ci"\}/);
    assert.match(metrics, /spillway_tenant_queue_wait_seconds_count\{tenant="ci"\} [1-9]/);
    // The batch requests went through the request path as ci's: logged under ci, not as nobody's.
    const db = new Database(join(stack.gateway.gateway.config.data_dir, 'usage.sqlite'), { readonly: true });
    try {
      const rows = db.prepare("SELECT tenant, status, count(*) AS n FROM usage WHERE request_id LIKE 'req_spw_batch_%' GROUP BY tenant, status ORDER BY status").all();
      assert.deepEqual(rows, [
        { tenant: 'ci', status: 200, n: 2 },
        { tenant: 'ci', status: 403, n: 1 },
      ]);
    } finally {
      db.close();
    }
  });
});

async function waitEnded(client: Anthropic, id: string, timeoutMs = 15_000): Promise<Anthropic.Messages.Batches.MessageBatch> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const batch = await client.messages.batches.retrieve(id);
    if (batch.processing_status === 'ended') return batch;
    if (Date.now() > deadline) throw new Error(`batch ${id} still ${batch.processing_status} after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function resultsOf(client: Anthropic, id: string): Promise<Map<string, Anthropic.Messages.Batches.MessageBatchResult>> {
  const out = new Map<string, Anthropic.Messages.Batches.MessageBatchResult>();
  for await (const line of await client.messages.batches.results(id)) out.set(line.custom_id, line.result);
  return out;
}
