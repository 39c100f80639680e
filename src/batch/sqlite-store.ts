/**
 * The default BatchStore: `<data_dir>/batches.sqlite` through better-sqlite3, in WAL mode.
 *
 * Each state change is one transaction, so a SIGKILL leaves either the old state or the new one.
 * WAL with synchronous=NORMAL keeps every committed transaction across a process crash (only a
 * power loss may drop the last few), at a fraction of the cost of an fsync per result.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { emptyCounts, placeholderResult, type BatchRecord, type ProcessingStatus, type RequestState, type StateCounts } from './shape.js';
import type { BatchStore, ClaimedRequest, FinalState, ListOptions, NewRequest } from './store.js';

export const BATCH_FILE = 'batches.sqlite';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS batches (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  id TEXT NOT NULL UNIQUE,
  owner TEXT NOT NULL DEFAULT '',       -- hash of the client credential; '' in open mode
  processing_status TEXT NOT NULL,      -- in_progress | canceling | ended
  total INTEGER NOT NULL,
  created_at INTEGER NOT NULL,          -- epoch ms
  expires_at INTEGER NOT NULL,
  ended_at INTEGER,
  cancel_initiated_at INTEGER,
  webhook_url TEXT,
  webhook_sent_at INTEGER,
  headers TEXT NOT NULL                 -- JSON object replayed on each request
);
CREATE TABLE IF NOT EXISTS requests (
  batch_id TEXT NOT NULL,
  idx INTEGER NOT NULL,                 -- submission order within the batch
  custom_id TEXT NOT NULL,
  state TEXT NOT NULL,                  -- pending | running | succeeded | errored | canceled | expired
  params TEXT NOT NULL,
  result TEXT,                          -- the JSONL line's "result", once there is one
  PRIMARY KEY (batch_id, custom_id)
);
CREATE INDEX IF NOT EXISTS requests_state ON requests (batch_id, state, idx);
CREATE INDEX IF NOT EXISTS requests_running ON requests (state) WHERE state = 'running';
`;

/**
 * Files written before batches had owners lack the column: their batches get the open-mode owner
 * (''), so a single-user gateway keeps listing them. IMMEDIATE, so two processes opening the same
 * old file cannot both add it. The index comes after, as it needs the column.
 */
function migrate(db: Database.Database): void {
  db.transaction(() => {
    const columns = db.prepare(`PRAGMA table_info(batches)`).all() as Array<{ name: string }>;
    if (!columns.some((column) => column.name === 'owner')) db.exec(`ALTER TABLE batches ADD COLUMN owner TEXT NOT NULL DEFAULT ''`);
  }).immediate();
  db.exec(`CREATE INDEX IF NOT EXISTS batches_owner ON batches (owner, seq)`);
}

interface BatchRow {
  seq: number;
  id: string;
  owner: string;
  processing_status: ProcessingStatus;
  total: number;
  created_at: number;
  expires_at: number;
  ended_at: number | null;
  cancel_initiated_at: number | null;
  webhook_url: string | null;
  webhook_sent_at: number | null;
  headers: string;
}

function recordOf(row: BatchRow): BatchRecord {
  return {
    id: row.id,
    seq: row.seq,
    owner: row.owner,
    processingStatus: row.processing_status,
    total: row.total,
    createdAt: row.created_at,
    expiresAt: row.expires_at,
    endedAt: row.ended_at,
    cancelInitiatedAt: row.cancel_initiated_at,
    webhookUrl: row.webhook_url,
    webhookSentAt: row.webhook_sent_at,
    headers: JSON.parse(row.headers) as Record<string, string>,
  };
}

/** Results are read in pages so no statement stays open across the awaits of a slow reader. */
const RESULT_PAGE = 1000;

export class SqliteBatchStore implements BatchStore {
  private readonly db: Database.Database;
  private readonly stmts;

