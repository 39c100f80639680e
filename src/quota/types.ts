/** Plain data shared by the quota policy, the admission queue and the code that dispatches. */
import type { FleetTurns } from './fair-share.js';

/** What one request will cost a key; one request (and one concurrency slot) is implied. */
export interface Demand {
  inputTokens: number;
  /** The output allowance (max_tokens), reserved until the real usage is known. */
  outputTokens: number;
}

/** What the provider reports it counted. */
export interface Usage {
  inputTokens: number;
  outputTokens: number;
}

/** Capacity held on one key until the answer ends and `settle` is called. */
export interface Reservation {
  poolId: string;
  keyId: string;
  demand: Demand;
  /** When it was made (ms). */
  at: number;
  /**
   * When its request started going out on a connection (ms): Infinity while it waits for one;
   * undefined when the caller does not say, and `at` stands for it.
   */
  sentAt?: number;
  /** Its name in a shared store (Redis); in-process pools know a reservation by identity. */
  id?: string;
}

/**
 * waitMs: how long until some key has room for the demand, from the buckets alone. Infinity when no
 * key can ever serve it (all disabled). Concurrency-bound waits give a small positive value: they
 * end when a request settles, which the caller signals with `notify()`.
 */
export type ReserveResult = { ok: true; reservation: Reservation } | { ok: false; waitMs: number };

/** One rate-limit dimension as a provider reported it in an answer's headers. */
export interface Observed {
  limit?: number;
  remaining?: number;
  /** ms from the answer until the bucket is full again. */
  resetMs?: number;
}

export interface ObservedLimits {
  requests?: Observed;
  inputTokens?: Observed;
  outputTokens?: Observed;
  /** Input + output (OpenAI's TPM), or Anthropic's most restrictive combined limit. */
  tokens?: Observed;
  /** From retry-after-ms / retry-after. */
  retryAfterMs?: number;
  /**
   * The answer was the provider's 429: proof the key's level was too high, so it is corrected
   * without the benefit of any doubt (see KeyPool.observe); its `reset` speaks of older requests
   * (see window-learn.ts).
   */
  refused?: boolean;
}

/** The limits spillway enforces per key; names follow the config. */
export const DIMENSIONS = ['rpm', 'rpd', 'itpm', 'otpm', 'tpm', 'concurrency'] as const;
export type Dimension = (typeof DIMENSIONS)[number];

export interface DimensionSnapshot {
  limit: number;
  /** The burst the bucket allows (≤ limit; learned from headers). */
  capacity: number;
  /** What is left now; negative while a larger-than-capacity demand is being paid back. */
  remaining: number;
}

export interface KeySnapshot {
  id: string;
  /** False while the key rests after the provider refused it (see rest.ts). */
  healthy: boolean;
  disabledReason?: string;
  /** While resting: when the key may next be probed (ms). */
  nextProbeAt?: number;
  /** ms timestamp until which the key rests after an upstream 429; 0 if not cooling. */
  coolingUntil: number;
  inFlight: number;
  /** No limit known yet: one request at a time until the first answer's headers arrive. */
  learning: boolean;
  /** Upstream 429s: admissions the policy got wrong. */
  predictionMisses: number;
  dimensions: Partial<Record<Dimension, DimensionSnapshot>>;
  /** How the key's per-minute limits are counted when not by a bucket: configured, or learned from its resets. */
  window?: { type: 'sliding' | 'fixed'; lengthMs: number; learned: boolean };
}

/**
 * The keys of one provider behaving like one bigger key: what the request path needs of a pool,
 * whether its state lives in this process (KeyPool) or in a store shared by replicas (RedisKeyPool).
 * Any method may return a promise; the ones the request path does not wait for (settle, observe,
 * coolDown, rest, enable, claimProbe) never reject, and calls from one process reach the state in order.
 */
/** Interactive requests are admitted before batch requests waiting for the same keys. */
export type Priority = 'interactive' | 'batch';

export interface QuotaPool {
  readonly id: string;
  /** True while a shared store is unreachable and this replica serves on its share of each limit. */
  readonly degraded: boolean;
  /**
   * Reserves on the key with the most headroom for this demand, or says how long until one has
   * room. `priority` matters only to a pool shared by replicas (see interactiveWaiting); `avoid`
   * names keys that already refused this request.
   */
  tryReserve(demand: Demand, now: number, priority?: Priority, avoid?: ReadonlySet<string>): ReserveResult | Promise<ReserveResult>;
  /** ms until `tryReserve(demand)` would succeed, without reserving (Infinity: no key can serve). */
  waitTime(demand: Demand, now: number, avoid?: ReadonlySet<string>): number | Promise<number>;
  /**
   * An interactive request of this process waits for the pool. A pool shared by replicas tells the
   * others, whose batch requests then leave it the room; in one process the queue's order does that.
   */
  interactiveWaiting?(now: number): void;
  /** Fair share across replicas (a pool shared through Redis): whose turn it is fleet-wide. */
  readonly fleet?: FleetTurns;
  /** Reconciles with the real usage (undefined: the provider never counted it) and gives back what was not used. */
  settle(reservation: Reservation, usage: Usage | undefined, now: number): void | Promise<void>;
  /**
   * Corrects a key from an answer's headers; `answered` is the reservation whose answer carried
   * them, `sentAt` when its request was handed to the connection (the provider saw it no earlier).
   */
  observe(keyId: string, observed: ObservedLimits, now: number, answered?: Reservation, sentAt?: number): void | Promise<void>;
  /** After an upstream 429: the key takes nothing until `untilMs`. */
  coolDown(keyId: string, untilMs: number): void | Promise<void>;
  /**
   * The provider refused the key (resilience/key-fault.ts): out of service until a probe succeeds.
   * Resolves true when this call took it out of service (false: it already rested), so the
   * transition is counted and announced once.
   */
  rest(keyId: string, reason: string, now: number): boolean | Promise<boolean>;
  /** True if a probe of this resting key is due and this caller may run it (one prober per probe, across replicas). */
  claimProbe(keyId: string, now: number): boolean | Promise<boolean>;
  /** A probe succeeded: back in service. True when this call brought it back. */
  enable(keyId: string): boolean | Promise<boolean>;
  /**
   * The keys as of `now`, synchronously (dashboards, routing by remaining quota, readiness): a
   * shared store's pool answers from the state it last read (at most a heartbeat old).
   */
  snapshot(now: number): KeySnapshot[];
  /** Lets go of shared resources (connections, timers). */
  close?(): Promise<void>;
}
