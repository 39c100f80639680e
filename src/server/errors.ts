/**
 * Errors spillway itself gives, in the caller's own API shape: Anthropic error JSON on Anthropic
 * paths, OpenAI error JSON on OpenAI paths.
 */

export type Surface = 'anthropic' | 'openai';

/** The kinds of error spillway gives; each maps to one status and one type per surface. */
export type GatewayErrorKind =
  | 'invalid_request'
  | 'authentication'
  | 'permission'
  | 'not_found'
  | 'too_large'
  | 'rate_limited'
  | 'overloaded'
  | 'upstream'
  | 'timeout';

const table: Record<GatewayErrorKind, { status: number; anthropic: string; openai: string }> = {
  invalid_request: { status: 400, anthropic: 'invalid_request_error', openai: 'invalid_request_error' },
  authentication: { status: 401, anthropic: 'authentication_error', openai: 'invalid_request_error' },
  permission: { status: 403, anthropic: 'permission_error', openai: 'invalid_request_error' },
  not_found: { status: 404, anthropic: 'not_found_error', openai: 'invalid_request_error' },
  too_large: { status: 413, anthropic: 'request_too_large', openai: 'invalid_request_error' },
  rate_limited: { status: 429, anthropic: 'rate_limit_error', openai: 'rate_limit_exceeded' },
  overloaded: { status: 503, anthropic: 'overloaded_error', openai: 'server_error' },
  upstream: { status: 502, anthropic: 'api_error', openai: 'server_error' },
  timeout: { status: 504, anthropic: 'timeout_error', openai: 'server_error' },
};

const openaiCodes: Partial<Record<GatewayErrorKind, string>> = {
  authentication: 'invalid_api_key',
  not_found: 'not_found',
  rate_limited: 'rate_limit_exceeded',
};

const RETRYABLE = new Set<GatewayErrorKind>(['rate_limited', 'overloaded', 'upstream', 'timeout']);

export class GatewayError extends Error {
  override name = 'GatewayError';
  constructor(
    readonly kind: GatewayErrorKind,
    message: string,
    readonly extra: { retryAfterMs?: number; param?: string } = {},
  ) {
    super(message);
  }

  get status(): number {
    return table[this.kind].status;
  }
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
    headers['retry-after'] = String(Math.max(1, Math.ceil(error.extra.retryAfterMs / 1000)));
    headers['retry-after-ms'] = String(Math.max(1, Math.ceil(error.extra.retryAfterMs)));
  }
  const body =
    surface === 'anthropic'
      ? { type: 'error', error: { type: entry.anthropic, message: error.message }, request_id: requestId }
      : {
          error: {
            message: error.message,
            type: entry.openai === 'rate_limit_exceeded' ? 'requests' : entry.openai,
            param: error.extra.param ?? null,
            code: openaiCodes[error.kind] ?? null,
          },
        };
  return { status: entry.status, headers, body: JSON.stringify(body) };
}

/** A mid-stream failure after the first byte: the surface's own error event. */
export function streamErrorEvent(surface: Surface, kind: GatewayErrorKind, message: string): string {
  const entry = table[kind];
  if (surface === 'anthropic') {
    return `event: error\ndata: ${JSON.stringify({ type: 'error', error: { type: entry.anthropic, message } })}\n\n`;
  }
  return `data: ${JSON.stringify({ error: { message, type: entry.openai, param: null, code: openaiCodes[kind] ?? null } })}\n\n`;
}
