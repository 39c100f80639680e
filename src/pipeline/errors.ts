/**
 * Errors spillway itself gives, in the caller's own API shape: Anthropic error JSON on Anthropic
 * paths, OpenAI error JSON on OpenAI paths, google.rpc.Status on Gemini paths.
 */
import type { AnthropicErrorType } from '../protocol/anthropic.js';
import type { Fault } from '../protocol/invalid.js';
import type { Surface } from '../protocol/surface.js';
import { openAIShapeOf } from '../protocol/anthropic-errors.js';
import { googleError } from '../surfaces/gemini/answer.js';


/** The kinds of error spillway gives; each maps to one status and one type per surface. */
export type GatewayErrorKind =
  | 'invalid_request'
  | 'authentication'
  | 'permission'
  | 'not_found'
  | 'too_large'
  | 'rate_limited'
  /** A tenant's budget is spent: a 429 that retrying before the reset cannot cure. */
  | 'over_budget'
  /** Larger than a per-minute limit of every key that could serve it: a 429 no retry cures. */
  | 'over_limit'
  | 'overloaded'
  | 'upstream'
  | 'timeout';

/** Each kind's status, and its Anthropic error type; the OpenAI shape follows from the type. */
const table: Record<GatewayErrorKind, { status: number; type: AnthropicErrorType }> = {
  invalid_request: { status: 400, type: 'invalid_request_error' },
  authentication: { status: 401, type: 'authentication_error' },
  permission: { status: 403, type: 'permission_error' },
  not_found: { status: 404, type: 'not_found_error' },
  too_large: { status: 413, type: 'request_too_large' },
  rate_limited: { status: 429, type: 'rate_limit_error' },
  over_budget: { status: 429, type: 'rate_limit_error' },
  over_limit: { status: 429, type: 'rate_limit_error' },
  overloaded: { status: 503, type: 'overloaded_error' },
  upstream: { status: 502, type: 'api_error' },
  timeout: { status: 504, type: 'timeout_error' },
};

const RETRYABLE = new Set<GatewayErrorKind>(['rate_limited', 'overloaded', 'upstream', 'timeout']);

export class GatewayError extends Error {
  override name = 'GatewayError';
  constructor(
    readonly kind: GatewayErrorKind,
    message: string,
    readonly extra: { retryAfterMs?: number; param?: string; code?: string } = {},
  ) {
    super(message);
  }

  get status(): number {
    return table[this.kind].status;
  }
}

/** A request fault, as the provider words it (and, for OpenAI callers, with its param and code). */
export function invalidRequest(fault: Fault): GatewayError {
  return new GatewayError('invalid_request', fault.message, { ...(fault.param ? { param: fault.param } : {}), ...(fault.code ? { code: fault.code } : {}) });
}

export interface ErrorResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

export function errorResponse(surface: Surface, error: GatewayError, requestId: string): ErrorResponse {
  const entry = table[error.kind];
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  // Claude Code and the SDKs retry 4xx such as 401 many times unless told not to.
  if (!RETRYABLE.has(error.kind)) headers['x-should-retry'] = 'false';
  if (error.extra.retryAfterMs !== undefined) {
    const wait = error.extra.retryAfterMs;
    // Whole seconds round up, which leaves slack. The precise header, which the SDKs prefer, gets
    // some too: a client retrying exactly on time (with another waiter at the same moment) must
    // still find the room there.
    headers['retry-after'] = String(Math.max(1, Math.ceil(wait / 1000)));
    headers['retry-after-ms'] = String(Math.ceil(wait + Math.min(wait * 0.1, 250) + 50));
  }
  return { status: entry.status, headers, body: JSON.stringify(errorBodies[surface](error, entry.type, requestId)) };
}

/** Each surface's error body for one of spillway's own errors. */
const openAIErrorBody = (error: GatewayError, type: AnthropicErrorType) => ({
  error: { message: error.message, ...openAIShapeOf(type), param: error.extra.param ?? null, ...(error.extra.code ? { code: error.extra.code } : {}) },
});
const errorBodies: Record<Surface, (error: GatewayError, type: AnthropicErrorType, requestId: string) => unknown> = {
  anthropic: (error, type, requestId) => ({ type: 'error', error: { type, message: error.message }, request_id: requestId }),
  openai: openAIErrorBody,
  responses: openAIErrorBody,
  gemini: (error) => googleError(table[error.kind].status, error.message, error.extra.retryAfterMs),
};

/** A mid-stream failure after the first byte: the surface's own error event. */
export function streamErrorEvent(surface: Surface, kind: GatewayErrorKind, message: string): string {
  return streamErrors[surface](kind, message);
}

const streamErrors: Record<Surface, (kind: GatewayErrorKind, message: string) => string> = {
  anthropic: (kind, message) => `event: error\ndata: ${JSON.stringify({ type: 'error', error: { type: table[kind].type, message } })}\n\n`,
  openai: (kind, message) => `data: ${JSON.stringify({ error: { message, ...openAIShapeOf(table[kind].type), param: null } })}\n\n`,
  // The stream's own `error` event (a native passthrough cut short; translated streams end with response.failed themselves).
  responses: (kind, message) => `event: error\ndata: ${JSON.stringify({ type: 'error', code: openAIShapeOf(table[kind].type).code ?? 'server_error', message, param: null })}\n\n`,
  gemini: (kind, message) => `data: ${JSON.stringify(googleError(table[kind].status, message))}\n\n`,
};
