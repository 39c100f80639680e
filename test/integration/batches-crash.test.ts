/**
 * Durability: spillway is SIGKILLed in the middle of a 1,000-request batch and started again on
 * the same data directory. The batch still ends with exactly one result per custom_id, and no
 * request that had been recorded as succeeded before the kill is sent upstream again.
 *
 * A small recording proxy sits between spillway and the simulator and notes, per custom_id, every
 * request it forwards and every 200 it returns.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import Anthropic from '@anthropic-ai/sdk';
import Database from 'better-sqlite3';
import { startSimulator, type Simulator } from '../../src/sim/index.js';
import { simKeys } from '../support/stack.js';

const TOTAL = 1000;
const root = join(import.meta.dirname, '..', '..');
const dir = mkdtempSync(join(tmpdir(), 'spillway-batch-crash-'));
const dataDir = join(dir, 'data');

interface Recording {
  /** Which process sent it: 1 before the kill, 2 after. */
  phase: 1 | 2;
  sentAfterKill: Set<string>;
  succeeded: Map<string, number>;
  okCount: number;
}

const recording: Recording = { phase: 1, sentAfterKill: new Set(), succeeded: new Map(), okCount: 0 };

function customIdOf(body: string): string {
  try {
    const parsed = JSON.parse(body) as { messages?: Array<{ content?: unknown }> };
    const content = parsed.messages?.[0]?.content;
    return typeof content === 'string' ? content.replace(/^crash item /, '') : '?';
  } catch {
    return '?';
  }
}

function startProxy(target: string): Promise<Server> {
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', async () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const id = customIdOf(body);
      if (recording.phase === 2) recording.sentAfterKill.add(id);
      const headers: Record<string, string> = {};
      for (const [name, value] of Object.entries(req.headers)) {
        if (typeof value === 'string' && name !== 'host' && name !== 'content-length' && name !== 'connection') headers[name] = value;
      }
      try {
        const upstream = await fetch(target + (req.url ?? '/'), { method: req.method, headers, body: req.method === 'POST' ? body : undefined });
        const text = await upstream.text();
        if (upstream.status === 200) {
          recording.succeeded.set(id, (recording.succeeded.get(id) ?? 0) + 1);
          recording.okCount += 1;
        }
        const out: Record<string, string> = {};
        upstream.headers.forEach((value, name) => {
          if (name !== 'content-length' && name !== 'content-encoding' && name !== 'transfer-encoding' && name !== 'connection') out[name] = value;
        });
        res.writeHead(upstream.status, out);
        res.end(text);
      } catch {
        res.destroy();
      }
    });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

interface Child {
  process: ChildProcess;
  url: string;
}

function startSpillway(configFile: string): Promise<Child> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'start', '--config', configFile, '--port', '0'], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    const timer = setTimeout(() => reject(new Error(`spillway did not start:\n${out}\n${err}`)), 15_000);
    child.stderr!.on('data', (c: Buffer) => (err += c.toString()));
    child.stdout!.on('data', (c: Buffer) => {
      out += c.toString();
      const match = /listening on (http:\/\/\S+)/.exec(out);
      if (match) {
        clearTimeout(timer);
        resolve({ process: child, url: match[1]! });
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`spillway exited with ${code}:\n${out}\n${err}`));
    });
  });
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

let sim: Simulator;
let proxy: Server;
const children: ChildProcess[] = [];

before(async () => {
  // 40 requests at a time, 150 ms each: 1,000 requests take about 4 s.
  sim = await startSimulator({ keys: simKeys(1), latency: { ttftMs: 150 } });
  proxy = await startProxy(sim.url);
});

after(async () => {
  for (const child of children) {
    child.kill('SIGKILL');
    await exited(child);
  }
  await new Promise<void>((resolve) => proxy.close(() => resolve()));
  await sim.close();
  rmSync(dir, { recursive: true, force: true });
});

