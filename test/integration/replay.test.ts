/**
 * Issue 18, replay: with prompt capture on, N requests through the gateway (Anthropic and OpenAI
 * clients) are kept beside the usage log; `spillway replay --from usage --since 1d --route X
 * --candidate provider/model` resends them to a candidate on its own simulator and reports N
 * scored pairs, its agreement matching what the two simulators say. A body over max_bytes is not
 * kept. With the default config, no prompt text is stored at all.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import Anthropic from '@anthropic-ai/sdk';
import Database from 'better-sqlite3';
import OpenAI from 'openai';
import type { ConfigInput } from '../../src/config/schema.js';
import type { ReplayReport } from '../../src/pipeline/replay.js';
import { startGateway, type RunningGateway } from '../../src/server/gateway.js';
import { startSimulator, type Simulator } from '../../src/sim/index.js';
import { simKeys } from '../support/stack.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const N = 12;
const MAX_BYTES = 4_000;

function runCli(args: string[]): Promise<{ code: number | null; output: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  return new Promise((resolve) => child.on('exit', (code) => resolve({ code, output })));
}

function config(primaryUrl: string, candidateUrl: string, dataDir: string, capture: boolean): ConfigInput {
  const [k1, k2] = simKeys(2);
  return {
    data_dir: dataDir,
    cache: { exact: { enabled: false } },
    ...(capture ? { usage: { capture: { prompts: true, max_bytes: MAX_BYTES, ttl: '1d' } } } : {}),
    providers: {
      anthropic: { type: 'anthropic', base_url: primaryUrl, keys: [{ id: k1!.id, key: k1!.key, limits: k1!.limits }] },
      vendor: { type: 'anthropic', base_url: candidateUrl, keys: [{ id: k2!.id, key: k2!.key, limits: k2!.limits }] },
    },
    routes: { '*': { targets: [{ provider: 'anthropic' }] } },
  };
}

/** Rows of the prompts table in usage.sqlite (0 when it was never created). */
function storedPrompts(dataDir: string): Array<{ body: string; request_id: string }> {
  const db = new Database(join(dataDir, 'usage.sqlite'), { readonly: true });
  try {
    const exists = db.prepare(`SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'prompts'`).get();
    return exists ? (db.prepare('SELECT body, request_id FROM prompts').all() as Array<{ body: string; request_id: string }>) : [];
  } finally {
    db.close();
  }
}

describe('replay of captured prompts', () => {
  let primary: Simulator;
  let candidate: Simulator;
  let capturing: RunningGateway;
  let plain: RunningGateway;
  const dirs = [mkdtempSync(join(tmpdir(), 'spillway-replay-')), mkdtempSync(join(tmpdir(), 'spillway-replay-off-'))];

  before(async () => {
    primary = await startSimulator({ keys: simKeys(2) });
    // Always 30 words: the pairs agree only where the primary's answer also came to 30 words.
    candidate = await startSimulator({ keys: simKeys(2), outputTokens: 30 });
    capturing = await startGateway(config(primary.url, candidate.url, dirs[0]!, true), { port: 0, quiet: true });
    plain = await startGateway(config(primary.url, candidate.url, dirs[1]!, false), { port: 0, quiet: true });
  });
  after(async () => {
    await capturing?.close();
    await plain?.close();
    await primary?.close();
    await candidate?.close();
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  it(`capture on: ${N} requests, replayed against a candidate, ${N} scored pairs; an oversized body is not kept`, async () => {
    const anthropic = new Anthropic({ baseURL: capturing.url, apiKey: 'client', maxRetries: 0 });
    const openai = new OpenAI({ baseURL: `${capturing.url}/v1`, apiKey: 'client', maxRetries: 0 });
    const questions = Array.from({ length: N }, (_, i) => `replay question ${i}`);
    await Promise.all(
      questions.map(async (content, i) => {
        if (i % 3 === 2) await openai.chat.completions.create({ model: 'claude-sonnet-4-6', max_tokens: 30, messages: [{ role: 'user', content }] });
        else if (i % 3 === 1) for await (const event of await anthropic.messages.create({ model: 'claude-sonnet-4-6', max_tokens: 30, stream: true, messages: [{ role: 'user', content }] })) void event;
        else await anthropic.messages.create({ model: 'claude-sonnet-4-6', max_tokens: 30, messages: [{ role: 'user', content }] });
      }),
    );
    await anthropic.messages.create({ model: 'claude-sonnet-4-6', max_tokens: 30, messages: [{ role: 'user', content: `too large ${'x'.repeat(MAX_BYTES)}` }] });
    const before = candidate.stats().keys.k2?.ok ?? 0;

    const cli = await runCli(['replay', '--from', 'usage', '--since', '1d', '--route', '*', '--candidate', 'vendor/vendor-large', '--url', capturing.url, '--json']);
    assert.equal(cli.code, 0, cli.output);
    const report = JSON.parse(cli.output) as ReplayReport;
    assert.equal(report.prompts, N, 'every captured prompt, and not the oversized one');
    assert.equal(report.pairs, N);
    assert.equal(report.failed, 0);
    assert.equal(report.candidate, 'vendor/vendor-large');
    assert.equal((candidate.stats().keys.k2?.ok ?? 0) - before, N, 'the candidate received each prompt once');
    assert.equal(capturing.gateway.capture.tooLarge, 1);
    assert.ok(report.interval && report.interval[0] <= report.agreement! && report.agreement! <= report.interval[1]);
    assert.ok(report.latency && report.latency.candidateMeanMs > 0 && report.latency.primaryMeanMs > 0);
    // The candidate's answers are exact where the primary's also had 30 words, cut otherwise.
    assert.ok(report.exactMatches > 0 && report.exactMatches < N, `some pairs exact, some not (${report.exactMatches}/${N})`);
    assert.ok(report.worst.length > 0 || report.agreed === N);
    const stored = storedPrompts(dirs[0]!);
    assert.equal(stored.length, N);
    for (const question of questions) assert.ok(stored.some((row) => row.body.includes(question)), `${question} was captured`);

    const text = await runCli(['replay', '--route', '*', '--candidate', 'vendor/vendor-large', '--url', capturing.url, '--limit', '3']);
    assert.equal(text.code, 0, text.output);
    assert.match(text.output, /Replay of 3 captured prompts against vendor\/vendor-large/);
    assert.match(text.output, /agreement +\d+(\.\d)?% \(\d\/3; 95% interval/);

    const unknown = await runCli(['replay', '--candidate', 'nobody/model', '--url', capturing.url]);
    assert.notEqual(unknown.code, 0);
    assert.match(unknown.output, /unknown provider "nobody"/);
  });

  it('capture off by default: no prompt text is stored, a replay finds nothing', async () => {
    const anthropic = new Anthropic({ baseURL: plain.url, apiKey: 'client', maxRetries: 0 });
    for (let i = 0; i < 3; i++) await anthropic.messages.create({ model: 'claude-sonnet-4-6', max_tokens: 8, messages: [{ role: 'user', content: `secret question ${i}` }] });
    const replayed = (await (
      await fetch(`${plain.url}/admin/replay`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ candidate: 'vendor/vendor-large' }) })
    ).json()) as ReplayReport;
    assert.equal(replayed.prompts, 0);
    assert.deepEqual(storedPrompts(dirs[1]!), []);
  });
});