  constructor(dataDir: string) {
    mkdirSync(dataDir, { recursive: true });
    this.db = new Database(join(dataDir, BATCH_FILE));
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = NORMAL');
    this.db.pragma('busy_timeout = 5000');
    this.db.exec(SCHEMA);
    migrate(this.db);
    const db = this.db;
    this.stmts = {
      insertBatch: db.prepare(
        `INSERT INTO batches (id, owner, processing_status, total, created_at, expires_at, ended_at, cancel_initiated_at, webhook_url, webhook_sent_at, headers)
         VALUES (@id, @owner, @processingStatus, @total, @createdAt, @expiresAt, @endedAt, @cancelInitiatedAt, @webhookUrl, @webhookSentAt, @headers)`,
      ),
      insertRequest: db.prepare(`INSERT INTO requests (batch_id, idx, custom_id, state, params) VALUES (?, ?, ?, 'pending', ?)`),
      getBatch: db.prepare(`SELECT * FROM batches WHERE id = ?`),
      ownedSeq: db.prepare(`SELECT seq FROM batches WHERE id = ? AND owner = ?`),
      olderOf: db.prepare(`SELECT * FROM batches WHERE owner = ? AND seq < ? ORDER BY seq DESC LIMIT ?`),
      newerOf: db.prepare(`SELECT * FROM batches WHERE owner = ? AND seq > ? ORDER BY seq ASC LIMIT ?`),
      counts: db.prepare(`SELECT state, COUNT(*) AS n FROM requests WHERE batch_id = ? GROUP BY state`),
      openBatches: db.prepare(`SELECT id FROM batches WHERE processing_status = 'in_progress' ORDER BY seq`),
      pendingOf: db.prepare(`SELECT custom_id, params FROM requests WHERE batch_id = ? AND state = 'pending' ORDER BY idx LIMIT ?`),
      setState: db.prepare(`UPDATE requests SET state = ? WHERE batch_id = ? AND custom_id = ?`),
      setResult: db.prepare(`UPDATE requests SET state = ?, result = ? WHERE batch_id = ? AND custom_id = ? AND state = 'running'`),
      unfinished: db.prepare(`SELECT COUNT(*) AS n FROM requests WHERE batch_id = ? AND state IN ('pending', 'running')`),
      endBatch: db.prepare(`UPDATE batches SET processing_status = 'ended', ended_at = ? WHERE id = ? AND processing_status != 'ended'`),
      startCancel: db.prepare(
        `UPDATE batches SET processing_status = 'canceling', cancel_initiated_at = ? WHERE id = ? AND processing_status = 'in_progress'`,
      ),
      closePending: db.prepare(`UPDATE requests SET state = ?, result = ? WHERE batch_id = ? AND state = 'pending'`),
      expiredBatches: db.prepare(`SELECT id FROM batches WHERE processing_status != 'ended' AND expires_at <= ?`),
      requeue: db.prepare(`UPDATE requests SET state = 'pending' WHERE state = 'running'`),
      notEnded: db.prepare(`SELECT id FROM batches WHERE processing_status != 'ended'`),
      webhooksDue: db.prepare(`SELECT * FROM batches WHERE processing_status = 'ended' AND webhook_url IS NOT NULL AND webhook_sent_at IS NULL`),
      webhookSent: db.prepare(`UPDATE batches SET webhook_sent_at = ? WHERE id = ?`),
      results: db.prepare(`SELECT idx, custom_id, result FROM requests WHERE batch_id = ? AND idx > ? ORDER BY idx LIMIT ?`),
      deleteRequests: db.prepare(`DELETE FROM requests WHERE batch_id = ?`),
      deleteBatch: db.prepare(`DELETE FROM batches WHERE id = ?`),
    };
  }

  async createBatch(batch: Omit<BatchRecord, 'seq'>, requests: NewRequest[]): Promise<void> {
    this.db.transaction(() => {
      this.stmts.insertBatch.run({ ...batch, headers: JSON.stringify(batch.headers) });
      requests.forEach((request, i) => this.stmts.insertRequest.run(batch.id, i, request.customId, request.params));
    })();
  }

  async getBatch(id: string): Promise<BatchRecord | undefined> {
    const row = this.stmts.getBatch.get(id) as BatchRow | undefined;
    return row ? recordOf(row) : undefined;
  }

  async listBatches({ owner, limit, beforeId, afterId }: ListOptions): Promise<{ batches: BatchRecord[]; hasMore: boolean }> {
    // Another owner's id is as unknown as a made-up one: where it sits must not show through paging.
    const seqOf = (id: string) => (this.stmts.ownedSeq.get(id, owner) as { seq: number } | undefined)?.seq;
    if (beforeId !== undefined) {
      // Newer than before_id: the ones closest to it, shown newest first like every page.
      const seq = seqOf(beforeId) ?? Number.MAX_SAFE_INTEGER;
      const rows = this.stmts.newerOf.all(owner, seq, limit + 1) as BatchRow[];
      return { batches: rows.slice(0, limit).reverse().map(recordOf), hasMore: rows.length > limit };
    }
    const seq = afterId !== undefined ? (seqOf(afterId) ?? 0) : Number.MAX_SAFE_INTEGER;
    const rows = this.stmts.olderOf.all(owner, seq, limit + 1) as BatchRow[];
    return { batches: rows.slice(0, limit).map(recordOf), hasMore: rows.length > limit };
  }

