/**
 * A tenant's budget: USD per day and per month, windows starting at midnight (and the 1st) in its
 * time zone. A request reserves its expected cost at admission and settles with its real cost, so
 * requests at once cannot overshoot by more than what is in flight: a tenant is refused once what
 * it has spent plus what it has in flight reaches a budget. Plain data and pure functions, fed a clock.
 */
import type { Budget } from './tenant.js';

export type BudgetWindow = 'daily' | 'monthly';

/** The fields of `at` as a clock in `timeZone` shows them. */
function wallClock(at: number, timeZone: string): { year: number; month: number; day: number; offsetMs: number } {
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat('en-US', { timeZone, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', second: 'numeric' })
      .formatToParts(at)
      .map((part) => [part.type, Number(part.value)]),
  ) as Record<string, number>;
  const asUtc = Date.UTC(parts.year!, parts.month! - 1, parts.day!, parts.hour!, parts.minute!, parts.second!);
  return { year: parts.year!, month: parts.month!, day: parts.day!, offsetMs: asUtc - Math.floor(at / 1000) * 1000 };
}

/** When the window holding `at` started and when it ends (ms), in the budget's time zone. */
export function windowOf(window: BudgetWindow, at: number, timeZone: string): { start: number; end: number } {
  const { year, month, day, offsetMs } = wallClock(at, timeZone);
  const start = window === 'daily' ? Date.UTC(year, month - 1, day) : Date.UTC(year, month - 1, 1);
  const end = window === 'daily' ? Date.UTC(year, month - 1, day + 1) : Date.UTC(year, month, 1);
  // The offset at `at` stands for the whole window (a DST change inside it moves its edge by an hour).
  return { start: start - offsetMs, end: end - offsetMs };
}

interface Spend {
  start: number;
  end: number;
  spentUsd: number;
  inFlightUsd: number;
}

export interface Refusal {
  window: BudgetWindow;
  limitUsd: number;
  spentUsd: number;
  resetsAt: number;
}

/** A budget threshold (0.8, 1) crossed in a window: alerted once per window. */
export interface BudgetUse {
  window: BudgetWindow;
  limitUsd: number;
  spentUsd: number;
  resetsAt: number;
}

/** A reservation held: when it was made, and its id where the ledger is shared (store/redis-budget.ts). */
export interface Held {
  at: number;
  id?: string;
}

export type HoldResult = ({ ok: true } & Held) | { ok: false; refusal: Refusal };

/** A tenant's budget ledger as the request path uses it: this class in one process, or shared by every replica through Redis. */
export interface SpendLedger {
  readonly budget: Budget;
  reserve(expectedUsd: number, now: number): HoldResult | Promise<HoldResult>;
  /** A hold ends costing `actualUsd` (0 when nothing was served). */
  settle(expectedUsd: number, held: Held, actualUsd: number, now: number): void;
  use(now: number): BudgetUse[];
  /** A new budget from now on (the runtime admin API); spend so far in the windows counts against it. */
  setBudget(budget: Budget): void;
}

/** The windows a budget has, with their limits. */
export function budgetLimits(budget: Budget): Array<[BudgetWindow, number]> {
  const out: Array<[BudgetWindow, number]> = [];
  if (budget.dailyUsd !== undefined) out.push(['daily', budget.dailyUsd]);
  if (budget.monthlyUsd !== undefined) out.push(['monthly', budget.monthlyUsd]);
  return out;
}

export class BudgetLedger implements SpendLedger {
  private readonly spend: Partial<Record<BudgetWindow, Spend>> = {};

  constructor(public budget: Budget) {}

  /** New limits at runtime (the admin API); what was spent and what is in flight stay counted, unless the windows moved. */
  setBudget(budget: Budget): void {
    // Another time zone moves the windows: their spend starts again.
    if (budget.timeZone !== this.budget.timeZone) for (const window of ['daily', 'monthly'] as const) delete this.spend[window];
    this.budget = budget;
  }

  /** Spend made elsewhere in the current window (a replica's share of the fleet's while Redis is away). */
  preSpend(window: BudgetWindow, usd: number, now: number): void {
    this.current(window, now).spentUsd += usd;
  }

  private limits(): Array<[BudgetWindow, number]> {
    return budgetLimits(this.budget);
  }

  /** The window's spend as of `now`: a new window starts from nothing, in flight included. */
  private current(window: BudgetWindow, now: number): Spend {
    let spend = this.spend[window];
    if (!spend || now >= spend.end) {
      const { start, end } = windowOf(window, now, this.budget.timeZone);
      spend = this.spend[window] = { start, end, spentUsd: 0, inFlightUsd: 0 };
    }
    return spend;
  }

  /** Holds the expected cost, or says which budget is used up. */
  reserve(expectedUsd: number, now: number): { ok: true; at: number } | { ok: false; refusal: Refusal } {
    for (const [window, limitUsd] of this.limits()) {
      const spend = this.current(window, now);
      if (spend.spentUsd + spend.inFlightUsd >= limitUsd) return { ok: false, refusal: { window, limitUsd, spentUsd: spend.spentUsd, resetsAt: spend.end } };
    }
    for (const [window] of this.limits()) this.current(window, now).inFlightUsd += expectedUsd;
    return { ok: true, at: now };
  }

  /** A reservation made at `reservedAt` ends costing `actualUsd` (0 when nothing was served). */
  settle(expectedUsd: number, held: Held | number, actualUsd: number, now: number): void {
    const reservedAt = typeof held === 'number' ? held : held.at;
    for (const [window] of this.limits()) {
      const spend = this.current(window, now);
      // A reservation from a window that has ended was dropped with it.
      if (reservedAt >= spend.start) spend.inFlightUsd = Math.max(0, spend.inFlightUsd - expectedUsd);
      spend.spentUsd += actualUsd;
    }
  }

  /** Spend against each budget now, for alerts, metrics and the dashboard. */
  use(now: number): BudgetUse[] {
    return this.limits().map(([window, limitUsd]) => {
      const spend = this.current(window, now);
      return { window, limitUsd, spentUsd: spend.spentUsd, resetsAt: spend.end };
    });
  }
}
