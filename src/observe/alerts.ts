/**
 * Alerts: conditions computed from the gateway's state by pure functions, compared with those
 * already firing so each is announced once while it lasts and once more when it clears, and sent
 * to webhooks in Slack's or a generic JSON form. Only AlertMonitor touches timers and sockets.
 */
import type { Dimension } from '../quota/types.js';
import type { CapForecast, Clock, TenantBudgetUse } from './view.js';
import { postWebhook } from './webhook.js';

export interface AlertThresholds {
  rpm_utilisation: number;
  daily_utilisation: number;
  upstream_429_per_minute: number;
  queue_depth: number;
  fallback_rate: number;
}

export interface AlertKeyInput {
  provider: string;
  keyId: string;
  healthy: boolean;
  disabledReason?: string;
  utilisation: Partial<Record<Dimension, number>>;
}

export interface AlertInputs {
  keys: AlertKeyInput[];
  upstream429LastMinute: number;
  queueDepth: number;
  /** Requests and fallbacks over the recent window (five minutes). */
  recentRequests: number;
  recentFallbacks: number;
  /** Tenants' spend against their budgets. */
  budgets?: TenantBudgetUse[];
  /** The day ahead of each daily cap (src/forecast/). */
  forecasts?: CapForecast[];
}

/** A tenant's spend is announced as it reaches these shares of its budget. */
export const BUDGET_MARKS = [0.8, 1] as const;

export type AlertKind = 'rpm_utilisation' | 'daily_utilisation' | 'upstream_429' | 'queue_depth' | 'key_disabled' | 'fallback_rate' | 'flag' | 'canary_rollback' | 'budget' | 'quota_exhaustion';

export interface Condition {
  /** Stable while the condition lasts: kind plus what it is about. */
  id: string;
  kind: AlertKind;
  summary: string;
  value: number;
  threshold: number;
  labels: Record<string, string>;
}

/** A fallback rate over fewer requests than this says nothing (one of one is 100%). */
export const MIN_FALLBACK_SAMPLE = 10;

const percent = (share: number) => `${Math.round(share * 100)}%`;
const hours = (ms: number) => `${Math.floor(ms / 3_600_000)}h${String(Math.floor((ms % 3_600_000) / 60_000)).padStart(2, '0')}m`;

