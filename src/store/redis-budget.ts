/**
 * A tenant's budget shared by every replica: each window's spend and in-flight holds live in Redis
 * under the tenant's hash tag, a reservation is one script (check every window, then hold in all of
 * them, atomically: BudgetLedger.reserve's rule), and a settle is sent without waiting. Windows are
 * computed here (tenants/budget.ts's windowOf, in the budget's time zone); each window is a key of
 * its own, so a new day starts from nothing and a hold from an ended window releases nothing in the
 * new one. While the tenant's slot is out of reach, this replica spends on its share of what the
 * fleet had left when last seen; that spend is added to Redis when it returns.
 */
import { BudgetLedger, budgetLimits, windowOf, type BudgetUse, type BudgetWindow, type Held, type HoldResult, type SpendLedger } from '../tenants/budget.js';
import type { Budget } from '../tenants/tenant.js';
import { tenantTag } from './redis-ceiling.js';
import type { RedisStore } from './redis-store.js';

/** A hold whose replica never settles it (it died) is released after this long. */
const DEFAULT_HOLD_TTL_MS = 15 * 60_000;
/** Spend kept for Redis while it is away, at most. */
const MAX_DEFERRED = 10_000;

interface WindowNow {
  window: BudgetWindow;
  limitUsd: number;
  start: number;
  end: number;
}

export class RedisBudgetLedger implements SpendLedger {
  budget: Budget;
  private readonly tag: string;
  private counter = 0;
  private local: BudgetLedger | undefined;
  /** Each window's spend as last read (keyed by window and start), for use() and the outage share. */
  private readonly spent = new Map<string, number>();
  private deferred: Array<() => Promise<unknown>> = [];
  private readonly unsubscribe: Array<() => void>;

  constructor(
    private readonly store: RedisStore,
    tenant: string,
    budget: Budget,
    private readonly holdTtlMs = DEFAULT_HOLD_TTL_MS,
  ) {
    this.budget = budget;
    this.tag = tenantTag(tenant);
    this.unsubscribe = [
      store.onChange((down) => (down ? this.enterOutage() : this.leaveOutage()), this.tag),
      store.onHeartbeat(() => void this.refresh()),
    ];
  }

  setBudget(budget: Budget): void {
    this.budget = budget;
    this.local?.setBudget(this.shareOf(budget));
  }

  async reserve(expectedUsd: number, now: number): Promise<HoldResult> {
    if (this.store.degradedFor(this.tag)) return this.localLedger().reserve(expectedUsd, now);
    const windows = this.windows(now);
    const id = `${this.store.replicaId}.${(this.counter++).toString(36)}`;
    try {
      const reply = (await this.store.run(
        'spillwayBudgetReserve',
        windows.flatMap((w) => this.keysOf(w)),
        [now, id, expectedUsd, this.holdTtlMs, ...windows.flatMap((w) => [w.limitUsd, w.end])],
      )) as Array<number | string>;
      if (Number(reply[0]) === 1) {
        windows.forEach((w, i) => this.spent.set(this.nameOf(w), Number(reply[i + 1])));
        return { ok: true, at: now, id };
      }
      const refused = windows[Number(reply[1]) - 1]!;
      const spentUsd = Number(reply[2]);
      this.spent.set(this.nameOf(refused), spentUsd);
      return { ok: false, refusal: { window: refused.window, limitUsd: refused.limitUsd, spentUsd, resetsAt: refused.end } };
    } catch (error) {
      this.store.markDown(error, this.tag);
      return this.localLedger().reserve(expectedUsd, now);
    }
  }

