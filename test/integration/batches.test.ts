/**
 * The Message Batches API served by spillway, driven with the official Anthropic SDK against the
 * simulator: create, poll, results, cancel, list, delete, priority against interactive traffic and
 * the end-of-batch webhook.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type Anthropic from '@anthropic-ai/sdk';
import { defaultConfig, simKeys, startStack, type Stack } from '../support/stack.js';

type BatchRequest = Anthropic.Messages.Batches.BatchCreateParams.Request;

const dataDir = mkdtempSync(join(tmpdir(), 'spillway-batches-'));

function requests(count: number, prefix: string): BatchRequest[] {
  return Array.from({ length: count }, (_, i) => ({
    custom_id: `${prefix}-${i}`,
    params: { model: 'claude-sonnet-4-6', max_tokens: 32, messages: [{ role: 'user' as const, content: `${prefix} question number ${i}` }] },
  }));
}

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
  for await (const line of await client.messages.batches.results(id)) {
    assert.ok(!out.has(line.custom_id), `custom_id ${line.custom_id} appears twice`);
    out.set(line.custom_id, line.result);
  }
  return out;
}

describe('message batches', () => {
  let stack: Stack;
  const hooks: unknown[] = [];
  let hookUrl = '';
  const hookServer = createServer((req: IncomingMessage, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      hooks.push(JSON.parse(Buffer.concat(chunks).toString('utf8')));
      res.end('ok');
    });
  });

  before(async () => {
    await new Promise<void>((resolve) => hookServer.listen(0, '127.0.0.1', resolve));
    hookUrl = `http://127.0.0.1:${(hookServer.address() as AddressInfo).port}/hook`;
    // Four upstream requests at a time, 40 ms each: a 100-request batch drains in about a second.
    const keys = simKeys(1);
    stack = await startStack({
      sim: { keys, latency: { ttftMs: 40 } },
      config: (simUrl) => {
        const config = defaultConfig(simUrl, keys);
        const limited = keys.map(({ id, key }) => ({ id, key, limits: { rpm: 100_000, concurrency: 4 } }));
        return {
          ...config,
          providers: { ...config.providers, anthropic: { type: 'anthropic', base_url: simUrl, keys: limited } },
          data_dir: dataDir,
          usage: { enabled: false },
        };
      },
    });
  });

  after(async () => {
    await stack.close();
    await new Promise<void>((resolve) => hookServer.close(() => resolve()));
    rmSync(dataDir, { recursive: true, force: true });
  });

  test('create, poll until ended, one result per custom_id with the answers the provider gives', async () => {
    const batch = await stack.anthropic.messages.batches.create({ requests: requests(20, 'basic') });
    assert.match(batch.id, /^msgbatch_/);
    assert.equal(batch.type, 'message_batch');
    assert.equal(batch.processing_status, 'in_progress');
    assert.deepEqual(batch.request_counts, { processing: 20, succeeded: 0, errored: 0, canceled: 0, expired: 0 });
    assert.equal(batch.results_url, null);

    const ended = await waitEnded(stack.anthropic, batch.id);
    assert.deepEqual(ended.request_counts, { processing: 0, succeeded: 20, errored: 0, canceled: 0, expired: 0 });
    assert.ok(ended.ended_at !== null && ended.results_url !== null);

    const results = await resultsOf(stack.anthropic, batch.id);
    assert.deepEqual([...results.keys()].sort(), requests(20, 'basic').map((r) => r.custom_id).sort());
    for (const index of [0, 7, 19]) {
      const result = results.get(`basic-${index}`)!;
      assert.equal(result.type, 'succeeded');
      const direct = await stack.direct.messages.create({
        model: 'claude-sonnet-4-6',
        max_tokens: 32,
        messages: [{ role: 'user', content: `basic question number ${index}` }],
      });
      assert.deepEqual(result.type === 'succeeded' && result.message.content, direct.content);
    }
  });

  test('a request the provider rejects is errored, the others succeed', async () => {
    const reqs = requests(3, 'mixed');
    // The simulator answers 400 to a tool_choice naming a tool that is not offered.
    reqs[1] = {
      custom_id: 'mixed-bad',
      params: {
        model: 'claude-sonnet-4-6',
        max_tokens: 8,
        messages: [{ role: 'user', content: 'hi' }],
        tools: [{ name: 'lookup', input_schema: { type: 'object' } }],
        tool_choice: { type: 'tool', name: 'missing' },
      },
    };
    const batch = await stack.anthropic.messages.batches.create({ requests: reqs });
    const ended = await waitEnded(stack.anthropic, batch.id);
    const results = await resultsOf(stack.anthropic, batch.id);
    assert.equal(results.size, 3);
    const bad = results.get('mixed-bad')!;
    assert.equal(bad.type, 'errored');
    assert.equal(bad.type === 'errored' && bad.error.type, 'error');
    assert.equal(bad.type === 'errored' && bad.error.error.type, 'invalid_request_error');
    assert.equal(ended.request_counts.errored, 1);
    assert.equal(ended.request_counts.succeeded, 2);
  });

  test('a request routed to an OpenAI provider comes back as an Anthropic message', async () => {
    const batch = await stack.anthropic.messages.batches.create({
      requests: [{ custom_id: 'cross', params: { model: 'gpt-4o-mini', max_tokens: 16, messages: [{ role: 'user', content: 'translate me' }] } }],
    });
    await waitEnded(stack.anthropic, batch.id);
    const result = (await resultsOf(stack.anthropic, batch.id)).get('cross')!;
    assert.equal(result.type, 'succeeded');
    if (result.type !== 'succeeded') return;
    assert.equal(result.message.type, 'message');
    assert.equal(result.message.role, 'assistant');
    assert.equal(result.message.content[0]?.type, 'text');
    assert.ok(result.message.usage.output_tokens > 0);
  });

  test('invalid batches are refused whole with Anthropic errors', async () => {
    await assert.rejects(
      stack.anthropic.messages.batches.create({ requests: [...requests(1, 'dup'), ...requests(1, 'dup')] }),
      (error: InstanceType<typeof Anthropic.APIError>) => error.status === 400 && /used twice/.test(error.message),
    );
    await assert.rejects(
      stack.anthropic.messages.batches.create({ requests: [{ custom_id: 'x', params: { model: 'm', messages: [{ role: 'user', content: 'hi' }] } as never }] }),
      (error: InstanceType<typeof Anthropic.APIError>) => error.status === 400 && /requests\.0\.params\.max_tokens/.test(error.message),
    );
    await assert.rejects(stack.anthropic.messages.batches.retrieve('msgbatch_nope'), (error: InstanceType<typeof Anthropic.APIError>) => error.status === 404);
  });

  test('cancel: pending requests are canceled, the batch ends, results say so', async () => {
    const batch = await stack.anthropic.messages.batches.create({ requests: requests(200, 'cancel') });
    await new Promise((resolve) => setTimeout(resolve, 150));
    const canceling = await stack.anthropic.messages.batches.cancel(batch.id);
    assert.ok(['canceling', 'ended'].includes(canceling.processing_status));
    assert.ok(canceling.cancel_initiated_at !== null);
    const ended = await waitEnded(stack.anthropic, batch.id);
    const counts = ended.request_counts;
    assert.equal(counts.succeeded + counts.canceled + counts.errored, 200);
    assert.ok(counts.canceled > 100, `canceled ${counts.canceled}`);
    assert.ok(counts.succeeded > 0, 'requests already running finish');
    const results = await resultsOf(stack.anthropic, batch.id);
    assert.equal(results.size, 200);
    assert.equal([...results.values()].filter((r) => r.type === 'canceled').length, counts.canceled);
  });

  test('list pages newest first; delete only after the batch ended', async () => {
    const a = await stack.anthropic.messages.batches.create({ requests: requests(1, 'list-a') });
    const b = await stack.anthropic.messages.batches.create({ requests: requests(1, 'list-b') });
    const firstPage = await stack.anthropic.messages.batches.list({ limit: 1 });
    assert.deepEqual(firstPage.data.map((x) => x.id), [b.id]);
    assert.equal(firstPage.has_more, true);
    const ids: string[] = [];
    for await (const batch of stack.anthropic.messages.batches.list({ limit: 2 })) ids.push(batch.id);
    assert.equal(ids[0], b.id);
    assert.equal(ids[1], a.id);
    assert.equal(new Set(ids).size, ids.length);

    const long = await stack.anthropic.messages.batches.create({ requests: requests(50, 'undeletable') });
    await assert.rejects(stack.anthropic.messages.batches.delete(long.id), (error: InstanceType<typeof Anthropic.APIError>) => error.status === 400);
    await stack.anthropic.messages.batches.cancel(long.id);
    await waitEnded(stack.anthropic, long.id);
    await waitEnded(stack.anthropic, a.id);
    const deleted = await stack.anthropic.messages.batches.delete(a.id);
    assert.deepEqual(deleted, { id: a.id, type: 'message_batch_deleted' });
    await assert.rejects(stack.anthropic.messages.batches.retrieve(a.id), (error: InstanceType<typeof Anthropic.APIError>) => error.status === 404);
  });

  test('interactive requests sent while a batch drains go first', async () => {
    const batch = await stack.anthropic.messages.batches.create({ requests: requests(100, 'busy') });
    await new Promise((resolve) => setTimeout(resolve, 200));
    const waits: number[] = [];
    for (let i = 0; i < 5; i++) {
      const { response } = await stack.anthropic.messages
        .create(
          { model: 'claude-sonnet-4-6', max_tokens: 16, messages: [{ role: 'user', content: `interactive ${i}` }] },
          { headers: { 'x-spillway-cache': 'no-store' } },
        )
        .withResponse();
      waits.push(Number(response.headers.get('x-spillway-queue-ms')));
    }
    const during = await stack.anthropic.messages.batches.retrieve(batch.id);
    assert.equal(during.processing_status, 'in_progress', 'the batch was still draining');
    // A free slot comes every ~10 ms (4 slots, 40 ms each); 96+ batch requests wait behind it.
    for (const wait of waits) assert.ok(wait < 150, `interactive queue waits ${waits.join(', ')} ms`);
    await waitEnded(stack.anthropic, batch.id);
  });

  test('the webhook receives the batch object when it ends', async () => {
    const batch = await stack.anthropic.messages.batches.create(
      { requests: requests(3, 'hook') },
      { headers: { 'x-spillway-batch-webhook': hookUrl } },
    );
    await waitEnded(stack.anthropic, batch.id);
    const deadline = Date.now() + 5000;
    while (!hooks.some((h) => (h as { id: string }).id === batch.id) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    const hook = hooks.find((h) => (h as { id: string }).id === batch.id) as Anthropic.Messages.Batches.MessageBatch | undefined;
    assert.ok(hook, 'webhook POST received');
    assert.equal(hook.processing_status, 'ended');
    assert.equal(hook.request_counts.succeeded, 3);
    assert.ok(hook.results_url?.endsWith(`/v1/messages/batches/${batch.id}/results`));
    assert.equal(hooks.filter((h) => (h as { id: string }).id === batch.id).length, 1);
  });
});
