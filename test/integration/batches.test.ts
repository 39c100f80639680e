/**
 * The Message Batches API served by spillway, driven with the official Anthropic SDK against the
 * simulator: create, poll, results, cancel, list, delete, priority against interactive traffic,
 * the end-of-batch webhook, batches scoped to the client key that created them, and a batch file
 * written before batches had owners.
 */
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import Anthropic from '@anthropic-ai/sdk';
import Database from 'better-sqlite3';
import { BATCH_FILE } from '../../src/batch/sqlite-store.js';
import type { ConfigInput } from '../../src/config/schema.js';
import { startGateway, type RunningGateway } from '../../src/server/gateway.js';
import { defaultConfig, simKeys, startStack, type Stack } from '../support/stack.js';

const WEBHOOK_SECRET = 'whsec-batches-test';

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
  const signatures = new Map<string, { header: string | undefined; raw: string }>();
  let hookUrl = '';
  const hookServer = createServer((req: IncomingMessage, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      const hook = JSON.parse(raw) as { id: string };
      hooks.push(hook);
      signatures.set(hook.id, { header: req.headers['x-spillway-signature'] as string | undefined, raw });
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
          batches: { webhook_secret: WEBHOOK_SECRET, webhook_hosts: ['127.0.0.1'] },
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
    // Signed with the configured secret: the receiver recomputes the HMAC over "<t>.<body>".
    const { header, raw } = signatures.get(batch.id)!;
    const match = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(header ?? '');
    assert.ok(match, `x-spillway-signature: ${header}`);
    assert.ok(Math.abs(Number(match[1]) - Date.now() / 1000) < 60, 'a current timestamp');
    assert.equal(match[2], createHmac('sha256', WEBHOOK_SECRET).update(`${match[1]}.${raw}`).digest('hex'));
  });

  test('a batch webhook to a host not in batches.webhook_hosts is refused with 400 and no batch is made (no SSRF)', async () => {
    const before = await listedIds(stack.anthropic, 100);
    for (const url of ['http://localhost:6379/', 'http://169.254.169.254/latest/meta-data', 'http://127.0.0.1.nip.io/hook', 'file:///etc/passwd']) {
      await assert.rejects(
        stack.anthropic.messages.batches.create({ requests: requests(1, 'ssrf') }, { headers: { 'x-spillway-batch-webhook': url } }),
        (error: unknown) => {
          assert.ok(error instanceof Anthropic.BadRequestError, `${url}: ${String(error)}`);
          assert.match(error.message, /x-spillway-batch-webhook/);
          return true;
        },
      );
    }
    assert.deepEqual(await listedIds(stack.anthropic, 100), before);
  });
});

/** Every batch id a client sees, following the pages the SDK fetches. */
async function listedIds(client: Anthropic, limit: number): Promise<string[]> {
  const ids: string[] = [];
  for await (const batch of client.messages.batches.list({ limit })) ids.push(batch.id);
  return ids;
}

/** The status and error a call fails with, its batch id masked, so two failures can be compared whole. */
async function failureOf(call: Promise<unknown>, id: string): Promise<{ status: number | undefined; error: unknown }> {
  try {
    await call;
  } catch (error) {
    if (!(error instanceof Anthropic.APIError)) throw error;
    const body = error.error as { type?: string; error?: { type?: string; message?: string } } | undefined;
    return { status: error.status, error: { type: body?.type, error: { type: body?.error?.type, message: body?.error?.message?.replaceAll(id, '<id>') } } };
  }
  assert.fail(`expected the call on ${id} to fail`);
}