  settle(expectedUsd: number, held: Held, actualUsd: number, now: number): void {
    // A hold made on the local share settles there; its spend reaches Redis too (now, or on its return).
    if (held.id === undefined) this.local?.settle(expectedUsd, held, actualUsd, now);
    const holdWindows = held.id === undefined ? [] : this.windows(held.at);
    const current = this.windows(now);
    const command = () =>
      this.store
        .run('spillwayBudgetSettle', [...holdWindows.flatMap((w) => this.keysOf(w)), ...current.map((w) => this.hashOf(w))], [held.id ?? '', actualUsd, holdWindows.length, ...current.map((w) => w.end)])
        .then((reply) => (reply as string[]).forEach((spent, i) => this.spent.set(this.nameOf(current[i]!), Number(spent))));
    if (this.store.degradedFor(this.tag)) return this.defer(command);
    command().catch((error: unknown) => {
      this.store.markDown(error, this.tag);
      this.defer(command);
    });
  }

  use(now: number): BudgetUse[] {
    if (this.store.degradedFor(this.tag) && this.local) {
      // The local ledger runs on a share: show the fleet's picture as last seen plus this replica's spend since.
      const local = new Map(this.local.use(now).map((use) => [use.window, use.spentUsd]));
      return this.windows(now).map((w) => ({ window: w.window, limitUsd: w.limitUsd, spentUsd: (this.spent.get(this.nameOf(w)) ?? 0) + (local.get(w.window) ?? 0) - this.preSpentShare(w), resetsAt: w.end }));
    }
    return this.windows(now).map((w) => ({ window: w.window, limitUsd: w.limitUsd, spentUsd: this.spent.get(this.nameOf(w)) ?? 0, resetsAt: w.end }));
  }

  /** Reads the current windows' spend (each heartbeat), so use() is current without requests. */
  async refresh(): Promise<void> {
    if (this.store.degradedFor(this.tag)) return;
    const windows = this.windows(this.store.now());
    try {
      const values = await Promise.all(windows.map((w) => this.store.client.hget(this.hashOf(w), 'spent')));
      windows.forEach((w, i) => this.spent.set(this.nameOf(w), Number(values[i] ?? 0)));
    } catch {
      // The next heartbeat tries again.
    }
  }

  close(): void {
    for (const unsubscribe of this.unsubscribe) unsubscribe();
  }

  private windows(at: number): WindowNow[] {
    return budgetLimits(this.budget).map(([window, limitUsd]) => ({ window, limitUsd, ...windowOf(window, at, this.budget.timeZone) }));
  }

  private nameOf(w: { window: BudgetWindow; start: number }): string {
    return `${w.window}:${w.start}`;
  }

  private hashOf(w: { window: BudgetWindow; start: number }): string {
    return this.store.key(`{${this.tag}}`, 'budget', w.window, String(w.start));
  }

  private keysOf(w: { window: BudgetWindow; start: number }): string[] {
    const hash = this.hashOf(w);
    return [hash, `${hash}:exp`];
  }

  private shareOf(budget: Budget): Budget {
    const n = Math.max(1, this.store.replicas);
    return {
      timeZone: budget.timeZone,
      ...(budget.dailyUsd === undefined ? {} : { dailyUsd: budget.dailyUsd / n }),
      ...(budget.monthlyUsd === undefined ? {} : { monthlyUsd: budget.monthlyUsd / n }),
    };
  }

  /** What the local share starts having spent in `w`: its share of the fleet's spend as last seen. */
  private preSpentShare(w: WindowNow): number {
    return (this.spent.get(this.nameOf(w)) ?? 0) / Math.max(1, this.store.replicas);
  }

  private localLedger(): BudgetLedger {
    if (!this.local) this.enterOutage();
    return this.local!;
  }

  /** Each replica spends on its share of each limit, having spent its share of what the fleet had. */
  private enterOutage(): void {
    if (this.local) return;
    const now = this.store.now();
    const local = new BudgetLedger(this.shareOf(this.budget));
    for (const w of this.windows(now)) local.preSpend(w.window, this.preSpentShare(w), now);
    this.local = local;
  }

  private leaveOutage(): void {
    const replay = this.deferred;
    this.deferred = [];
    for (const command of replay) command().catch((error: unknown) => this.store.markDown(error, this.tag));
    this.local = undefined;
  }

  private defer(command: () => Promise<unknown>): void {
    if (this.deferred.length >= MAX_DEFERRED) this.deferred.shift();
    this.deferred.push(command);
  }
}
