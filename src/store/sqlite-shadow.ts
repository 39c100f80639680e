/**
 * Shadow pairs in `<data_dir>/shadow.sqlite` (better-sqlite3, WAL): one row per pair, its scores
 * as columns, the two answers' texts cut to TEXT_LIMIT characters (enough to show a disagreement).
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { ShadowPair, ShadowPairs } from '../routing/shadow-report.js';

export const SHADOW_FILE = 'shadow.sqlite';
const TEXT_LIMIT = 500;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS pairs (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  route TEXT NOT NULL,
  at INTEGER NOT NULL,                  -- epoch ms
  request_id TEXT NOT NULL,
  primary_side TEXT NOT NULL,           -- JSON: provider, model, latencyMs, costUsd, text
  candidate_side TEXT NOT NULL,
  score TEXT NOT NULL,                  -- JSON PairScore
  agree INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS pairs_route_at ON pairs (route, at);
CREATE INDEX IF NOT EXISTS pairs_at ON pairs (at);
`;

interface Row {
  route: string;
  at: number;
  request_id: string;
  primary_side: string;
  candidate_side: string;
  score: string;
}

export class SqliteShadowPairs implements ShadowPairs {
  private readonly db: Database.Database;
  private readonly insert: Database.Statement;

  constructor(dataDir: string) {
    mkdirSync(dataDir, { recursive: true });
    this.db = new Database(join(dataDir, SHADOW_FILE));
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = NORMAL');
    this.db.exec(SCHEMA);
    this.insert = this.db.prepare(
      `INSERT INTO pairs (route, at, request_id, primary_side, candidate_side, score, agree) VALUES (@route, @at, @requestId, @primary, @candidate, @score, @agree)`,
    );
  }

  add(pair: ShadowPair): void {
    const cut = (side: ShadowPair['primary']) => JSON.stringify({ ...side, text: side.text.slice(0, TEXT_LIMIT) });
    this.insert.run({
      route: pair.route,
      at: pair.at,
      requestId: pair.requestId,
      primary: cut(pair.primary),
      candidate: cut(pair.candidate),
      score: JSON.stringify(pair.score),
      agree: pair.score.agree ? 1 : 0,
    });
  }

  list(route: string | undefined, since: number, limit: number): ShadowPair[] {
    const rows = (
      route === undefined
        ? this.db.prepare(`SELECT * FROM pairs WHERE at >= ? ORDER BY at DESC LIMIT ?`).all(since, limit)
        : this.db.prepare(`SELECT * FROM pairs WHERE route = ? AND at >= ? ORDER BY at DESC LIMIT ?`).all(route, since, limit)
    ) as Row[];
    return rows.map((row) => ({
      route: row.route,
      at: row.at,
      requestId: row.request_id,
      primary: JSON.parse(row.primary_side) as ShadowPair['primary'],
      candidate: JSON.parse(row.candidate_side) as ShadowPair['candidate'],
      score: JSON.parse(row.score) as ShadowPair['score'],
    }));
  }

  close(): void {
    this.db.close();
  }
}
