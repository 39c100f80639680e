/**
 * KeyPool: the keys of one provider (or one provider/model class), behaving like one bigger key.
 * Each key has one bucket per known limit; a request goes to the key with the most headroom for it.
 * Configured limits are priors; `observe` corrects them from the provider's headers.
 */
import type { Limits } from '../config/schema.js';
import { claimProbe, DEFAULT_REST_POLICY, startRest, type Rest, type RestPolicy } from './rest.js';
import { type Bucket, createBucket, fits, giveBack, headroomAfter, lostToCap, rate, raiseTo, refill, take, waitFor } from './bucket.js';
import { CHARGED_ON_ARRIVAL as CHARGED_ON_ARRIVAL_NAMES, DELIVERY_JITTER_MS, DIMENSION_INDEX, MINUTE_MS, PER_MINUTE_BURST_DIVISOR, periodOf, SETTLE_BOUND_WAIT_MS } from './policy.js';
import { allowanceOf, correct, createWindowLog, record, arrivedBy, windowHeadroom, windowWait, type WindowEntry, type WindowLog, type WindowShape } from './window.js';
import { resetSample, seedWindow, WindowLearner, type PoolKeyInput } from './window-learn.js';
import {
  DIMENSIONS,
  type Demand,
  type Dimension,
  type KeySnapshot,
  type Observed,
  type ObservedLimits,
  type Priority,
  type QuotaPool,
  type ReserveResult,
  type Reservation,
  type Usage,
} from './types.js';

const { rpm: RPM, rpd: RPD, itpm: ITPM, otpm: OTPM, tpm: TPM, concurrency: CONCURRENCY } = DIMENSION_INDEX;
const DIMENSION_COUNT = DIMENSIONS.length;

interface KeyState {
  id: string;
  buckets: Array<Bucket | undefined>;
  /** Out of service after the provider refused the key, until a probe succeeds (see rest.ts). */
  rest: Rest | undefined;
  coolingUntil: number;
  /** No limit configured nor observed yet: one request at a time until an answer tells us more. */
  learning: boolean;
  /** Open reservations → bitmask of the dimensions they took from (buckets may appear later). */
  inFlight: Map<Reservation, number>;
  /** Per dimension, what those reservations hold that no answer has shown the provider counting. */
  uncounted: number[];
  /** Dimensions whose last correction counted doubtful requests as unseen (see settle); a bitmask. */
  doubted: number;
  predictionMisses: number;
  /** The latest admission time of a request the provider answered (see Answer.fresh). */
  seen: number;
  /** The provider's window, if it counts per window rather than refilling (window.ts). */
  window: WindowLog | undefined;
  /** Open reservations' entries in the window, corrected by settle. */
  windowed: Map<Reservation, WindowEntry>;
  /** The window (or bucket) is configured: none is learned from the headers. */
  windowConfigured: boolean;
}

/**
 * What an answer's headers can say about the key, beyond the numbers.
 * `remaining` is the provider's level when the answered request arrived, which was about when it
 * was admitted; since then the provider has refilled, and has counted the requests that reached it
 * after that one.
 */
interface Answer {
  /** The answered reservation, while in flight: `remaining` includes it at its real size. */
  counted: Reservation | undefined;
  /**
   * The answered request left (sentOf) at least a delivery margin after every request answered so
   * far, so it reached the provider after all of them: this is the newest word on the key and may
   * raise the level. Otherwise an answered request (no longer in flight, so not counted as unseen)
   * may have reached the provider after this one, outside its `remaining`; or an older answer
   * arrives late: either may only lower the level, or it would hand back capacity already used.
   */
  fresh: boolean;
  /**
   * How long the provider has surely refilled since `remaining` was true (fresh answers only): since
   * the request was sent (admitted, if unknown), less the delivery margin it may have spent on the way.
   */
  refilledMs: number;
  /** When the answered request left (sentOf; -Infinity if unknown). */
  leftAt: number;
  /**
   * Requests that left before this were delivered before the answered one and are in `remaining`;
   * later ones are not yet. Requests overtake each other on the way by some milliseconds, so the
   * line is drawn a delivery margin early: the doubtful ones count as not yet seen.
   */
  seenBefore: number;
}