export function activeConditions(inputs: AlertInputs, t: AlertThresholds): Condition[] {
  const out: Condition[] = [];
  for (const key of inputs.keys) {
    const labels = { provider: key.provider, key: key.keyId };
    const name = `${key.provider}/${key.keyId}`;
    if (!key.healthy) {
      out.push({
        id: `key_disabled:${name}`,
        kind: 'key_disabled',
        summary: `key ${name} is out of service${key.disabledReason ? `: ${key.disabledReason}` : ''}`,
        value: 1,
        threshold: 1,
        labels,
      });
      continue;
    }
    const rpm = key.utilisation.rpm;
    if (rpm !== undefined && rpm > t.rpm_utilisation) {
      out.push({
        id: `rpm_utilisation:${name}`,
        kind: 'rpm_utilisation',
        summary: `key ${name} is at ${percent(rpm)} of its requests-per-minute limit (alert above ${percent(t.rpm_utilisation)})`,
        value: rpm,
        threshold: t.rpm_utilisation,
        labels,
      });
    }
    const rpd = key.utilisation.rpd;
    if (rpd !== undefined && rpd > t.daily_utilisation) {
      out.push({
        id: `daily_utilisation:${name}`,
        kind: 'daily_utilisation',
        summary: `key ${name} has used ${percent(rpd)} of its daily request quota (alert above ${percent(t.daily_utilisation)})`,
        value: rpd,
        threshold: t.daily_utilisation,
        labels,
      });
    }
  }
  if (inputs.upstream429LastMinute > t.upstream_429_per_minute) {
    out.push({
      id: 'upstream_429',
      kind: 'upstream_429',
      summary: `${inputs.upstream429LastMinute} upstream 429s in the last minute (alert above ${t.upstream_429_per_minute})`,
      value: inputs.upstream429LastMinute,
      threshold: t.upstream_429_per_minute,
      labels: {},
    });
  }
  if (inputs.queueDepth >= t.queue_depth) {
    out.push({
      id: 'queue_depth',
      kind: 'queue_depth',
      summary: `${inputs.queueDepth} requests are waiting for capacity (alert at ${t.queue_depth})`,
      value: inputs.queueDepth,
      threshold: t.queue_depth,
      labels: {},
    });
  }
  for (const use of inputs.budgets ?? []) {
    const share = use.spentUsd / use.limitUsd;
    for (const mark of BUDGET_MARKS) {
      if (share < mark) continue;
      out.push({
        id: `budget:${use.tenant}:${use.window}:${mark}`,
        kind: 'budget',
        summary: `tenant ${use.tenant} has spent ${percent(share)} of its ${use.window} budget ($${use.spentUsd.toFixed(4)} of $${use.limitUsd})`,
        value: share,
        threshold: mark,
        labels: { tenant: use.tenant, window: use.window },
      });
    }
  }
  for (const forecast of inputs.forecasts ?? []) {
    // Once short, a cap stays paced until its reset (forecast/day-ahead.ts): the alert lasts as long, so it does not flap.
    if (forecast.exhaustAt === undefined && forecast.batchPerMinute === undefined) continue;
    const what = forecast.kind === 'pool' ? `pool ${forecast.name}'s daily requests` : `tenant ${forecast.name}'s daily budget`;
    const amount = (value: number) => (forecast.unit === 'usd' ? `$${value.toFixed(2)}` : `${Math.round(value)}`);
    const paced = forecast.batchPerMinute !== undefined && forecast.kind === 'pool' ? `batch paced to ${forecast.batchPerMinute.toFixed(1)}/min` : '';
    const projection =
      forecast.exhaustAt !== undefined
        ? `${what} are projected to run out at ${new Date(forecast.exhaustAt).toISOString()}, ${hours(forecast.resetAt - forecast.exhaustAt)} before the reset (forecast ${amount(forecast.demandUntilReset)} until the reset, ${amount(forecast.capacityUntilReset)} left)${paced ? `; ${paced}` : ''}`
        : `${what} were projected to run out before the reset; ${paced || 'paced'} so they last until ${new Date(forecast.resetAt).toISOString()}`;
    out.push({
      // One alert per cap and day: it fires when the projection first says short and resolves at the reset.
      id: `quota_exhaustion:${forecast.kind}:${forecast.name}:${forecast.resetAt}`,
      kind: 'quota_exhaustion',
      summary: projection,
      // How long before the reset the cap runs out (s); 0 once paced to last.
      value: forecast.exhaustAt !== undefined ? Math.round((forecast.resetAt - forecast.exhaustAt) / 1000) : 0,
      threshold: 0,
      labels: { [forecast.kind]: forecast.name, ...(forecast.exhaustAt !== undefined ? { exhaust_at: new Date(forecast.exhaustAt).toISOString() } : {}) },
    });
  }
  if (inputs.recentRequests >= MIN_FALLBACK_SAMPLE) {
    const rate = inputs.recentFallbacks / inputs.recentRequests;
    if (rate > t.fallback_rate) {
      out.push({
        id: 'fallback_rate',
        kind: 'fallback_rate',
        summary: `${percent(rate)} of requests in the last 5 minutes were served by a fallback (alert above ${percent(t.fallback_rate)})`,
        value: rate,
        threshold: t.fallback_rate,
        labels: {},
      });
    }
  }
  return out;
}

export interface AlertEvent {
  status: 'firing' | 'resolved';
  condition: Condition;
  /** ms timestamp. */
  at: number;
}

/** What changed since the last evaluation: new conditions fire, vanished ones resolve, lasting ones stay quiet. */
export function transition(
  firing: ReadonlyMap<string, Condition>,
  current: readonly Condition[],
  now: number,
): { events: AlertEvent[]; firing: Map<string, Condition> } {
  const next = new Map(current.map((condition) => [condition.id, condition]));
  const events: AlertEvent[] = [];
  for (const [id, condition] of next) if (!firing.has(id)) events.push({ status: 'firing', condition, at: now });
  for (const [id, condition] of firing) if (!next.has(id)) events.push({ status: 'resolved', condition, at: now });
  return { events, firing: next };
}

