/**
 * What an API surface (Anthropic, OpenAI, Ollama, Gemini) contributes to the shared request pipeline in
 * server.ts: how it authenticates, parses a request into a Job, renders answers and errors, and
 * which rate-limit headers it speaks.
 */
import type { IncomingMessage } from 'node:http';
import type { Demand, KeyBuckets, Refused } from './limiter.js';
import type { MergeBehaviour } from './merged.js';
import type { SimLimits, SimWindow } from './options.js';

/** A piece of the response body and the output tokens it carries (for pacing and accounting). */
export interface Frame {
  text: string;
  tokens: number;
}

export interface Reply {
  contentType: string;
  /** Body pieces; a non-streaming reply has exactly one. */
  frames: Frame[];
  outputTokens: number;
  /** Index of the first content delta; a mid-stream fault breaks the stream right after it. */
  firstDelta: number;
}

export interface ReplyContext {
  requestId: string;
  now: number;
  /** SimOptions.outputTokens */
  fixedLength: number | undefined;
  /** SimOptions.mergeAnswers: how a merged call is answered ('follow' when absent). */
  mergeAnswers?: MergeBehaviour;
  /** A fresh unique suffix for message/tool-call ids. */
  uniqueId(): string;
}

/** A validated request, ready for admission. */
export interface Job {
  model: string;
  stream: boolean;
  demand: Demand;
  reply(ctx: ReplyContext): Reply;
}

export interface ErrorReply {
  status: number;
  body: string;
  headers?: Record<string, string>;
}

export type ErrorKind = 'invalid_request' | 'authentication' | 'permission' | 'not_found' | 'overloaded' | 'server';

export interface RateLimitContext {
  refusal: Refused;
  limits: SimLimits;
  window: SimWindow;
  model: string;
  requestId: string;
  /** Current level of the refusing bucket, floored (≥ 0). */
  remaining: number;
  /** Size of the refusing bucket. */
  capacity: number;
}

export interface Surface {
  requestIdHeader: string;
  /** The caller's credential; null when the surface needs none (Ollama). */
  credential(req: IncomingMessage): string | undefined | null;
  error(kind: ErrorKind, message: string, requestId: string, param?: string): ErrorReply;
  /** `missing`: no credential at all (Gemini answers that differently from a wrong one). */
  unauthorized(requestId: string, missing?: boolean): ErrorReply;
  rateLimited(ctx: RateLimitContext): ErrorReply;
  limitHeaders(buckets: KeyBuckets, limits: SimLimits, now: number): Record<string, string>;
  /** The bytes that break a stream after a 200 (Anthropic `event: error`, OpenAI error chunk…). */
  midStreamError(): string;
}

export type ParseResult = Job | ErrorReply;

export function isErrorReply(value: ParseResult): value is ErrorReply {
  return 'status' in value;
}
