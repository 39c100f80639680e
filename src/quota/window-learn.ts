/**
 * Learning a key's window from its answers' `reset` headers (issue 17). The provider reports, with
 * each answer, when the limit will be whole again. Over a few answers the three shapes tell
 * themselves apart:
 *   - sliding window: the answered request is the newest one counted, so the window is whole
 *     again one window length after it arrived: `reset - sent` is the same for every answer,
 *     however much is left;
 *   - fixed window: every answer within a window names the same boundary, whatever was sent when
 *     and whatever is left, and the boundaries lie on a grid of the window's length;
 *   - bucket: the wait until full grows with what was taken (limit − remaining at the refill rate).
 * Only answers that counted their request say this (a refusal's reset is about older ones).
 * Pure functions over plain samples; the pools keep the samples (WindowLearner).
 */
import type { Limits } from '../config/schema.js';
import type { ObservedLimits } from './types.js';
import type { WindowShape } from './window.js';

/** A key as the pools take it: its limits, its window if it has one, and whether that is configured (else learned). */
export interface PoolKeyInput {
  id: string;
  limits: Limits;
  window?: WindowShape;
  /** A window (or `type: bucket`) is configured: none is learned. Defaults to whether `window` is given. */
  windowConfigured?: boolean;
}

/** One answer that counted its request, as the requests dimension reported it. */
export interface ResetSample {
  /** When the request was sent (ms): it reached the provider no earlier. */
  sentAt: number;
  /** When the provider said the limit is whole again (ms, absolute: answer time + reset). */
  resetAt: number;
  remaining: number;
  /** Per minute. */
  limit: number;
}

/** What the samples say: a window, a bucket, or not enough yet (undefined). */
export type LearnedShape = WindowShape | { type: 'bucket' };

/**
 * How far one answer's reset may stray from the shape's prediction: Anthropic's resets are whole
 * seconds (rounded up), OpenAI's are relative to a moment a little before we read them, and a
 * request reaches the provider some time after it was sent.
 */
export const RESET_TOLERANCE_MS = 1500;
/** Answers needed before a shape is named. */
export const MIN_SAMPLES = 6;
/** Answers kept per key. */
export const MAX_SAMPLES = 32;
const SECOND_MS = 1000;

/**
 * What a bucket of this limit would have made of the spread in `remaining`: its reset moves by
 * 60 s / limit per unit taken. Only when that exceeds what the tolerance hides do the samples tell
 * a bucket from a window.
 */
function bucketSpreadMs(samples: readonly ResetSample[]): number {
  let lo = Infinity;
  let hi = -Infinity;
  let limit = Infinity;
  for (const s of samples) {
    lo = Math.min(lo, s.remaining);
    hi = Math.max(hi, s.remaining);
    limit = Math.min(limit, s.limit);
  }
  return limit > 0 && Number.isFinite(limit) ? ((hi - lo) * 60_000) / limit : 0;
}

/** Sliding: `reset - sent` constant over answers with different levels; the window is its least value in whole seconds. */
function slidingLength(samples: readonly ResetSample[]): number | undefined {
  const deltas = samples.map((s) => s.resetAt - s.sentAt);
  const lo = Math.min(...deltas);
  const hi = Math.max(...deltas);
  if (hi - lo > RESET_TOLERANCE_MS || lo < SECOND_MS) return undefined;
  return Math.floor(lo / SECOND_MS) * SECOND_MS;
}

/**
 * Fixed: the resets fall on few instants, each named by answers sent well apart, on a grid of one
 * length (aligned to multiples of it since the epoch, as the window model assumes). The length is
 * the least gap between two instants, so at least two windows must have been seen.
 */