/**
 * When a request left for the provider, as far as the order of arrival goes: when it started going
 * out on a connection if the caller says (Reservation.sentAt), else when it was admitted. Requests
 * admitted together can leave far apart (one waits for a connection to open), so admission order
 * is not arrival order. An answered request had surely left: its admission stands in if unsaid.
 */
function sentOf(reservation: Reservation): number {
  return writtenAt(reservation) ?? reservation.at;
}

/** When the reservation's request started going out on a connection, if the caller said and it has. */
export function writtenAt(reservation: Reservation): number | undefined {
  const sent = reservation.sentAt;
  return sent !== undefined && Number.isFinite(sent) ? sent : undefined;
}

/** As sentOf, for a request still in flight: one still waiting for a connection has not left (Infinity). */
function onTheWay(reservation: Reservation): number {
  return reservation.sentAt ?? reservation.at;
}

/** See policy.ts: the provider never lets these go below zero. */
const CHARGED_ON_ARRIVAL = new Set(CHARGED_ON_ARRIVAL_NAMES.map((d) => DIMENSION_INDEX[d]));

function amountFor(dimension: number, demand: Demand): number {
  switch (dimension) {
    case ITPM:
      return demand.inputTokens;
    case OTPM:
      return demand.outputTokens;
    case TPM:
      return demand.inputTokens + demand.outputTokens;
    default:
      return 1; // rpm, rpd, concurrency
  }
}

/**
 * Until the headers show a bigger burst a per-minute bucket holds one second's worth (see
 * policy.ts; a larger demand is still admitted when the bucket is full, see bucket.ts). Daily and
 * concurrency limits hold it all.
 */
function initialCapacity(dimension: number, limit: number, window?: WindowShape): number {
  if (dimension === RPD || dimension === CONCURRENCY) return limit;
  // A windowed limit is bounded by its window: the bucket holds what one window allows.
  const burst = window ? allowanceOf(window, limit) : limit / PER_MINUTE_BURST_DIVISOR;
  return Math.min(limit, Math.max(burst, 1));
}

function newBucket(dimension: number, limit: number, now: number, window?: WindowShape): Bucket {
  return createBucket(limit, periodOf(DIMENSIONS[dimension]!), initialCapacity(dimension, limit, window), now);
}

/** Per dimension, what a window counts of a demand: the per-minute limits only (rpd and concurrency are not windowed). */
function windowAmounts(demand: Demand): number[] {
  return DIMENSIONS.map((dimension, d) => (periodOf(dimension) === MINUTE_MS ? amountFor(d, demand) : 0));
}

/**
 * Whether a dimension's bucket decides admission: a key with a window admits its per-minute limits
 * by the window alone (a fixed window may take a whole allowance again at its boundary, which no
 * bucket of the same rate allows); their buckets still learn from the headers for the snapshot.
 */
function gates(key: KeyState, d: number): boolean {
  return !(key.window && periodOf(DIMENSIONS[d]!) === MINUTE_MS);
}

function windowAllowances(key: KeyState): Array<number | undefined> {
  const shape = key.window!.shape;
  return key.buckets.map((bucket, d) => (bucket && periodOf(DIMENSIONS[d]!) === MINUTE_MS ? allowanceOf(shape, bucket.limit) : undefined));
}

/**
 * The combined tokens limit, if it is one of its own: Anthropic's `tokens` is input + output when
 * nothing tighter applies, so only a tighter one counts (OpenAI's TPM always does).
 */
export function combinedTokens(observed: ObservedLimits): Observed | undefined {
  const tokens = observed.tokens;
  if (!tokens) return undefined;
  const input = observed.inputTokens?.limit;
  const output = observed.outputTokens?.limit;
  if (input === undefined || output === undefined) return tokens;
  return tokens.limit !== undefined && tokens.limit < input + output ? tokens : undefined;
}