  async stateCounts(id: string): Promise<StateCounts> {
    const counts = emptyCounts();
    for (const row of this.stmts.counts.all(id) as Array<{ state: RequestState; n: number }>) counts[row.state] = row.n;
    return counts;
  }

  async claim(limit: number): Promise<ClaimedRequest[]> {
    return this.db.transaction(() => {
      const claimed: ClaimedRequest[] = [];
      for (const { id } of this.stmts.openBatches.all() as Array<{ id: string }>) {
        if (claimed.length >= limit) break;
        const rows = this.stmts.pendingOf.all(id, limit - claimed.length) as Array<{ custom_id: string; params: string }>;
        for (const row of rows) {
          this.stmts.setState.run('running', id, row.custom_id);
          claimed.push({ batchId: id, customId: row.custom_id, params: row.params });
        }
      }
      return claimed;
    })();
  }

  /** Ends the batch when nothing is pending or running; part of the caller's transaction. */
  private endIfDone(batchId: string, now: number): boolean {
    const { n } = this.stmts.unfinished.get(batchId) as { n: number };
    return n === 0 && this.stmts.endBatch.run(now, batchId).changes > 0;
  }

  async complete(batchId: string, customId: string, state: FinalState, result: string, now: number): Promise<boolean> {
    return this.db.transaction(() => {
      this.stmts.setResult.run(state, result, batchId, customId);
      return this.endIfDone(batchId, now);
    })();
  }

  async release(batchId: string, customId: string): Promise<void> {
    this.db.transaction(() => {
      this.stmts.setState.run('pending', batchId, customId);
      // A release into a batch being canceled cancels the request instead.
      const batch = this.stmts.getBatch.get(batchId) as BatchRow | undefined;
      if (batch && batch.processing_status !== 'in_progress') {
        this.stmts.closePending.run('canceled', JSON.stringify(placeholderResult('canceled')), batchId);
        this.endIfDone(batchId, Date.now());
      }
    })();
  }

  async cancel(id: string, now: number): Promise<boolean> {
    return this.db.transaction(() => {
      if (this.stmts.startCancel.run(now, id).changes === 0) return false;
      this.stmts.closePending.run('canceled', JSON.stringify(placeholderResult('canceled')), id);
      return this.endIfDone(id, now);
    })();
  }

  async expire(now: number): Promise<string[]> {
    return this.db.transaction(() => {
      const ended: string[] = [];
      for (const { id } of this.stmts.expiredBatches.all(now) as Array<{ id: string }>) {
        this.stmts.closePending.run('expired', JSON.stringify(placeholderResult('expired')), id);
        if (this.endIfDone(id, now)) ended.push(id);
      }
      return ended;
    })();
  }

  async requeueRunning(): Promise<number> {
    return this.stmts.requeue.run().changes;
  }

  async endIdle(now: number): Promise<string[]> {
    return this.db.transaction(() =>
      (this.stmts.notEnded.all() as Array<{ id: string }>).map(({ id }) => id).filter((id) => this.endIfDone(id, now)),
    )();
  }

  async webhooksDue(): Promise<BatchRecord[]> {
    return (this.stmts.webhooksDue.all() as BatchRow[]).map(recordOf);
  }

  async markWebhookSent(id: string, now: number): Promise<void> {
    this.stmts.webhookSent.run(now, id);
  }

  async *results(id: string): AsyncIterable<{ customId: string; result: string }> {
    let after = -1;
    for (;;) {
      const rows = this.stmts.results.all(id, after, RESULT_PAGE) as Array<{ idx: number; custom_id: string; result: string | null }>;
      for (const row of rows) {
        // Every request has a result once the batch has ended; null only if read while processing.
        yield { customId: row.custom_id, result: row.result ?? JSON.stringify(placeholderResult('canceled')) };
      }
      if (rows.length < RESULT_PAGE) return;
      after = rows.at(-1)!.idx;
    }
  }

  async deleteBatch(id: string): Promise<boolean> {
    return this.db.transaction(() => {
      this.stmts.deleteRequests.run(id);
      return this.stmts.deleteBatch.run(id).changes > 0;
    })();
  }

  async close(): Promise<void> {
    if (this.db.open) this.db.close();
  }
}
