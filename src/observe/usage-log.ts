/**
 * The usage log: one row per chat request in SQLite (`usage.sqlite` in the data directory).
 * Rows are buffered and written in one transaction a moment later, so the request path only pushes
 * onto an array. `summarize` is what `spillway usage` prints.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { Observer, RequestRecord } from './observer.js';

export const USAGE_FILE = 'usage.sqlite';

/** Rows wait at most this long before they are written... */
const FLUSH_DELAY_MS = 200;
/** ...or until this many have gathered. */
const FLUSH_ROWS = 500;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS usage (
  id INTEGER PRIMARY KEY,
  ts INTEGER NOT NULL,            -- ms since epoch, when the request arrived
  request_id TEXT NOT NULL,
  client TEXT,                    -- client key id (client-N, <tenant>-N), NULL without auth
  tenant TEXT,                    -- the key's tenant, NULL without auth
  surface TEXT NOT NULL,          -- anthropic | openai
  route TEXT,                     -- the model the client asked for
  provider TEXT,
  model TEXT,                     -- the model that answered
  key_id TEXT,
  input_tokens INTEGER,
  output_tokens INTEGER,
  cost_usd REAL,
  cache TEXT NOT NULL,
  queue_ms REAL NOT NULL,
  attempts INTEGER NOT NULL,
  status INTEGER NOT NULL,
  stream INTEGER NOT NULL,
  duration_ms REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS usage_ts ON usage (ts);
`;

export interface UsageRow {
  ts: number;
  request_id: string;
  client: string | null;
  tenant: string | null;
  surface: string;
  route: string | null;
  provider: string | null;
  model: string | null;
  key_id: string | null;
  input_tokens: number | null;
  output_tokens: number | null;
  cost_usd: number | null;
  cache: string;
  queue_ms: number;
  attempts: number;
  status: number;
  stream: number;
  duration_ms: number;
}

export function rowOf(r: RequestRecord): UsageRow {
  return {
    ts: r.startedAt,
    request_id: r.requestId,
    client: r.clientKeyId ?? null,
    tenant: r.tenant ?? null,
    surface: r.surface,
    route: r.requestedModel ?? null,
    provider: r.provider ?? null,
    model: r.model ?? null,
    key_id: r.keyId ?? null,
    input_tokens: r.inputTokens ?? null,
    output_tokens: r.outputTokens ?? null,
    cost_usd: r.costUsd ?? null,
    cache: r.cache,
    queue_ms: r.queueMs,
    attempts: r.attempts,
    status: r.status,
    stream: r.stream ? 1 : 0,
    duration_ms: r.durationMs,
  };
}

export function openUsageDb(dataDir: string, options: { readonly?: boolean } = {}): Database.Database {
  if (!options.readonly) mkdirSync(dataDir, { recursive: true });
  const db = new Database(join(dataDir, USAGE_FILE), { readonly: options.readonly ?? false, fileMustExist: options.readonly ?? false });
  db.pragma('busy_timeout = 5000');
  if (!options.readonly) {
    // WAL lets `spillway usage` read while the gateway writes.
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    db.exec(SCHEMA);
    // Files written before tenants lack the column: their rows group by client key instead.
    if (!hasTenantColumn(db)) db.exec('ALTER TABLE usage ADD COLUMN tenant TEXT');
  }
  return db;
}

function hasTenantColumn(db: Database.Database): boolean {
  return (db.prepare('PRAGMA table_info(usage)').all() as Array<{ name: string }>).some((column) => column.name === 'tenant');
}

export class UsageLog implements Observer {
  private readonly db: Database.Database;
  private readonly insertMany: (rows: UsageRow[]) => void;
  private pending: UsageRow[] = [];
  private timer: ReturnType<typeof setTimeout> | undefined;
  private readonly log: (message: string) => void;

  constructor(dataDir: string, log: (message: string) => void = () => {}) {
    this.db = openUsageDb(dataDir);
    this.log = log;
    const insert = this.db.prepare(
      `INSERT INTO usage (ts, request_id, client, tenant, surface, route, provider, model, key_id, input_tokens, output_tokens, cost_usd, cache, queue_ms, attempts, status, stream, duration_ms)
       VALUES (@ts, @request_id, @client, @tenant, @surface, @route, @provider, @model, @key_id, @input_tokens, @output_tokens, @cost_usd, @cache, @queue_ms, @attempts, @status, @stream, @duration_ms)`,
    );
    this.insertMany = this.db.transaction((rows: UsageRow[]) => {
      for (const row of rows) insert.run(row);
    });
  }

  request(record: RequestRecord): void {
    this.pending.push(rowOf(record));
    if (this.pending.length >= FLUSH_ROWS) setImmediate(() => this.flush());
    else if (!this.timer) {
      this.timer = setTimeout(() => this.flush(), FLUSH_DELAY_MS);
      this.timer.unref();
    }
  }

  upstream(): void {}
  keyDisabled(): void {}
  keyProbed(): void {}
  keyRestored(): void {}

  /** Writes what is buffered now. */
  flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.pending.length === 0 || !this.db.open) return;
    const rows = this.pending;
    this.pending = [];
    try {
      this.insertMany(rows);
    } catch (error) {
      this.log(`spillway: could not write ${rows.length} usage rows: ${error instanceof Error ? error.message : String(error)}`);
    }
  }

  close(): void {
    this.flush();
    if (this.db.open) this.db.close();
  }
}

export type UsageGrouping = 'day' | 'model' | 'provider' | 'client' | 'tenant';

export interface UsageSummaryRow {
  group: string;
  requests: number;
  errors: number;
  cacheHits: number;
  inputTokens: number;
  outputTokens: number;
  costUsd: number;
  avgQueueMs: number;
}

const GROUP_EXPR: Record<UsageGrouping, string> = {
  // UTC days, so summaries agree wherever they are printed.
  day: "strftime('%Y-%m-%d', ts / 1000, 'unixepoch')",
  model: "COALESCE(model, route, '(none)')",
  provider: "COALESCE(provider, '(none)')",
  client: "COALESCE(client, '(no auth)')",
  tenant: "COALESCE(tenant, client, '(no auth)')",
};

export function summarize(db: Database.Database, by: UsageGrouping, sinceMs = 0): UsageSummaryRow[] {
  // A file only ever read (its gateway predates tenants) may lack the column: its keys stand for tenants.
  const group = by === 'tenant' && !hasTenantColumn(db) ? GROUP_EXPR.client : GROUP_EXPR[by];
  const rows = db
    .prepare(
      `SELECT ${group} AS grp,
              COUNT(*) AS requests,
              SUM(CASE WHEN status >= 400 THEN 1 ELSE 0 END) AS errors,
              SUM(CASE WHEN cache IN ('hit', 'semantic') THEN 1 ELSE 0 END) AS cache_hits,
              COALESCE(SUM(input_tokens), 0) AS input_tokens,
              COALESCE(SUM(output_tokens), 0) AS output_tokens,
              COALESCE(SUM(cost_usd), 0) AS cost_usd,
              AVG(queue_ms) AS avg_queue_ms
         FROM usage WHERE ts >= ? GROUP BY grp ORDER BY ${by === 'day' ? 'grp' : 'cost_usd DESC, requests DESC'}`,
    )
    .all(sinceMs) as Array<{
    grp: string;
    requests: number;
    errors: number;
    cache_hits: number;
    input_tokens: number;
    output_tokens: number;
    cost_usd: number;
    avg_queue_ms: number | null;
  }>;
  return rows.map((row) => ({
    group: row.grp,
    requests: row.requests,
    errors: row.errors,
    cacheHits: row.cache_hits,
    inputTokens: row.input_tokens,
    outputTokens: row.output_tokens,
    costUsd: row.cost_usd,
    avgQueueMs: row.avg_queue_ms ?? 0,
  }));
}