test('SIGKILL mid-batch: after a restart, exactly one result per custom_id and nothing succeeded is sent again', async () => {
  const proxyUrl = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
  const configFile = join(dir, 'spillway.json');
  writeFileSync(
    configFile,
    JSON.stringify({
      providers: { anthropic: { type: 'anthropic', base_url: proxyUrl, keys: [{ id: 'k1', key: 'sk-sim-1', limits: { rpm: 1_000_000, concurrency: 40 } }] } },
      routes: { '*': { targets: [{ provider: 'anthropic' }] } },
      data_dir: dataDir,
      usage: { enabled: false },
    }),
  );

  const first = await startSpillway(configFile);
  children.push(first.process);
  const client = new Anthropic({ baseURL: first.url, apiKey: 'client', maxRetries: 0 });
  const ids = Array.from({ length: TOTAL }, (_, i) => `c-${String(i).padStart(4, '0')}`);
  const batch = await client.messages.batches.create({
    requests: ids.map((id) => ({ custom_id: id, params: { model: 'claude-sonnet-4-6', max_tokens: 16, messages: [{ role: 'user', content: `crash item ${id}` }] } })),
  });

  // Kill once about a third has been answered upstream.
  const deadline = Date.now() + 15_000;
  while (recording.okCount < TOTAL / 3) {
    assert.ok(Date.now() < deadline, 'the batch made no progress');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  first.process.kill('SIGKILL');
  await exited(first.process);
  recording.phase = 2;

  // What the killed process had recorded as succeeded: these must never go upstream again.
  const db = new Database(join(dataDir, 'batches.sqlite'), { readonly: true });
  const recorded = new Set(
    (db.prepare(`SELECT custom_id FROM requests WHERE batch_id = ? AND state = 'succeeded'`).all(batch.id) as Array<{ custom_id: string }>).map(
      (row) => row.custom_id,
    ),
  );
  db.close();
  assert.ok(recorded.size > 0 && recorded.size < TOTAL, `${recorded.size} recorded as succeeded at the kill`);

  const second = await startSpillway(configFile);
  children.push(second.process);
  const client2 = new Anthropic({ baseURL: second.url, apiKey: 'client', maxRetries: 0 });
  let ended = await client2.messages.batches.retrieve(batch.id);
  while (ended.processing_status !== 'ended') {
    assert.ok(Date.now() < deadline + 10_000, `batch still ${ended.processing_status}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
    ended = await client2.messages.batches.retrieve(batch.id);
  }
  assert.deepEqual(ended.request_counts, { processing: 0, succeeded: TOTAL, errored: 0, canceled: 0, expired: 0 });

  const seen = new Map<string, number>();
  for await (const line of await client2.messages.batches.results(batch.id)) {
    seen.set(line.custom_id, (seen.get(line.custom_id) ?? 0) + 1);
    assert.equal(line.result.type, 'succeeded');
  }
  assert.equal(seen.size, TOTAL, 'one result per custom_id');
  assert.deepEqual([...seen.keys()].sort(), ids);
  assert.ok([...seen.values()].every((n) => n === 1), 'no custom_id appears twice');

  const resent = [...recorded].filter((id) => recording.sentAfterKill.has(id));
  assert.deepEqual(resent, [], 'requests recorded as succeeded were sent upstream again');
  for (const id of recorded) assert.equal(recording.succeeded.get(id), 1, `${id} answered upstream once`);
  // Everything else was answered after the restart (some of it possibly also just before the kill).
  for (const id of ids) assert.ok((recording.succeeded.get(id) ?? 0) >= 1, `${id} answered upstream`);
  const twice = ids.filter((id) => (recording.succeeded.get(id) ?? 0) > 1).length;
  console.log(`recorded at kill: ${recorded.size}; answered upstream twice (in flight at the kill): ${twice}; sent after restart: ${recording.sentAfterKill.size}`);

  second.process.kill('SIGTERM');
  await exited(second.process);
});