function configuredLimit(limits: Limits, dimension: number): number | undefined {
  return limits[DIMENSIONS[dimension] as Dimension];
}

export class KeyPool implements QuotaPool {
  readonly id: string;
  /** In-process state is never out of reach. */
  readonly degraded = false;
  private readonly keys: KeyState[] = [];
  private readonly byId = new Map<string, KeyState>();
  private readonly restPolicy: RestPolicy;
  private readonly learner = new WindowLearner();

  constructor(id: string, keys: PoolKeyInput[], options: { rest?: RestPolicy } = {}) {
    this.id = id;
    this.restPolicy = options.rest ?? DEFAULT_REST_POLICY;
    for (const { id: keyId, limits, window, windowConfigured } of keys) {
      const buckets: Array<Bucket | undefined> = new Array(DIMENSION_COUNT).fill(undefined);
      let known = false;
      for (let d = 0; d < DIMENSION_COUNT; d++) {
        const limit = configuredLimit(limits, d);
        if (limit !== undefined) {
          buckets[d] = newBucket(d, limit, 0, window);
          known = true;
        }
      }
      const state: KeyState = {
        id: keyId,
        buckets,
        rest: undefined,
        coolingUntil: 0,
        learning: !known,
        inFlight: new Map(),
        uncounted: new Array(DIMENSION_COUNT).fill(0),
        doubted: 0,
        predictionMisses: 0,
        seen: -Infinity,
        window: window && createWindowLog(window),
        windowed: new Map(),
        windowConfigured: windowConfigured ?? window !== undefined,
      };
      this.keys.push(state);
      this.byId.set(keyId, state);
    }
  }

  /**
   * Reserves on the key with the most headroom for this demand, or says how long until one has room.
   * `avoid`: keys that already refused this request.
   */
  tryReserve(demand: Demand, now: number, _priority?: Priority, avoid?: ReadonlySet<string>): ReserveResult {
    let best: KeyState | undefined;
    let bestScore = -Infinity;
    let minWait = Infinity;
    for (const key of this.keys) {
      if (key.rest || avoid?.has(key.id)) continue;
      const score = this.score(key, demand, now);
      if (score === undefined) {
        minWait = Math.min(minWait, this.keyWait(key, demand, now));
      } else if (score > bestScore) {
        best = key;
        bestScore = score;
      }
    }
    if (!best) return { ok: false, waitMs: minWait };
    const reservation: Reservation = { poolId: this.id, keyId: best.id, demand, at: now };
    let mask = 0;
    for (let d = 0; d < DIMENSION_COUNT; d++) {
      const bucket = best.buckets[d];
      if (bucket) {
        const amount = amountFor(d, demand);
        take(bucket, amount + lostToCap(bucket, refill(bucket, now)), now);
        best.uncounted[d]! += amount;
        mask |= 1 << d;
      }
    }
    best.inFlight.set(reservation, mask);
    if (best.window) best.windowed.set(reservation, record(best.window, windowAmounts(demand), now));
    return { ok: true, reservation };
  }

  /** ms until `tryReserve(demand)` would succeed, without reserving (Infinity: no key can serve). */
  waitTime(demand: Demand, now: number, avoid?: ReadonlySet<string>): number {
    let minWait = Infinity;
    for (const key of this.keys) {
      if (!key.rest && !avoid?.has(key.id)) minWait = Math.min(minWait, this.keyWait(key, demand, now));
    }
    return minWait;
  }