export type WebhookFormat = 'slack' | 'json';

export function webhookBody(event: AlertEvent, format: WebhookFormat): Record<string, unknown> {
  const { condition } = event;
  if (format === 'slack') {
    const text =
      event.status === 'firing'
        ? `:rotating_light: *spillway alert* — ${condition.summary}`
        : `:white_check_mark: *spillway recovered* — ${condition.kind.replace(/_/g, ' ')}${condition.labels.key ? ` (${condition.labels.provider}/${condition.labels.key})` : ''} is back to normal`;
    return { text };
  }
  return {
    source: 'spillway',
    status: event.status,
    alert: condition.kind,
    id: condition.id,
    summary: condition.summary,
    value: condition.value,
    threshold: condition.threshold,
    labels: condition.labels,
    at: new Date(event.at).toISOString(),
  };
}

export interface Webhook {
  url: string;
  format: WebhookFormat;
  /** Signs each POST (see webhook.ts). */
  secret?: string | undefined;
}

export type Send = (hook: Webhook, body: string) => Promise<void>;

const postJson: Send = (hook, body) => postWebhook({ url: hook.url, body, secret: hook.secret, userAgent: 'spillway-alerts', timeoutMs: 5_000 });

export interface AlertMonitorOptions {
  webhooks: Webhook[];
  thresholds: AlertThresholds;
  /** How often to evaluate when started (ms). */
  intervalMs: number;
  inputs(now: number): AlertInputs | Promise<AlertInputs>;
  clock: Clock;
  send?: Send;
  log?: (message: string) => void;
}

export class AlertMonitor {
  private firingNow = new Map<string, Condition>();
  /** Conditions raised by an action (a flag flipped, a canary rolled back) rather than computed: they last until settled. */
  private raised = new Map<string, Condition>();
  private timer: ReturnType<typeof setInterval> | undefined;
  private readonly options: AlertMonitorOptions;
  private readonly send: Send;
  private evaluating: Promise<AlertEvent[]> | undefined;

  constructor(options: AlertMonitorOptions) {
    this.options = options;
    this.send = options.send ?? postJson;
  }

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => void this.evaluate(), this.options.intervalMs);
    this.timer.unref();
  }

  /** Conditions firing now. */
  firing(): Condition[] {
    return [...this.firingNow.values(), ...this.raised.values()];
  }

  /**
   * A condition an action caused (a flag flipped, a canary rolled back): it shows until settled,
   * and is announced when `announce` (only where the action was taken, not on every replica that sees it).
   */
  raise(condition: Condition, announce = true): void {
    this.raised.set(condition.id, condition);
    if (announce) void this.deliver([{ status: 'firing', condition, at: this.options.clock.now() }]);
  }

  settle(condition: Condition, announce = true): void {
    this.raised.delete(condition.id);
    if (announce) void this.deliver([{ status: 'resolved', condition, at: this.options.clock.now() }]);
  }

  /** Evaluates once and delivers what changed; evaluations never overlap. */
  async evaluate(): Promise<AlertEvent[]> {
    while (this.evaluating) await this.evaluating;
    this.evaluating = this.evaluateOnce();
    try {
      return await this.evaluating;
    } finally {
      this.evaluating = undefined;
    }
  }

  close(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  private async evaluateOnce(): Promise<AlertEvent[]> {
    const now = this.options.clock.now();
    const { events, firing } = transition(this.firingNow, activeConditions(await this.options.inputs(now), this.options.thresholds), now);
    this.firingNow = firing;
    await this.deliver(events);
    return events;
  }

  private async deliver(events: AlertEvent[]): Promise<void> {
    for (const event of events) {
      this.options.log?.(`spillway: alert ${event.status}: ${event.condition.summary}`);
    }
    await Promise.all(
      events.flatMap((event) =>
        this.options.webhooks.map((hook) =>
          this.send(hook, JSON.stringify(webhookBody(event, hook.format))).catch((error: unknown) => {
            this.options.log?.(`spillway: alert webhook ${new URL(hook.url).host} failed: ${error instanceof Error ? error.message : String(error)}`);
          }),
        ),
      ),
    );
  }
}