describe('message batches belong to the client key that created them', () => {
  const ALICE = 'sk-spillway-alice';
  const BOB = 'sk-spillway-bob';
  const keys = simKeys(1);
  const ownersDir = mkdtempSync(join(tmpdir(), 'spillway-batch-owners-'));
  const configFor = (simUrl: string, clientKeys: string[]): ConfigInput => ({
    ...defaultConfig(simUrl, keys),
    data_dir: ownersDir,
    usage: { enabled: false },
    server: { auth: { keys: clientKeys } },
  });
  let stack: Stack;
  /** The gateway started again with the key list reordered; closed instead of the stack's. */
  let restarted: RunningGateway | undefined;
  let alice: Anthropic;
  let bob: Anthropic;

  before(async () => {
    stack = await startStack({ sim: { keys, latency: { ttftMs: 20 } }, clientKey: ALICE, config: (simUrl) => configFor(simUrl, [ALICE, BOB]) });
    alice = stack.anthropic;
    bob = new Anthropic({ baseURL: stack.gateway.url, apiKey: BOB, maxRetries: 0 });
  });

  after(async () => {
    await (restarted ?? stack.gateway).close();
    await stack.sim.close();
    rmSync(ownersDir, { recursive: true, force: true });
  });

  test('two clients: each lists, retrieves, reads, cancels and deletes only its own batches, and both complete', async () => {
    const a1 = await alice.messages.batches.create({ requests: requests(3, 'alice-1') });
    const b1 = await bob.messages.batches.create({ requests: requests(3, 'bob-1') });
    const a2 = await alice.messages.batches.create({ requests: requests(3, 'alice-2') });

    // Pages of one: every page boundary of Alice's falls next to Bob's batch.
    assert.deepEqual(await listedIds(alice, 1), [a2.id, a1.id]);
    assert.deepEqual(await listedIds(bob, 1), [b1.id]);
    const first = await alice.messages.batches.list({ limit: 1 });
    assert.deepEqual([first.data.map((b) => b.id), first.has_more, first.first_id, first.last_id], [[a2.id], true, a2.id, a2.id]);
    const last = await alice.messages.batches.list({ limit: 1, after_id: a2.id });
    assert.deepEqual([last.data.map((b) => b.id), last.has_more, last.first_id, last.last_id], [[a1.id], false, a1.id, a1.id]);
    const newer = await alice.messages.batches.list({ limit: 5, before_id: a1.id });
    assert.deepEqual([newer.data.map((b) => b.id), newer.has_more], [[a2.id], false]);

    // Bob's batch, seen from Alice, answers exactly like an id that never existed.
    const unknown = await failureOf(alice.messages.batches.retrieve('msgbatch_spw_unknown'), 'msgbatch_spw_unknown');
    assert.deepEqual(unknown, { status: 404, error: { type: 'error', error: { type: 'not_found_error', message: 'message batch <id> not found' } } });
    assert.deepEqual(await failureOf(alice.messages.batches.retrieve(b1.id), b1.id), unknown);
    assert.deepEqual(await failureOf(alice.messages.batches.cancel(b1.id), b1.id), unknown);
    assert.deepEqual(await failureOf(alice.messages.batches.delete(b1.id), b1.id), unknown);
    assert.deepEqual(await failureOf(bob.messages.batches.retrieve(a1.id), a1.id), unknown);
    await assert.rejects(alice.messages.batches.retrieve(b1.id), Anthropic.NotFoundError);

    const endedB1 = await waitEnded(bob, b1.id);
    assert.equal(endedB1.cancel_initiated_at, null, "Alice's cancel did not reach Bob's batch");
    assert.deepEqual(endedB1.request_counts, { processing: 0, succeeded: 3, errored: 0, canceled: 0, expired: 0 });
    for (const id of [a1.id, a2.id]) assert.equal((await waitEnded(alice, id)).request_counts.succeeded, 3);

    // Results once there are some: the SDK's call, and the results URL fetched by hand.
    assert.deepEqual(await failureOf(alice.messages.batches.results(b1.id), b1.id), unknown);
    const raw = async (apiKey: string) => fetch(`${stack.gateway.url}/v1/messages/batches/${b1.id}/results`, { headers: { 'x-api-key': apiKey } });
    const foreign = await raw(ALICE);
    assert.equal(foreign.status, 404);
    assert.equal(((await foreign.json()) as { error: { type: string } }).error.type, 'not_found_error');
    const own = await raw(BOB);
    assert.equal(own.status, 200);
    await own.arrayBuffer();
    assert.deepEqual([...(await resultsOf(bob, b1.id)).keys()].sort(), requests(3, 'bob-1').map((r) => r.custom_id));
    assert.deepEqual([...(await resultsOf(alice, a1.id)).keys()].sort(), requests(3, 'alice-1').map((r) => r.custom_id));

    // Ended, so deletable: still not by Alice.
    assert.deepEqual(await failureOf(alice.messages.batches.delete(b1.id), b1.id), unknown);
    assert.equal((await bob.messages.batches.retrieve(b1.id)).id, b1.id);
    assert.deepEqual(await bob.messages.batches.delete(b1.id), { id: b1.id, type: 'message_batch_deleted' });
    assert.deepEqual(await listedIds(bob, 20), []);
    assert.deepEqual(await listedIds(alice, 20), [a2.id, a1.id]);
  });

  test('reordering server.auth.keys changes no one\'s batches', async () => {
    const mine = await alice.messages.batches.create({ requests: requests(1, 'alice-reorder') });
    const theirs = await bob.messages.batches.create({ requests: requests(1, 'bob-reorder') });
    await stack.gateway.close();
    restarted = await startGateway(configFor(stack.sim.url, [BOB, ALICE]), { port: 0, quiet: true });
    const aliceAgain = new Anthropic({ baseURL: restarted.url, apiKey: ALICE, maxRetries: 0 });
    const bobAgain = new Anthropic({ baseURL: restarted.url, apiKey: BOB, maxRetries: 0 });
    const aliceIds = await listedIds(aliceAgain, 20);
    assert.equal(aliceIds[0], mine.id);
    assert.ok(!aliceIds.includes(theirs.id));
    assert.deepEqual(await listedIds(bobAgain, 20), [theirs.id]);
    assert.equal((await waitEnded(aliceAgain, mine.id)).request_counts.succeeded, 1);
    await assert.rejects(aliceAgain.messages.batches.retrieve(theirs.id), Anthropic.NotFoundError);
  });
});

