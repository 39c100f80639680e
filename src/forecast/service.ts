/**
 * The day ahead, at the edge: counts each request into per-minute arrivals as it ends (an array
 * write), and once a minute, on a timer, refits every daily cap's forecast (forecast/demand.ts),
 * projects it to the reset (forecast/day-ahead.ts), and keeps the result for admission (the batch
 * pace of a pool), routing (tiers step down earlier), alerts, /metrics and the dashboard. Nothing
 * on the request path fits a model.
 *
 * Caps: a pool's requests per day (its keys' rpd, summed over the keys in service; the key pool
 * refills rpd continuously, so the refill counts until the reset) and a tenant's daily budget in
 * USD (a fixed window, no refill). Resets at midnight in `forecast.time_zone` for pools and in the
 * tenant's budget time zone for tenants. Tenants get the projection and its alert; batch pacing is
 * per pool.
 */
import type { RequestRecord } from '../observe/observer.js';
import { costOf, type PriceTable } from '../observe/prices.js';
import type { CapForecast } from '../observe/view.js';
import type { KeySnapshot } from '../quota/types.js';
import { windowOf } from '../tenants/budget.js';
import { Arrivals } from './arrivals.js';
import { createPace, foresightShare, paceTake, paceWait, projectDay, repace, type DailyCap, type Pace } from './day-ahead.js';
import { forecastDemand, type StepForecast } from './demand.js';
import { DAY_MS, STEPS_PER_DAY } from './seasonal.js';

export interface ForecastSources {
  pools(now: number): Promise<Array<{ provider: string; keys: KeySnapshot[] }>>;
  /** Tenants' spend in their current windows (only daily ones are forecast). */
  budgets(now: number): Array<{ tenant: string; window: 'daily' | 'monthly'; limitUsd: number; spentUsd: number; resetsAt: number }>;
}

export interface ForecasterOptions {
  timeZone: string;
  intervalMs: number;
  sources: ForecastSources;
  prices: PriceTable;
  log?: (message: string) => void;
  now?: () => number;
  /**
   * Replicas sharing the pools (Redis): each sees only its own arrivals, so its forecast is scaled
   * up by their number and its batch allowance down (load taken as evenly spread). 1 without.
   */
  replicas?: () => number | undefined;
}

/** Arrivals of one series: `kind:name:priority`. */
const seriesOf = (kind: 'pool' | 'tenant', name: string, priority: 'interactive' | 'batch') => `${kind}:${name}:${priority}`;

/** The clock offset (ms) that makes slotOf() read local time where midnight falls at `resetAt`. */
const offsetFor = (resetAt: number) => (DAY_MS - (((resetAt % DAY_MS) + DAY_MS) % DAY_MS)) % DAY_MS;

export class DemandForecaster {
  private readonly arrivals = new Arrivals();
  private outlooks: CapForecast[] = [];
  private readonly byPool = new Map<string, CapForecast>();
  /** Batch pace per pool, with the reset it holds until. */
  private readonly paces = new Map<string, { pace: Pace; until: number }>();
  private readonly tenantPaced = new Map<string, number>();
  private timer: ReturnType<typeof setInterval> | undefined;
  private refitting: Promise<void> | undefined;
  private readonly now: () => number;

  constructor(private readonly options: ForecasterOptions) {
    this.now = options.now ?? Date.now;
  }

  /** A request ended: a served request counts against its pool's rpd, its cost against its tenant's budget. */
  record(record: RequestRecord): void {
    const priority = record.priority ?? 'interactive';
    const at = record.startedAt;
    if (record.provider !== undefined && record.keyId !== undefined) this.arrivals.add(seriesOf('pool', record.provider, priority), 1, at);
    if (record.tenant !== undefined && record.model !== undefined && record.cache !== 'hit' && record.cache !== 'semantic') {
      const cost = record.costUsd ?? costOf(this.options.prices, record.model, record.inputTokens ?? 0, record.outputTokens ?? 0);
      if (cost) this.arrivals.add(seriesOf('tenant', record.tenant, priority), cost, at);
    }
  }

  /** History from the usage log (forecast/seed.ts); its priority is unknown, so it counts as interactive (batch is paced the harder for it). */
  seed(rows: Iterable<{ kind: 'pool' | 'tenant'; name: string; at: number; amount: number }>): void {
    for (const row of rows) this.arrivals.add(seriesOf(row.kind, row.name, 'interactive'), row.amount, row.at);
  }

  start(): void {
    if (this.timer) return;
    void this.refit();
    this.timer = setInterval(() => void this.refit(), this.options.intervalMs);
    this.timer.unref();
  }

