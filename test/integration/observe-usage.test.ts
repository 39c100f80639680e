/**
 * Issue 6: every chat request lands in the SQLite usage log with its tokens and cost, and
 * `spillway usage` prints summaries by day, model, provider and client.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import OpenAI from 'openai';
import { openUsageDb, type UsageRow } from '../../src/observe/usage-log.js';
import { defaultConfig, startStack, type Stack } from '../support/stack.js';

const run = promisify(execFile);

describe('usage log', () => {
  let stack: Stack;
  let dataDir: string;
  let rows: UsageRow[];

  before(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'spillway-usage-'));
    stack = await startStack({
      sim: { latency: { ttftMs: 5 } },
      config: (simUrl, keys) => ({
        ...defaultConfig(simUrl, keys),
        server: { auth: { keys: ['other-team', 'client-key'] } },
        data_dir: dataDir,
        prices: { 'gpt-4o-mini': { input: 1, output: 2 } },
      }),
    });
    for (let i = 0; i < 3; i++) {
      await stack.anthropic.messages.create({ model: 'claude-haiku-4-5', max_tokens: 32, messages: [{ role: 'user', content: `Say hi #${i}` }] });
    }
    await stack.openai.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hello' }] });
    const other = new OpenAI({ baseURL: `${stack.gateway.url}/v1`, apiKey: 'other-team', maxRetries: 0 });
    await other.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hello from the other team' }] });
    // An invalid request is refused at ingress, before it is a chat request: not in the usage log.
    await assert.rejects(stack.anthropic.messages.create({ model: '', max_tokens: 8, messages: [{ role: 'user', content: 'x' }] }));
    await stack.close(); // flushes the log
    const db = openUsageDb(dataDir, { readonly: true });
    rows = db.prepare('SELECT * FROM usage ORDER BY id').all() as UsageRow[];
    db.close();
  });
  after(() => rmSync(dataDir, { recursive: true, force: true }));

  it('has one row per answered request, with client, route, provider, key, tokens and cost', () => {
    assert.equal(rows.length, 5);
    const served = rows.filter((row) => row.status === 200);
    assert.equal(served.length, 5);
    for (const row of served) {
      assert.ok(row.input_tokens! > 0 && row.output_tokens! > 0, `tokens in ${row.request_id}`);
      assert.ok(row.cost_usd! > 0);
      assert.equal(row.key_id, 'k1');
      assert.equal(row.attempts, 1);
      assert.ok(row.ts > Date.now() - 60_000);
    }
    const haiku = served.filter((row) => row.route === 'claude-haiku-4-5');
    assert.equal(haiku.length, 3);
    assert.deepEqual(new Set(haiku.map((row) => [row.surface, row.provider, row.model, row.client].join(' '))), new Set(['anthropic anthropic claude-haiku-4-5 client-1']));
    // claude-haiku-4-5 lists at $1 / $5 per million tokens.
    for (const row of haiku) assert.ok(Math.abs(row.cost_usd! - (row.input_tokens! * 1 + row.output_tokens! * 5) / 1e6) < 1e-12);
    const mini = served.filter((row) => row.model === 'gpt-4o-mini');
    assert.deepEqual(mini.map((row) => row.client).sort(), ['client-0', 'client-1']);
    // The config's price overrides the built-in one.
    for (const row of mini) assert.ok(Math.abs(row.cost_usd! - (row.input_tokens! * 1 + row.output_tokens! * 2) / 1e6) < 1e-12);
  });

  it('`spillway usage` prints summaries by day, model, provider and client', async () => {
    const { stdout } = await run(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'usage', '--data-dir', dataDir, '--since', 'all'], {
      cwd: new URL('../..', import.meta.url).pathname,
    });
    for (const title of ['By day (UTC)', 'By model', 'By provider', 'By client key']) assert.match(stdout, new RegExp(title.replace(/[()]/g, '\\$&')));
    const today = new Date().toISOString().slice(0, 10);
    const line = (start: string) => stdout.split('\n').find((l) => l.startsWith(start)) ?? '';
    assert.match(line(today), new RegExp(`^${today}\\s+${rows.length}\\s`));
    assert.match(line('claude-haiku-4-5'), /^claude-haiku-4-5\s+3\s+0\s/);
    assert.match(line('gpt-4o-mini'), /^gpt-4o-mini\s+2\s+0\s/);
    assert.match(line('client-0'), /^client-0\s+1\s/);
    assert.match(line('openai'), /^openai\s+2\s/);
    console.log(stdout);
  });

  it('`spillway usage` explains an empty data directory', async () => {
    const empty = mkdtempSync(join(tmpdir(), 'spillway-usage-empty-'));
    try {
      const { stdout } = await run(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'usage', '--data-dir', empty], { cwd: new URL('../..', import.meta.url).pathname });
      assert.match(stdout, /No usage log at .*usage\.sqlite yet/);
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
  });
});

describe('usage of batch requests', () => {
  it('is logged for the client key that created the batch', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'spillway-usage-batch-'));
    try {
      const stack = await startStack({
        config: (simUrl, keys) => ({ ...defaultConfig(simUrl, keys), server: { auth: { keys: ['other-team', 'client-key'] } }, data_dir: dataDir }),
      });
      const requests = ['one', 'two'].map((word) => ({
        custom_id: word,
        params: { model: 'claude-haiku-4-5', max_tokens: 16, messages: [{ role: 'user' as const, content: `Say ${word}` }] },
      }));
      const batch = await stack.anthropic.messages.batches.create({ requests });
      for (const deadline = Date.now() + 10_000; (await stack.anthropic.messages.batches.retrieve(batch.id)).processing_status !== 'ended'; ) {
        assert.ok(Date.now() < deadline, 'the batch ended');
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      await stack.close();
      const db = openUsageDb(dataDir, { readonly: true });
      const rows = db.prepare('SELECT * FROM usage ORDER BY id').all() as UsageRow[];
      db.close();
      assert.equal(rows.length, 2);
      assert.deepEqual(rows.map((row) => row.client), ['client-1', 'client-1']);
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