function fixedLength(samples: readonly ResetSample[]): number | undefined {
  const sorted = [...samples].sort((a, b) => a.resetAt - b.resetAt);
  const groups: ResetSample[][] = [];
  for (const s of sorted) {
    const last = groups[groups.length - 1];
    if (last && s.resetAt - last[0]!.resetAt <= RESET_TOLERANCE_MS) last.push(s);
    else groups.push([s]);
  }
  if (groups.length < 2 || groups.length > samples.length / 2) return undefined;
  // Answers sent well apart name the same instant: no sliding window does that.
  const shared = groups.some((g) => Math.max(...g.map((s) => s.sentAt)) - Math.min(...g.map((s) => s.sentAt)) > 2 * RESET_TOLERANCE_MS || bucketSpreadMs(g) > 2 * RESET_TOLERANCE_MS);
  if (!shared) return undefined;
  const instants = groups.map((g) => Math.max(...g.map((s) => s.resetAt)));
  let gap = Infinity;
  for (let i = 1; i < instants.length; i++) gap = Math.min(gap, instants[i]! - instants[i - 1]!);
  const length = Math.round(gap / SECOND_MS) * SECOND_MS;
  if (length < SECOND_MS) return undefined;
  for (const g of groups) {
    for (const s of g) if (s.resetAt - s.sentAt > length + RESET_TOLERANCE_MS) return undefined; // a window ends within a length of any request
    const off = Math.max(...g.map((s) => s.resetAt)) % length;
    if (Math.min(off, length - off) > RESET_TOLERANCE_MS) return undefined;
  }
  return length;
}

/** The sample an answer gives, if it counted its request and reported the requests limit whole. */
export function resetSample(observed: ObservedLimits, now: number, sentAt: number | undefined): ResetSample | undefined {
  const requests = observed.requests;
  if (observed.refused || sentAt === undefined || !requests) return undefined;
  const { limit, remaining, resetMs } = requests;
  if (limit === undefined || remaining === undefined || resetMs === undefined || limit <= 0) return undefined;
  return { sentAt, resetAt: now + resetMs, remaining, limit };
}

/**
 * Where a window just learned must already count the answered requests: one window length before
 * each reset (sliding: no earlier than the request arrived; fixed: the start of its window). The
 * newest sample is the answer being read, still in flight: the pool counts it as such.
 */
export function seedWindow(shape: WindowShape, samples: readonly ResetSample[], now: number): number[] {
  return samples
    .slice(0, -1)
    .map((s) => s.resetAt - shape.lengthMs)
    .filter((at) => at > now - shape.lengthMs - RESET_TOLERANCE_MS)
    .sort((a, b) => a - b);
}

/** The shape the samples show, or undefined while they do not tell (too few, or levels too alike). */
export function learnWindow(samples: readonly ResetSample[]): LearnedShape | undefined {
  if (samples.length < MIN_SAMPLES) return undefined;
  if (bucketSpreadMs(samples) <= 2 * RESET_TOLERANCE_MS) return undefined; // a bucket would look the same
  const sliding = slidingLength(samples);
  if (sliding !== undefined) return { type: 'sliding', lengthMs: sliding };
  const fixed = fixedLength(samples);
  if (fixed !== undefined) return { type: 'fixed', lengthMs: fixed };
  return isBucket(samples) ? { type: 'bucket' } : undefined;
}

/** A bucket's reset is what was taken at its refill rate: `reset - sent` plus what is left at that rate is its size, the same for every answer. */
function isBucket(samples: readonly ResetSample[]): boolean {
  const sizes = samples.map((s) => s.resetAt - s.sentAt + (s.remaining * 60_000) / s.limit);
  return Math.max(...sizes) - Math.min(...sizes) <= 2 * RESET_TOLERANCE_MS;
}

/**
 * The recent samples of each key, and the shape they last showed. `observe` answers a shape when
 * it differs from the last one named (the pool then switches the key), else undefined.
 */
export class WindowLearner {
  private readonly samples = new Map<string, ResetSample[]>();
  private readonly named = new Map<string, string>();

  observe(keyId: string, sample: ResetSample): LearnedShape | undefined {
    let list = this.samples.get(keyId);
    if (!list) this.samples.set(keyId, (list = []));
    list.push(sample);
    if (list.length > MAX_SAMPLES) list.shift();
    const shape = learnWindow(list);
    if (!shape) return undefined;
    const name = shape.type === 'bucket' ? 'bucket' : `${shape.type}:${shape.lengthMs}`;
    if (this.named.get(keyId) === name) return undefined;
    // A bucket is what the key starts as: naming it first changes nothing.
    const first = !this.named.has(keyId);
    this.named.set(keyId, name);
    return first && shape.type === 'bucket' ? undefined : shape;
  }

  /** The answers of the key so far, for seeding a window it switches to. */
  recent(keyId: string): readonly ResetSample[] {
    return this.samples.get(keyId) ?? [];
  }
}
