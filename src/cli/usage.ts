/**
 * `spillway usage`: summaries of the usage log by day, model, provider and client, as text tables.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { openUsageDb, summarize, USAGE_FILE, type UsageGrouping, type UsageSummaryRow } from '../observe/usage-log.js';

export const GROUPINGS: readonly UsageGrouping[] = ['day', 'model', 'provider', 'client'];

const TITLES: Record<UsageGrouping, string> = { day: 'By day (UTC)', model: 'By model', provider: 'By provider', client: 'By client key' };

function formatUsd(n: number): string {
  return n >= 100 ? `$${n.toFixed(2)}` : `$${n.toFixed(4)}`;
}

function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  // The first column is text (left-aligned), the rest figures (right-aligned).
  const line = (cells: string[]) => cells.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join('  ');
  return [line(header), widths.map((w) => '─'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

export function formatSummary(by: UsageGrouping, rows: UsageSummaryRow[]): string {
  const header = [by, 'requests', 'errors', 'cache hits', 'input tok', 'output tok', 'cost', 'avg queue'];
  const body = rows.map((r) => [
    r.group,
    r.requests.toLocaleString('en-US'),
    r.errors.toLocaleString('en-US'),
    r.cacheHits.toLocaleString('en-US'),
    r.inputTokens.toLocaleString('en-US'),
    r.outputTokens.toLocaleString('en-US'),
    formatUsd(r.costUsd),
    `${Math.round(r.avgQueueMs)} ms`,
  ]);
  if (rows.length > 1) {
    const sum = (pick: (r: UsageSummaryRow) => number) => rows.reduce((s, r) => s + pick(r), 0);
    const requests = sum((r) => r.requests);
    body.push([
      'total',
      requests.toLocaleString('en-US'),
      sum((r) => r.errors).toLocaleString('en-US'),
      sum((r) => r.cacheHits).toLocaleString('en-US'),
      sum((r) => r.inputTokens).toLocaleString('en-US'),
      sum((r) => r.outputTokens).toLocaleString('en-US'),
      formatUsd(sum((r) => r.costUsd)),
      `${Math.round(sum((r) => r.avgQueueMs * r.requests) / requests)} ms`,
    ]);
  }
  return `${TITLES[by]}\n${table(header, body)}`;
}

import { parseSince } from '../observe/span.js';

export interface UsageCommandOptions {
  dataDir: string;
  since: string;
  by: UsageGrouping[];
}

/** The report as text, or an explanation when there is no log yet. */
export function usageReport(options: UsageCommandOptions, now = Date.now()): string {
  const file = join(options.dataDir, USAGE_FILE);
  if (!existsSync(file)) return `No usage log at ${file} yet: it is written as spillway serves requests (usage.enabled in the config).`;
  const db = openUsageDb(options.dataDir, { readonly: true });
  try {
    const since = parseSince(options.since, now);
    const sections = options.by.map((by) => summarize(db, by, since));
    if (sections.every((rows) => rows.length === 0)) return `No requests in ${file} ${options.since === 'all' ? 'yet' : `in the last ${options.since}`}.`;
    const span = options.since === 'all' ? 'all time' : `the last ${options.since}`;
    return [`Usage from ${file}, ${span}`, ...options.by.map((by, i) => formatSummary(by, sections[i]!))].join('\n\n');
  } finally {
    db.close();
  }
}