  /** Reconciles with the real usage and gives back what was not used. */
  settle(reservation: Reservation, usage: Usage | undefined, now: number): void {
    const key = this.byId.get(reservation.keyId);
    const mask = key?.inFlight.get(reservation);
    if (!key || mask === undefined) return; // unknown or already settled
    key.inFlight.delete(reservation);
    if (usage !== undefined) key.seen = Math.max(key.seen, sentOf(reservation)); // the provider counted it
    const demand = reservation.demand;
    const entry = key.windowed.get(reservation);
    if (entry) {
      key.windowed.delete(reservation);
      correct(key.window!, entry, usage && windowAmounts(usage), now);
    }
    for (let d = 0; d < DIMENSION_COUNT; d++) {
      const bucket = key.buckets[d];
      if (!bucket || (mask & (1 << d)) === 0) continue;
      key.uncounted[d]! -= amountFor(d, demand);
      let back: number;
      if (d === CONCURRENCY) back = 1;
      else if (usage === undefined) back = amountFor(d, demand); // the provider never counted it
      else if (d === ITPM) back = demand.inputTokens - usage.inputTokens;
      else if (d === OTPM) back = demand.outputTokens - usage.outputTokens;
      else if (d === TPM) back = demand.inputTokens + demand.outputTokens - usage.inputTokens - usage.outputTokens;
      else back = 0; // the request itself was counted
      if (back !== 0) giveBack(bucket, back, now);
    }
    // A correction may have counted as unseen requests that the provider had in fact seen (they
    // overtook the answered one on the way). No later answer may correct that (they are older), but
    // as they settle the provider's own floor applies: it never goes below zero on these.
    for (const d of CHARGED_ON_ARRIVAL) {
      const bucket = key.buckets[d];
      if (bucket && key.doubted & (1 << d)) raiseTo(bucket, -key.uncounted[d]!, now);
    }
    if (key.inFlight.size === 0) {
      key.uncounted.fill(0); // no float residue
      key.doubted = 0;
    }
  }

  /**
   * Corrects a key from an answer's headers (see Answer): the level becomes `remaining`, plus the
   * refill since, minus what is in flight that the provider had not seen yet.
   * The burst capacity grows to the largest `remaining` seen: if it never exceeds limit/60, the
   * provider enforces per second and the capacity stays there.
   * `answered`: the reservation whose answer carried these headers, if known. The provider has
   * counted its request and its input, so those are not subtracted again (its output may still be
   * streaming, so that stays reserved).
   */
  observe(keyId: string, observed: ObservedLimits, now: number, answered?: Reservation, sentAt?: number): void {
    const key = this.byId.get(keyId);
    if (!key) return;
    key.learning = false; // an answer without limits means the key has none to learn
    const answeredSent = answered && sentOf(answered);
    const fresh = answeredSent !== undefined && answeredSent - DELIVERY_JITTER_MS >= key.seen;
    // A 429 proves the level was too high, and the bounds on delivery may be what failed (a loaded
    // host delivers late): no refill is credited (a refusal is answered as soon as it is counted),
    // and everything in flight counts as not yet seen; settle's floor gives back what was.
    const refused = observed.refused === true;
    const onArrival: Answer = {
      counted: answered && key.inFlight.has(answered) ? answered : undefined,
      fresh,
      refilledMs: fresh && !refused ? Math.max(0, now - Math.max(answeredSent, sentAt ?? answeredSent) - DELIVERY_JITTER_MS) : 0,
      leftAt: answeredSent ?? -Infinity,
      seenBefore: answeredSent !== undefined && !refused ? answeredSent - DELIVERY_JITTER_MS : -Infinity,
    };
    // Output is counted as it is generated: everything in flight may still add to it.
    const asGenerated: Answer = { ...onArrival, counted: undefined, seenBefore: -Infinity };
    this.learn(key, RPM, observed.requests, now, onArrival);
    this.learn(key, ITPM, observed.inputTokens, now, onArrival);
    this.learn(key, OTPM, observed.outputTokens, now, asGenerated);
    this.learn(key, TPM, combinedTokens(observed), now, asGenerated);
    if (answeredSent !== undefined) key.seen = Math.max(key.seen, answeredSent);
    const entry = answered && key.windowed.get(answered);
    if (entry) arrivedBy(key.window!, entry, now);
    const sample = key.windowConfigured ? undefined : resetSample(observed, now, sentAt ?? answered?.at);
    const learned = sample && this.learner.observe(keyId, sample);
    if (!learned) return;
    this.switchWindow(key, learned.type === 'bucket' ? undefined : learned, now);
    // The answer that taught it is in flight: it arrived by now.
    const taught = answered && key.windowed.get(answered);
    if (taught) arrivedBy(key.window!, taught, now);
  }