  close(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Refits every cap now (the timer's work; tests call it with a fake clock). One at a time. */
  refit(now = this.now()): Promise<void> {
    this.refitting ??= this.refitAll(now).finally(() => {
      this.refitting = undefined;
    });
    return this.refitting;
  }

  private async refitAll(now: number): Promise<void> {
    try {
      const out: CapForecast[] = [];
      const poolReset = windowOf('daily', now, this.options.timeZone).end;
      for (const { provider, keys } of await this.options.sources.pools(now)) {
        const cap = rpdCap(keys, poolReset);
        if (!cap) {
          this.paces.delete(provider);
          continue;
        }
        const paced = this.paces.get(provider);
        const forecast = this.project('pool', provider, cap, now, paced !== undefined && paced.until > now);
        out.push(forecast);
        if (forecast.batchPerMinute === undefined) this.paces.delete(provider);
        else if (paced && paced.until === cap.resetAt) repace(paced.pace, forecast.batchPerMinute, now);
        else this.paces.set(provider, { pace: createPace(forecast.batchPerMinute, now), until: cap.resetAt });
      }
      for (const use of this.options.sources.budgets(now)) {
        if (use.window !== 'daily') continue;
        const cap: DailyCap = { remaining: Math.max(0, use.limitUsd - use.spentUsd), limit: use.limitUsd, refillPerMs: 0, resetAt: use.resetsAt };
        const forecast = this.project('tenant', use.tenant, cap, now, (this.tenantPaced.get(use.tenant) ?? 0) > now);
        if (forecast.batchPerMinute !== undefined) this.tenantPaced.set(use.tenant, cap.resetAt);
        out.push(forecast);
      }
      this.outlooks = out;
      this.byPool.clear();
      for (const forecast of out) if (forecast.kind === 'pool') this.byPool.set(forecast.name, forecast);
    } catch (error) {
      this.options.log?.(`spillway: forecast refit failed: ${error instanceof Error ? error.message : String(error)}`);
    }
  }

  private project(kind: 'pool' | 'tenant', name: string, cap: DailyCap, now: number, pacedBefore: boolean): CapForecast {
    const steps = Math.min(STEPS_PER_DAY + 1, Math.ceil((cap.resetAt - now) / (DAY_MS / STEPS_PER_DAY)) + 1);
    const offsetMs = offsetFor(cap.resetAt);
    // Pools are shared across replicas; a tenant's budget ledger is per process.
    const replicas = kind === 'pool' ? Math.max(1, this.options.replicas?.() ?? 1) : 1;
    const scaled = (f: StepForecast): StepForecast => (replicas === 1 ? f : { ...f, values: f.values.map((v) => v * replicas) });
    const interactive = scaled(forecastDemand(this.arrivals.steps(seriesOf(kind, name, 'interactive'), now).steps, steps, { offsetMs }));
    const batch = scaled(forecastDemand(this.arrivals.steps(seriesOf(kind, name, 'batch'), now).steps, steps, { offsetMs }));
    const projected = projectDay({ cap, now, interactive, batch, pacedBefore });
    const day = projected.batchPerMinute === undefined ? projected : { ...projected, batchPerMinute: projected.batchPerMinute / replicas };
    return {
      kind,
      name,
      unit: kind === 'pool' ? 'requests' : 'usd',
      remaining: cap.remaining,
      limit: cap.limit,
      demandNextHour: day.demandNextHour,
      capacityNextHour: day.capacityNextHour,
      demandUntilReset: day.demandUntilReset,
      capacityUntilReset: day.capacityUntilReset,
      resetAt: cap.resetAt,
      ...(day.exhaustAt !== undefined ? { exhaustAt: day.exhaustAt } : {}),
      ...(day.batchPerMinute !== undefined ? { batchPerMinute: day.batchPerMinute } : {}),
      seasonal: interactive.seasonal,
    };
  }

  /** Every cap's day ahead, as last refitted. */
  forecasts(): CapForecast[] {
    return this.outlooks;
  }

  /** ms until a batch request may take the pool (0: now, or not paced). Admission's hot path: a map read and a little arithmetic. */
  batchWait(pool: string, now: number): number {
    const paced = this.paces.get(pool);
    if (!paced || paced.until <= now) return 0;
    return paceWait(paced.pace, now);
  }

  batchTaken(pool: string, now: number): void {
    const paced = this.paces.get(pool);
    if (paced && paced.until > now) paceTake(paced.pace, now);
  }

  /** The remaining share tiering sees for the pool (routing/tiers.ts): lower while its day is projected short. */
  foresight(pool: string, share: number, now: number): number {
    const forecast = this.byPool.get(pool);
    if (!forecast) return share;
    return foresightShare(share, { exhaustAt: forecast.exhaustAt }, forecast.resetAt, now);
  }
}

/** A pool's daily request cap: its keys' rpd summed over the keys in service; undefined when none has one. */
export function rpdCap(keys: KeySnapshot[], resetAt: number): DailyCap | undefined {
  let remaining = 0;
  let limit = 0;
  for (const key of keys) {
    const rpd = key.dimensions.rpd;
    if (!rpd || !key.healthy) continue;
    limit += rpd.limit;
    // A cooling key rests for seconds after a 429: its day's allowance is still there.
    remaining += Math.max(0, rpd.remaining);
  }
  if (limit <= 0) return undefined;
  return { remaining, limit, refillPerMs: limit / DAY_MS, resetAt };
}
