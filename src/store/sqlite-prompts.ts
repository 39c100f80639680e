/**
 * Captured prompts in the usage log's file (`<data_dir>/usage.sqlite`, table `prompts`, joined
 * to `usage` by request_id), for one node. Buffered and written in one transaction a moment
 * later; each write also drops the prompts past the TTL and beyond the per-route cap.
 */
import type Database from 'better-sqlite3';
import { openUsageDb } from '../observe/usage-log.js';
import type { CaptureBounds, CapturedPrompt, PromptStore } from '../routing/prompt-capture.js';
import { WriteBuffer } from './write-buffer.js';

const FLUSH_DELAY_MS = 250;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS prompts (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  ts INTEGER NOT NULL,            -- ms since epoch, when the request arrived
  request_id TEXT NOT NULL,       -- the usage row's request_id
  route TEXT NOT NULL,
  surface TEXT NOT NULL,
  body TEXT NOT NULL,             -- the request body (JSON), at most usage.capture.max_bytes
  answer TEXT NOT NULL            -- JSON: provider, model, latencyMs, costUsd, said {text, tools}
);
CREATE INDEX IF NOT EXISTS prompts_route_ts ON prompts (route, ts);
CREATE INDEX IF NOT EXISTS prompts_ts ON prompts (ts);
`;

interface Row {
  ts: number;
  request_id: string;
  route: string;
  surface: string;
  body: string;
  answer: string;
}

export class SqlitePrompts implements PromptStore {
  private readonly db: Database.Database;
  private readonly buffer: WriteBuffer<CapturedPrompt>;

  constructor(dataDir: string, private readonly bounds: CaptureBounds, private readonly log: (message: string) => void = () => {}) {
    this.db = openUsageDb(dataDir);
    this.db.exec(SCHEMA);
    const insert = this.db.prepare(`INSERT INTO prompts (ts, request_id, route, surface, body, answer) VALUES (?, ?, ?, ?, ?, ?)`);
    const expire = this.db.prepare(`DELETE FROM prompts WHERE ts < ?`);
    const trim = this.db.prepare(`DELETE FROM prompts WHERE route = ? AND id NOT IN (SELECT id FROM prompts WHERE route = ? ORDER BY ts DESC, id DESC LIMIT ?)`);
    const write = this.db.transaction((prompts: CapturedPrompt[]) => {
      for (const p of prompts) insert.run(p.at, p.requestId, p.route, p.surface, p.body, JSON.stringify(p.answer));
      expire.run(Date.now() - this.bounds.ttlMs);
      for (const route of new Set(prompts.map((p) => p.route))) trim.run(route, route, this.bounds.maxPrompts);
    });
    this.buffer = new WriteBuffer(
      (prompts) => {
        if (this.db.open) write(prompts);
      },
      FLUSH_DELAY_MS,
      (prompts, error) => this.log(`spillway: could not write ${prompts.length} captured prompts: ${error instanceof Error ? error.message : String(error)}`),
    );
  }

  add(prompt: CapturedPrompt): void {
    this.buffer.add(prompt);
  }

  async list(route: string | undefined, since: number, limit: number): Promise<CapturedPrompt[]> {
    this.buffer.flush();
    const floor = Math.max(since, Date.now() - this.bounds.ttlMs);
    const rows = (
      route === undefined
        ? this.db.prepare(`SELECT * FROM prompts WHERE ts >= ? ORDER BY ts DESC LIMIT ?`).all(floor, limit)
        : this.db.prepare(`SELECT * FROM prompts WHERE route = ? AND ts >= ? ORDER BY ts DESC LIMIT ?`).all(route, floor, limit)
    ) as Row[];
    return rows.map((row) => ({
      route: row.route,
      at: row.ts,
      requestId: row.request_id,
      surface: row.surface as CapturedPrompt['surface'],
      body: row.body,
      answer: JSON.parse(row.answer) as CapturedPrompt['answer'],
    }));
  }

  async close(): Promise<void> {
    this.buffer.flush();
    this.db.close();
  }
}
