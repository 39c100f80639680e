/**
 * `spillway tenants list | set NAME --rpm … --daily-usd …`: the admin API's tenant view and runtime
 * changes (server/admin-tenants.ts) from a shell, against a running gateway (--url, --admin-key, or
 * SPILLWAY_URL and SPILLWAY_ADMIN_KEY). A change holds on every replica sharing the store.
 */
import { callAdmin, type AdminTarget } from './admin-client.js';

/** The options `set` takes, as commander hands them over (strings); "config" puts a setting back to config. */
export interface SetOptions {
  rpm?: string;
  rpd?: string;
  itpm?: string;
  otpm?: string;
  tpm?: string;
  concurrency?: string;
  dailyUsd?: string;
  monthlyUsd?: string;
  weight?: string;
  priority?: string;
  maxWait?: string;
}

export type TenantsAction = { action: 'list' } | { action: 'set'; name: string; options: SetOptions };

const RESET = 'config';

function number(flag: string, value: string): number | null {
  if (value === RESET) return null;
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`tenants: --${flag}: expected a positive number or "${RESET}", got ${JSON.stringify(value)}`);
  return n;
}

/** The JSON merge patch a `set` asks for; only the options given. */
export function patchOf(options: SetOptions): Record<string, unknown> {
  const patch: Record<string, unknown> = {};
  const limits: Record<string, number | null> = {};
  for (const name of ['rpm', 'rpd', 'itpm', 'otpm', 'tpm', 'concurrency'] as const) {
    const value = options[name];
    if (value !== undefined) limits[name] = number(name, value);
  }
  if (Object.keys(limits).length > 0) patch.limits = limits;
  const budget: Record<string, number | null> = {};
  if (options.dailyUsd !== undefined) budget.daily_usd = number('daily-usd', options.dailyUsd);
  if (options.monthlyUsd !== undefined) budget.monthly_usd = number('monthly-usd', options.monthlyUsd);
  if (Object.keys(budget).length > 0) patch.budget = budget;
  if (options.weight !== undefined) patch.weight = number('weight', options.weight);
  if (options.priority !== undefined) patch.priority = options.priority === RESET ? null : options.priority;
  if (options.maxWait !== undefined) patch.max_wait = options.maxWait === RESET ? null : options.maxWait;
  if (Object.keys(patch).length === 0) throw new Error('tenants: set: nothing to change (give --rpm, --tpm, --daily-usd, --monthly-usd, --weight, --priority, --max-wait, …)');
  return patch;
}

interface Row {
  name: string;
  weight: number;
  priority: string;
  limits: Record<string, number>;
  waiting: number;
  longestWaitMs: number;
  budgets: Array<{ window: string; limitUsd: number; spentUsd: number }>;
  overridden: string[];
  lastMinute: { requests: number; admitted: number; share: number | null; meanWaitMs: number | null };
}

const usd = (value: number) => `$${value.toFixed(value < 1 ? 4 : 2)}`;

function table(rows: Row[]): string {
  if (rows.length === 0) return 'No tenants.';
  const header = ['TENANT', 'WEIGHT', 'PRIORITY', 'LIMITS', 'QUEUE', 'SHARE 1m', 'WAIT 1m', 'BUDGET', 'CHANGED'];
  const lines = rows.map((row) => [
    row.name,
    String(row.weight),
    row.priority,
    Object.entries(row.limits).map(([name, value]) => `${name} ${value}`).join(', ') || '-',
    row.waiting > 0 ? `${row.waiting} (${Math.round(row.longestWaitMs)}ms)` : '0',
    row.lastMinute.share === null ? '-' : `${Math.round(row.lastMinute.share * 100)}%`,
    row.lastMinute.meanWaitMs === null ? '-' : `${Math.round(row.lastMinute.meanWaitMs)}ms`,
    row.budgets.map((use) => `${use.window} ${usd(use.spentUsd)} of ${usd(use.limitUsd)}`).join(', ') || '-',
    row.overridden.join(', ') || '-',
  ]);
  const widths = header.map((title, i) => Math.max(title.length, ...lines.map((line) => line[i]!.length)));
  return [header, ...lines].map((line) => line.map((cell, i) => cell.padEnd(widths[i]!)).join('  ').trimEnd()).join('\n');
}

/** Runs one action; the text to print, or throws with the gateway's own message. */
export async function tenantsCommand(target: AdminTarget, request: TenantsAction): Promise<string> {
  const path = request.action === 'set' ? `/admin/tenants/${encodeURIComponent(request.name)}` : '/admin/tenants';
  const patch = request.action === 'set' ? patchOf(request.options) : undefined;
  const body = (await callAdmin(target, patch ? 'PATCH' : 'GET', path, patch)) as Record<string, unknown>;
  if (request.action === 'list') return table(body.data as Row[]);
  return `Changed tenant ${request.name} on every replica sharing the store:\n${table([body as unknown as Row])}`;
}