/** The batches file exactly as the version before owners created it. */
const SCHEMA_BEFORE_OWNERS = `
CREATE TABLE batches (
  seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE, processing_status TEXT NOT NULL, total INTEGER NOT NULL,
  created_at INTEGER NOT NULL, expires_at INTEGER NOT NULL, ended_at INTEGER, cancel_initiated_at INTEGER,
  webhook_url TEXT, webhook_sent_at INTEGER, headers TEXT NOT NULL
);
CREATE TABLE requests (
  batch_id TEXT NOT NULL, idx INTEGER NOT NULL, custom_id TEXT NOT NULL, state TEXT NOT NULL, params TEXT NOT NULL, result TEXT,
  PRIMARY KEY (batch_id, custom_id)
);
CREATE INDEX requests_state ON requests (batch_id, state, idx);
CREATE INDEX requests_running ON requests (state) WHERE state = 'running';
`;

test('a batches file from before owners opens, and its batches are listed, read and joined by new ones in open mode', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'spillway-batch-upgrade-'));
  const oldId = 'msgbatch_spw_from_before_owners';
  const now = Date.now();
  const db = new Database(join(dir, BATCH_FILE));
  db.exec(SCHEMA_BEFORE_OWNERS);
  db.prepare(`INSERT INTO batches (id, processing_status, total, created_at, expires_at, ended_at, headers) VALUES (?, 'ended', 2, ?, ?, ?, ?)`).run(
    oldId, now - 60_000, now + 86_340_000, now - 30_000, '{"anthropic-version":"2023-06-01"}',
  );
  const message = {
    id: 'msg_old', type: 'message', role: 'assistant', model: 'claude-sonnet-4-6', content: [{ type: 'text', text: 'from before' }],
    stop_reason: 'end_turn', stop_sequence: null, usage: { input_tokens: 3, output_tokens: 2 },
  };
  const insert = db.prepare(`INSERT INTO requests (batch_id, idx, custom_id, state, params, result) VALUES (?, ?, ?, ?, '{}', ?)`);
  insert.run(oldId, 0, 'old-0', 'succeeded', JSON.stringify({ type: 'succeeded', message }));
  insert.run(oldId, 1, 'old-1', 'canceled', JSON.stringify({ type: 'canceled' }));
  db.close();

  const stack = await startStack({ config: (simUrl, keys) => ({ ...defaultConfig(simUrl, keys), data_dir: dir, usage: { enabled: false } }) });
  try {
    assert.deepEqual(await listedIds(stack.anthropic, 20), [oldId]);
    const old = await stack.anthropic.messages.batches.retrieve(oldId);
    assert.equal(old.processing_status, 'ended');
    assert.deepEqual(old.request_counts, { processing: 0, succeeded: 1, errored: 0, canceled: 1, expired: 0 });
    const results = await resultsOf(stack.anthropic, oldId);
    assert.deepEqual([...results.values()].map((r) => r.type), ['succeeded', 'canceled']);

    const fresh = await stack.anthropic.messages.batches.create({ requests: requests(2, 'after-upgrade') });
    assert.equal((await waitEnded(stack.anthropic, fresh.id)).request_counts.succeeded, 2);
    assert.deepEqual(await listedIds(stack.anthropic, 1), [fresh.id, oldId]);
  } finally {
    await stack.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
