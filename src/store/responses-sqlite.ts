/**
 * Kept responses in `<data_dir>/responses.sqlite` (better-sqlite3, WAL): they outlive a restart,
 * as a client holding a `previous_response_id` expects. Expired rows are swept as new ones come.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { KeptResponse, ResponseKeeper } from '../surfaces/openai-responses/kept.js';

export const RESPONSES_FILE = 'responses.sqlite';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS responses (
  id TEXT PRIMARY KEY,
  owner TEXT NOT NULL,          -- hash of the client credential; '' in open mode
  expires_at INTEGER NOT NULL,  -- epoch ms
  kept TEXT NOT NULL            -- the KeptResponse as JSON
);
CREATE INDEX IF NOT EXISTS responses_expiry ON responses (expires_at);
`;

export class SqliteResponseKeeper implements ResponseKeeper {
  private readonly db: Database.Database;
  private readonly select: Database.Statement<[string, string, number], { kept: string }>;
  private readonly insert: Database.Statement<[string, string, number, string]>;
  private readonly remove: Database.Statement<[string, string, number]>;
  private readonly sweep: Database.Statement<[number]>;

  constructor(dataDir: string, private readonly ttlMs: number) {
    mkdirSync(dataDir, { recursive: true });
    this.db = new Database(join(dataDir, RESPONSES_FILE));
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = NORMAL');
    this.db.exec(SCHEMA);
    this.select = this.db.prepare('SELECT kept FROM responses WHERE id = ? AND owner = ? AND expires_at > ?');
    this.insert = this.db.prepare('INSERT OR REPLACE INTO responses (id, owner, expires_at, kept) VALUES (?, ?, ?, ?)');
    this.remove = this.db.prepare('DELETE FROM responses WHERE id = ? AND owner = ? AND expires_at > ?');
    this.sweep = this.db.prepare('DELETE FROM responses WHERE expires_at <= ?');
  }

  async get(id: string, owner: string, now: number): Promise<KeptResponse | undefined> {
    const row = this.select.get(id, owner, now);
    return row ? (JSON.parse(row.kept) as KeptResponse) : undefined;
  }

  async put(kept: KeptResponse, now: number): Promise<void> {
    this.sweep.run(now);
    this.insert.run(kept.response.id, kept.owner, now + this.ttlMs, JSON.stringify(kept));
  }

  async delete(id: string, owner: string, now: number): Promise<boolean> {
    return this.remove.run(id, owner, now).changes > 0;
  }

  close(): void {
    this.db.close();
  }
}
