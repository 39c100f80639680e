/**
 * Seeds the forecaster's arrivals from the usage log, so time-of-day seasonality is there from
 * the first minute after a restart: requests per provider per minute (those that reached a key),
 * and cost per tenant per minute, over the last days the arrivals keep.
 */
import type Database from 'better-sqlite3';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { openUsageDb, USAGE_FILE } from '../observe/usage-log.js';

export interface SeedRow {
  kind: 'pool' | 'tenant';
  name: string;
  at: number;
  amount: number;
}

export function usageHistory(db: Database.Database, sinceMs: number): SeedRow[] {
  const pools = db
    .prepare(`SELECT provider AS name, (ts / 60000) * 60000 AS at, COUNT(*) AS amount FROM usage WHERE ts >= ? AND provider IS NOT NULL AND key_id IS NOT NULL GROUP BY provider, ts / 60000`)
    .all(sinceMs) as Array<{ name: string; at: number; amount: number }>;
  const tenants = db
    .prepare(`SELECT tenant AS name, (ts / 60000) * 60000 AS at, SUM(cost_usd) AS amount FROM usage WHERE ts >= ? AND tenant IS NOT NULL AND cost_usd > 0 GROUP BY tenant, ts / 60000`)
    .all(sinceMs) as Array<{ name: string; at: number; amount: number }>;
  return [...pools.map((row) => ({ kind: 'pool' as const, ...row })), ...tenants.map((row) => ({ kind: 'tenant' as const, ...row }))];
}

/** The usage log's history in `dataDir`, or none when there is no log yet (or it cannot be read). */
export function readUsageHistory(dataDir: string, sinceMs: number, log: (message: string) => void = () => {}): SeedRow[] {
  if (!existsSync(join(dataDir, USAGE_FILE))) return [];
  let db: Database.Database | undefined;
  try {
    db = openUsageDb(dataDir, { readonly: true });
    return usageHistory(db, sinceMs);
  } catch (error) {
    log(`spillway: could not read the usage log for the forecast: ${error instanceof Error ? error.message : String(error)}`);
    return [];
  } finally {
    db?.close();
  }
}
