import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { openUsageDb, summarize, UsageLog } from '../../src/observe/usage-log.js';
import type { RequestRecord } from '../../src/observe/observer.js';

const record = (i: number, tenant: string | undefined, clientKeyId: string | undefined, costUsd: number): RequestRecord => ({
  requestId: `r${i}`,
  startedAt: Date.now(),
  surface: 'anthropic',
  status: 200,
  stream: false,
  cache: 'miss',
  queueMs: 0,
  attempts: 1,
  durationMs: 5,
  model: 'claude-sonnet-4-6',
  costUsd,
  ...(tenant ? { tenant } : {}),
  ...(clientKeyId ? { clientKeyId } : {}),
});

describe('usage by tenant', () => {
  it("sums a tenant's keys together; a key of server.auth.keys is a tenant of its own", () => {
    const dir = mkdtempSync(join(tmpdir(), 'spillway-usage-'));
    const log = new UsageLog(dir);
    log.request(record(1, 'ci', 'ci-0', 1));
    log.request(record(2, 'ci', 'ci-1', 2));
    log.request(record(3, 'client-0', 'client-0', 0.5));
    log.close();
    const db = openUsageDb(dir, { readonly: true });
    const rows = summarize(db, 'tenant').map((row) => [row.group, row.requests, row.costUsd]);
    db.close();
    assert.deepEqual(rows, [['ci', 2, 3], ['client-0', 1, 0.5]]);
  });

  it('a usage file from before tenants gains the column, and its rows group by client key', () => {
    const dir = mkdtempSync(join(tmpdir(), 'spillway-usage-'));
    const old = new Database(join(dir, 'usage.sqlite'));
    old.exec(`CREATE TABLE usage (id INTEGER PRIMARY KEY, ts INTEGER NOT NULL, request_id TEXT NOT NULL, client TEXT, surface TEXT NOT NULL, route TEXT, provider TEXT, model TEXT, key_id TEXT, input_tokens INTEGER, output_tokens INTEGER, cost_usd REAL, cache TEXT NOT NULL, queue_ms REAL NOT NULL, attempts INTEGER NOT NULL, status INTEGER NOT NULL, stream INTEGER NOT NULL, duration_ms REAL NOT NULL)`);
    old.prepare(`INSERT INTO usage (ts, request_id, client, surface, cache, queue_ms, attempts, status, stream, duration_ms, cost_usd) VALUES (?, 'old', 'client-3', 'anthropic', 'miss', 0, 1, 200, 0, 1, 0.25)`).run(Date.now());
    const readonly = new Database(join(dir, 'usage.sqlite'), { readonly: true });
    assert.deepEqual(summarize(readonly, 'tenant').map((row) => row.group), ['client-3']);
    readonly.close();
    old.close();
    const log = new UsageLog(dir);
    log.request(record(1, 'ci', 'ci-0', 1));
    log.close();
    const db = openUsageDb(dir, { readonly: true });
    assert.deepEqual(summarize(db, 'tenant').map((row) => row.group), ['ci', 'client-3']);
    db.close();
  });
});
