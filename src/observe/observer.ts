/**
 * What the request path tells the outside world: one record per client request and one per
 * upstream attempt. Metrics, alerts and the usage log implement Observer; the request path only
 * fills records and never waits on them.
 */
import type { Surface } from '../protocol/surface.js';

export type CacheStatus = 'hit' | 'semantic' | 'miss' | 'bypass';

export interface RequestRecord {
  requestId: string;
  /** Epoch ms when the request arrived. */
  startedAt: number;
  surface: Surface;
  /** The gateway key's position in server.auth.keys as "client-N", or undefined without auth. */
  clientKeyId?: string;
  /** The tenant the client key belongs to ("client-N" for a key of server.auth.keys). */
  tenant?: string;
  /** The model name the client asked for. */
  requestedModel?: string;
  provider?: string;
  model?: string;
  keyId?: string;
  status: number;
  stream: boolean;
  inputTokens?: number;
  outputTokens?: number;
  /** Why the answer ended, in the provider's words (`end_turn`, `stop`, `tool_calls`…). */
  finishReasons?: string[];
  cache: CacheStatus;
  queueMs: number;
  attempts: number;
  durationMs: number;
  /** Time to the first byte of the answer sent to the client. */
  ttfbMs?: number;
  /** When spillway itself refused the request (a 429 or 503 of its own): why. */
  rejected?: 'deadline' | 'full' | 'unavailable' | 'ceiling' | 'budget' | 'oversize';
  /** Set when the request was served by a candidate other than the route's first. */
  spill?: { reason: string; fallback: boolean };
  /** Set when a route rule or quota tier chose the target (e.g. "rule 0"). */
  route?: string;
  /** The admission class it waited in (x-spillway-priority, the tenant's default, batch jobs). */
  priority?: 'interactive' | 'batch';
  /** Cost in USD from the price table (filled by the observability layer when absent). */
  costUsd?: number;
}

export interface UpstreamRecord {
  /** The client request this attempt serves, so its upstream time can be told from spillway's own. */
  requestId?: string;
  provider: string;
  keyId: string;
  model: string;
  /** HTTP status, or what went wrong when there was none. */
  status: number | 'timeout' | 'connection';
  latencyMs: number;
}

export interface Observer {
  request(record: RequestRecord): void;
  upstream(record: UpstreamRecord): void;
  /** The provider refused the key: it rests until a probe succeeds (called once per rest). */
  keyDisabled(provider: string, keyId: string, reason: string): void;
  /** A probe of a resting key: accepted (it comes back), refused, or inconclusive (the provider did not say). */
  keyProbed(provider: string, keyId: string, result: 'accepted' | 'refused' | 'inconclusive'): void;
  /** A resting key is back in service (called once per return). */
  keyRestored(provider: string, keyId: string): void;
  /** Prompt merging (src/merge): a merged call that saved `saved` calls, or one that failed and sent its members alone. */
  merged?(event: MergeEvent): void;
}

export type MergeEvent = { saved: number } | { failure: string };

export const silentObserver: Observer = {
  request() {},
  upstream() {},
  keyDisabled() {},
  keyProbed() {},
  keyRestored() {},
};
