/**
 * Recent activity, kept in memory for the dashboard and the alert conditions: totals since start,
 * 5-second slots over the last five minutes, per-key use over the last minute, and the latest
 * requests. Fed by the observer hooks, read with an explicit `now`.
 */
import type { Clock } from './view.js';
import type { Observer, RequestRecord, UpstreamRecord } from './observer.js';
import type { MinuteUse } from './utilisation.js';
import { SlottedSeries } from './window.js';

export const SERIES_FIELDS = ['requests', 'errors', 'client429', 'upstream429', 'upstream', 'cacheLookups', 'cacheHits', 'spills', 'fallbacks'] as const;
export type SeriesField = (typeof SERIES_FIELDS)[number];

const KEY_FIELDS = ['requests', 'inputTokens', 'outputTokens'] as const;

export const SLOT_MS = 5_000;
/** Five minutes of 5-second slots. */
export const SERIES_SLOTS = 60;
const RECENT = 50;

export interface RecentRequest {
  at: number;
  requestId: string;
  surface: string;
  client?: string;
  model?: string;
  provider?: string;
  keyId?: string;
  status: number;
  cache: string;
  queueMs: number;
  durationMs: number;
  attempts: number;
  inputTokens?: number;
  outputTokens?: number;
  costUsd?: number;
  rejected?: string;
  spill?: string;
}

export interface Totals {
  requests: number;
  client429: number;
  upstream: number;
  upstream429: number;
  inputTokens: number;
  outputTokens: number;
  costUsd: number;
  keysDisabled: number;
}

export class Activity implements Observer {
  readonly series = new SlottedSeries<SeriesField>(SERIES_FIELDS, SLOT_MS, SERIES_SLOTS);
  readonly totals: Totals = { requests: 0, client429: 0, upstream: 0, upstream429: 0, inputTokens: 0, outputTokens: 0, costUsd: 0, keysDisabled: 0 };
  private readonly perKey = new Map<string, SlottedSeries<(typeof KEY_FIELDS)[number]>>();
  private readonly recentRing: RecentRequest[] = [];
  private readonly clock: Clock;

  constructor(clock: Clock) {
    this.clock = clock;
  }

  request(r: RequestRecord): void {
    const now = this.clock.now();
    const t = this.totals;
    t.requests += 1;
    t.inputTokens += r.inputTokens ?? 0;
    t.outputTokens += r.outputTokens ?? 0;
    t.costUsd += r.costUsd ?? 0;
    this.series.add('requests', now);
    if (r.status === 429) {
      t.client429 += 1;
      this.series.add('client429', now);
    } else if (r.status >= 400) {
      this.series.add('errors', now);
    }
    if (r.cache !== 'bypass') this.series.add('cacheLookups', now);
    if (r.cache === 'hit' || r.cache === 'semantic') this.series.add('cacheHits', now);
    if (r.spill) this.series.add(r.spill.fallback ? 'fallbacks' : 'spills', now);
    if (r.provider !== undefined && r.keyId !== undefined) {
      const key = this.keySeries(r.provider, r.keyId);
      key.add('inputTokens', now, r.inputTokens ?? 0);
      key.add('outputTokens', now, r.outputTokens ?? 0);
    }
    const recent: RecentRequest = {
      at: r.startedAt,
      requestId: r.requestId,
      surface: r.surface,
      status: r.status,
      cache: r.cache,
      queueMs: Math.round(r.queueMs),
      durationMs: Math.round(r.durationMs),
      attempts: r.attempts,
    };
    if (r.clientKeyId !== undefined) recent.client = r.clientKeyId;
    if (r.requestedModel !== undefined) recent.model = r.requestedModel;
    if (r.provider !== undefined) recent.provider = r.model !== undefined ? `${r.provider}/${r.model}` : r.provider;
    if (r.keyId !== undefined) recent.keyId = r.keyId;
    if (r.inputTokens !== undefined) recent.inputTokens = r.inputTokens;
    if (r.outputTokens !== undefined) recent.outputTokens = r.outputTokens;
    if (r.costUsd !== undefined) recent.costUsd = r.costUsd;
    if (r.rejected !== undefined) recent.rejected = r.rejected;
    if (r.spill !== undefined) recent.spill = `${r.spill.fallback ? 'fallback' : 'spill'}: ${r.spill.reason}`;
    this.recentRing.push(recent);
    if (this.recentRing.length > RECENT) this.recentRing.shift();
  }

  upstream(r: UpstreamRecord): void {
    const now = this.clock.now();
    this.totals.upstream += 1;
    this.series.add('upstream', now);
    this.keySeries(r.provider, r.keyId).add('requests', now);
    if (r.status === 429) {
      this.totals.upstream429 += 1;
      this.series.add('upstream429', now);
    }
  }

  keyDisabled(): void {
    this.totals.keysDisabled += 1;
  }

  keyProbed(): void {}
  keyRestored(): void {}

  /** What went through one key over the trailing minute. */
  lastMinute(provider: string, keyId: string, now: number): MinuteUse {
    const series = this.perKey.get(`${provider}\u0000${keyId}`);
    if (!series) return { requests: 0, inputTokens: 0, outputTokens: 0 };
    return series.sum(now, 60_000);
  }

  /** Newest first. */
  recent(): RecentRequest[] {
    return [...this.recentRing].reverse();
  }

  private keySeries(provider: string, keyId: string): SlottedSeries<(typeof KEY_FIELDS)[number]> {
    const id = `${provider}\u0000${keyId}`;
    let series = this.perKey.get(id);
    if (!series) {
      // 1-second slots so "the last minute" is exact to a second.
      series = new SlottedSeries(KEY_FIELDS, 1_000, 61);
      this.perKey.set(id, series);
    }
    return series;
  }
}
