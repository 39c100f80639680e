/** The simulator's public option and statistics types (re-exported by index.ts). */
import type { MergeBehaviour } from './merged.js';
import type { SimRateWindow } from './window.js';

export interface SimLimits {
  rpm?: number;
  rpd?: number;
  itpm?: number;
  otpm?: number;
  /** Input + output tokens per minute (OpenAI style). */
  tpm?: number;
}

export interface SimKey {
  id: string;
  key: string;
  limits: SimLimits;
}

export type SimWindow = 'minute' | 'second';

/**
 * How much a key's per-minute buckets hold (the burst), refilled continuously at the per-minute
 * rate: `fraction` of the limit (1/60 = one second's worth, 1 = the whole minute), or an absolute
 * `capacity` per dimension (those not named take the fraction). Overrides `window`; rpd always holds
 * its whole day unless given a capacity. Never more than the limit, never less than one unit.
 */
export interface SimBucketSize {
  fraction?: number;
  capacity?: SimLimits;
}
export type OtpmMode = 'generated' | 'max_tokens';

export interface SimLatency {
  ttftMs?: number;
  tokensPerSecond?: number;
}

export interface SimFaults {
  overloaded?: number;
  serverError?: number;
  reset?: number;
  /** Never answers (no status line): the client's timeout ends it. */
  stall?: number;
  /** Sends the status and headers, then nothing: a stream that never produces its first event. */
  stallAfterHeaders?: number;
  midStreamError?: number;
  /** Streams that open (after a 200) with the error event itself, before any content. */
  openingError?: number;
  /** Non-streamed answers cut halfway through the body (the connection closes under it). */
  cutBody?: number;
  /** Key ids the provider refuses on every endpoint, as if revoked: 401 in the API's own shape. */
  revokedKeys?: string[];
  /** Per key id, models it may not use: 403 permission_error for those requests, the rest served. */
  forbiddenModels?: Record<string, string[]>;
}

export interface SimOptions {
  /** A request with an unknown key gets 401 in the API's own shape. */
  keys: SimKey[];
  /** 'second': per-minute limits enforced per second (bucket capacity = limit/60, min 1). Default 'minute'. */
  window?: SimWindow;
  /** Any bucket size between one second and the whole minute (see SimBucketSize); replaces `window`'s. */
  bucket?: SimBucketSize;
  /**
   * Per-minute limits counted per window instead of refilled (a per-minute limit N allows
   * N × length / 60 s per window; `window` then does not apply to them). Headers report the limit
   * per minute, what is left in the window, and when the window is empty again.
   */
  rateWindow?: SimRateWindow;
  /**
   * 'generated' (default): otpm needs a positive level and is charged the generated tokens at the
   * end (it may go negative). 'max_tokens': reserves max_tokens at admission, refunds the unused
   * part at the end. `tpm` (input + output) is charged input at admission and output the same way.
   * OpenAI requests without a cap reserve 4096 in 'max_tokens' mode.
   */
  otpm?: OtpmMode;
  /** Default 0 ms / Infinity = instant. setOptions replaces the whole latency object. */
  latency?: SimLatency;
  /** Fixed prose answer length in tokens (capped by max_tokens; tool calls size themselves). */
  outputTokens?: number;
  /**
   * How a merged call (a forced function or JSON schema asking for `{ answers: [{ id, answer }] }`
   * to a JSON list of prompts) is answered: 'follow' (default) answers each prompt as it would
   * alone; 'drop' leaves the last item out; 'garble' writes the list as cut-off text (invalid JSON).
   */
  mergeAnswers?: MergeBehaviour;
  /** Probabilities 0..1, drawn per request after auth and rate limiting; and refusals of keys. */
  faults?: SimFaults;
  seed?: number;
}

/**
 * Counts for inference requests (messages, chat completions, embeddings, Ollama chat; not
 * count_tokens or model lists). `requests` includes rejected ones; `errors` = 400/401, faults and
 * streams cut off by the client. Token counts are what was charged upstream. Ollama traffic is
 * listed under the key id 'ollama'.
 */
export interface SimKeyStats {
  requests: number;
  ok: number;
  rateLimited: number;
  errors: number;
  inputTokens: number;
  outputTokens: number;
  peakConcurrency: number;
}

export interface SimStats {
  total: SimKeyStats;
  keys: Record<string, SimKeyStats>;
}

export interface Simulator {
  url: string;
  stats(): SimStats;
  resetStats(): void;
  setOptions(patch: Partial<Pick<SimOptions, 'faults' | 'latency' | 'outputTokens' | 'window' | 'bucket' | 'otpm' | 'mergeAnswers'>>): void;
  close(): Promise<void>;
}