  /**
   * The headers showed the key counts per window (or by a bucket after all): admit by that from
   * now on. The new window starts with the requests in flight, unanswered, and the answered ones
   * where their resets place them (window-learn.ts seedWindow).
   */
  private switchWindow(key: KeyState, shape: WindowShape | undefined, now: number): void {
    key.windowed.clear();
    key.window = shape && createWindowLog(shape);
    if (!key.window) return;
    for (const at of seedWindow(shape!, this.learner.recent(key.id), now)) record(key.window, windowAmounts({ inputTokens: 0, outputTokens: 0 }), at, true);
    for (const reservation of key.inFlight.keys()) key.windowed.set(reservation, record(key.window, windowAmounts(reservation.demand), reservation.at));
  }

  /** After an upstream 429: the key takes nothing until `untilMs`. Counted as a prediction miss. */
  coolDown(keyId: string, untilMs: number): void {
    const key = this.byId.get(keyId);
    if (!key) return;
    key.coolingUntil = Math.max(key.coolingUntil, untilMs);
    key.predictionMisses++;
  }

  /** The provider refused the key: out of service until a probe succeeds. True if it was in service. */
  rest(keyId: string, reason: string, now: number): boolean {
    const key = this.byId.get(keyId);
    if (!key || key.rest) return false;
    key.rest = startRest(reason, now);
    return true;
  }

  /** True if a probe of this resting key is due now; the one after it is scheduled as it is claimed. */
  claimProbe(keyId: string, now: number): boolean {
    const key = this.byId.get(keyId);
    const next = key?.rest && claimProbe(key.rest, now, this.restPolicy);
    if (!key || !next) return false;
    key.rest = next;
    return true;
  }

  /** Back in service (a probe succeeded). True if it was resting. */
  enable(keyId: string): boolean {
    const key = this.byId.get(keyId);
    if (!key?.rest) return false;
    key.rest = undefined;
    return true;
  }

  snapshot(now: number): KeySnapshot[] {
    return this.keys.map((key) => {
      const dimensions: KeySnapshot['dimensions'] = {};
      key.buckets.forEach((bucket, d) => {
        if (bucket) dimensions[DIMENSIONS[d]!] = { limit: bucket.limit, capacity: bucket.capacity, remaining: refill(bucket, now) };
      });
      const snap: KeySnapshot = {
        ...(key.window ? { window: { type: key.window.shape.type, lengthMs: key.window.shape.lengthMs, learned: !key.windowConfigured } } : {}),
        id: key.id,
        healthy: key.rest === undefined,
        coolingUntil: key.coolingUntil > now ? key.coolingUntil : 0,
        inFlight: key.inFlight.size,
        learning: key.learning,
        predictionMisses: key.predictionMisses,
        dimensions,
      };
      if (key.rest) {
        snap.disabledReason = key.rest.reason;
        snap.nextProbeAt = key.rest.probeAt;
      }
      return snap;
    });
  }

  /**
   * The smallest share of a limit left after taking the demand (over the limit, not the burst, so
   * keys of different sizes fill in proportion), or undefined if it does not fit now.
   */
  private score(key: KeyState, demand: Demand, now: number): number | undefined {
    if (key.coolingUntil > now) return undefined;
    if (key.learning && key.inFlight.size > 0) return undefined;
    let score = 1;
    for (let d = 0; d < DIMENSION_COUNT; d++) {
      const bucket = key.buckets[d];
      if (!bucket || !gates(key, d)) continue;
      const amount = amountFor(d, demand);
      if (!fits(bucket, amount, now)) return undefined;
      const h = headroomAfter(bucket, amount);
      if (h < score) score = h;
    }
    if (key.window) {
      const amounts = windowAmounts(demand);
      const allowances = windowAllowances(key);
      if (windowWait(key.window, amounts, allowances, now) > 0) return undefined;
      score = Math.min(score, windowHeadroom(key.window, amounts, allowances, now));
    }
    return score;
  }

