/**
 * Shadow pairs in `<data_dir>/shadow.sqlite` (better-sqlite3, WAL): one row per pair, its scores
 * as columns, the two answers' texts cut to TEXT_LIMIT characters (enough to show a disagreement).
 * Pairs are buffered and written in one transaction a moment later: no synchronous write happens
 * in the callback that scored the pair. The store for one node; replicas share store/redis-shadow.ts.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { JudgeVerdict, ShadowPair, ShadowPairs } from '../routing/shadow-report.js';
import { WriteBuffer } from './write-buffer.js';

export const SHADOW_FILE = 'shadow.sqlite';
export const TEXT_LIMIT = 500;
/** Pairs wait at most this long before they are written. */
const FLUSH_DELAY_MS = 250;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS pairs (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  route TEXT NOT NULL,
  at INTEGER NOT NULL,                  -- epoch ms
  request_id TEXT NOT NULL,
  primary_side TEXT NOT NULL,           -- JSON: provider, model, latencyMs, costUsd, text
  candidate_side TEXT NOT NULL,
  score TEXT NOT NULL,                  -- JSON PairScore
  agree INTEGER NOT NULL,
  judge TEXT                            -- JSON JudgeVerdict, NULL when not judged
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
  judge: string | null;
}

/** An answer's side as stored: its text cut to TEXT_LIMIT characters. */
export const cutSide = (side: ShadowPair['primary']): ShadowPair['primary'] => ({ ...side, text: side.text.slice(0, TEXT_LIMIT) });

export class SqliteShadowPairs implements ShadowPairs {
  private readonly db: Database.Database;
  private readonly buffer: WriteBuffer<ShadowPair>;

  constructor(dataDir: string, log: (message: string) => void = () => {}) {
    mkdirSync(dataDir, { recursive: true });
    this.db = new Database(join(dataDir, SHADOW_FILE));
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = NORMAL');
    this.db.exec(SCHEMA);
    // Files written before judges lack the column.
    if (!(this.db.prepare('PRAGMA table_info(pairs)').all() as Array<{ name: string }>).some((column) => column.name === 'judge')) {
      this.db.exec('ALTER TABLE pairs ADD COLUMN judge TEXT');
    }
    const insert = this.db.prepare(
      `INSERT INTO pairs (route, at, request_id, primary_side, candidate_side, score, agree, judge) VALUES (@route, @at, @requestId, @primary, @candidate, @score, @agree, @judge)`,
    );
    const insertMany = this.db.transaction((pairs: ShadowPair[]) => {
      for (const pair of pairs) {
        insert.run({
          route: pair.route,
          at: pair.at,
          requestId: pair.requestId,
          primary: JSON.stringify(cutSide(pair.primary)),
          candidate: JSON.stringify(cutSide(pair.candidate)),
          score: JSON.stringify(pair.score),
          agree: pair.score.agree ? 1 : 0,
          judge: pair.judge ? JSON.stringify(pair.judge) : null,
        });
      }
    });
    this.buffer = new WriteBuffer(
      (pairs) => {
        if (this.db.open) insertMany(pairs);
      },
      FLUSH_DELAY_MS,
      (pairs, error) => log(`spillway: could not write ${pairs.length} shadow pairs: ${error instanceof Error ? error.message : String(error)}`),
    );
  }

  add(pair: ShadowPair): void {
    this.buffer.add(pair);
  }

  async list(route: string | undefined, since: number, limit: number): Promise<ShadowPair[]> {
    this.buffer.flush();
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
      ...(row.judge ? { judge: JSON.parse(row.judge) as JudgeVerdict } : {}),
    }));
  }

  async close(): Promise<void> {
    this.buffer.flush();
    this.db.close();
  }
}