  private keyWait(key: KeyState, demand: Demand, now: number): number {
    let wait = Math.max(0, key.coolingUntil - now);
    if (key.learning && key.inFlight.size > 0) wait = Math.max(wait, SETTLE_BOUND_WAIT_MS);
    for (let d = 0; d < DIMENSION_COUNT; d++) {
      const bucket = key.buckets[d];
      if (!bucket || !gates(key, d)) continue;
      const w = waitFor(bucket, amountFor(d, demand), now);
      wait = Math.max(wait, w === Infinity ? SETTLE_BOUND_WAIT_MS : w);
    }
    if (key.window) wait = Math.max(wait, windowWait(key.window, windowAmounts(demand), windowAllowances(key), now));
    return wait;
  }

  private learn(key: KeyState, d: number, observed: Observed | undefined, now: number, answer: Answer): void {
    if (!observed) return;
    let bucket = key.buckets[d];
    // A new or changed limit makes our level meaningless: take the provider's word outright.
    let resync = false;
    if (observed.limit !== undefined && observed.limit > 0) {
      resync = !bucket || bucket.limit !== observed.limit;
      if (!bucket) {
        bucket = key.buckets[d] = newBucket(d, observed.limit, now, key.window?.shape);
        // What is in flight counts against the new bucket too, and settle gives it back there.
        key.uncounted[d] = 0;
        for (const [reservation, mask] of key.inFlight) {
          key.inFlight.set(reservation, mask | (1 << d));
          key.uncounted[d] += amountFor(d, reservation.demand);
        }
      } else if (bucket.limit !== observed.limit) {
        refill(bucket, now);
        bucket.limit = observed.limit;
        bucket.capacity = Math.min(observed.limit, Math.max(bucket.capacity, initialCapacity(d, observed.limit, key.window?.shape)));
        bucket.level = Math.min(bucket.level, bucket.capacity);
      }
    }
    if (!bucket || observed.remaining === undefined) return;
    refill(bucket, now);
    // A burst larger than assumed is room we did not know of. For an answer to a known request the
    // level grows only as far as the correction below shows it (a late answer's `remaining` is from
    // before what reached the provider after it); without one, with the capacity.
    const grown = Math.max(0, Math.min(bucket.limit, observed.remaining) - bucket.capacity);
    bucket.capacity += grown;
    if (answer.leftAt === -Infinity) bucket.level += grown;
    const { counted, seenBefore } = answer;
    let unseen = 0;
    let doubtful = false;
    const bit = 1 << d;
    for (const [reservation, mask] of key.inFlight) {
      if (reservation !== counted && onTheWay(reservation) >= seenBefore && mask & bit) {
        unseen += amountFor(d, reservation.demand);
        if (onTheWay(reservation) < answer.leftAt) doubtful = true;
      }
    }
    // The provider's bucket stops at its capacity while refilling; what is still on the way comes off
    // after, and may find it full (lostToCap).
    const after = (level: number) => (unseen > 0 ? level - unseen - lostToCap(bucket, level) : level);
    const credited = after(Math.min(bucket.capacity, observed.remaining + rate(bucket) * answer.refilledMs));
    if (credited >= bucket.level && !resync && !answer.fresh) return;
    // The refill credited since the request was sent assumes it arrived within the delivery margin,
    // which a loaded host breaks: it may lower the level less, but the level rises on the provider's
    // figures alone.
    const truth = credited > bucket.level ? Math.max(bucket.level, after(Math.min(bucket.capacity, observed.remaining))) : credited;
    bucket.level = Math.min(bucket.capacity, truth);
    if (doubtful && CHARGED_ON_ARRIVAL.has(d)) key.doubted |= bit;
    // The answered request, and those admitted before it by more than the delivery margin, are in
    // `remaining` at their real size now: settle must not give their estimates' excess back here.
    for (const [reservation, mask] of key.inFlight) {
      if ((reservation === counted || onTheWay(reservation) < seenBefore) && mask & bit) {
        key.inFlight.set(reservation, mask & ~bit);
        key.uncounted[d]! -= amountFor(d, reservation.demand);
      }
    }
  }
}
