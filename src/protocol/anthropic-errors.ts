/**
 * Error bodies between surfaces, with the HTTP status the target surface's clients expect
 * (e.g. Anthropic 529 overloaded ⇄ OpenAI 503). Also used for errors that arrive mid-stream,
 * where there is no status and the error's type decides.
 */
import type { AnthropicErrorBody, AnthropicErrorType } from './anthropic.js';
import type { OpenAIErrorBody } from './openai.js';

export interface TranslatedError<Body> {
  status: number;
  body: Body;
}

interface OpenAIShape {
  status: number;
  type: string;
  code: string | null;
}

const ANTHROPIC_TO_OPENAI: Record<AnthropicErrorType, OpenAIShape> = {
  invalid_request_error: { status: 400, type: 'invalid_request_error', code: null },
  authentication_error: { status: 401, type: 'invalid_request_error', code: 'invalid_api_key' },
  billing_error: { status: 402, type: 'insufficient_quota', code: 'insufficient_quota' },
  permission_error: { status: 403, type: 'invalid_request_error', code: 'permission_denied' },
  not_found_error: { status: 404, type: 'invalid_request_error', code: 'not_found' },
  conflict_error: { status: 409, type: 'invalid_request_error', code: 'conflict' },
  request_too_large: { status: 413, type: 'invalid_request_error', code: 'request_too_large' },
  rate_limit_error: { status: 429, type: 'rate_limit_error', code: 'rate_limit_exceeded' },
  api_error: { status: 500, type: 'server_error', code: null },
  timeout_error: { status: 504, type: 'server_error', code: 'timeout' },
  overloaded_error: { status: 503, type: 'server_error', code: 'overloaded' },
};

const ANTHROPIC_STATUS: Record<AnthropicErrorType, number> = {
  invalid_request_error: 400,
  authentication_error: 401,
  billing_error: 402,
  permission_error: 403,
  not_found_error: 404,
  conflict_error: 409,
  request_too_large: 413,
  rate_limit_error: 429,
  api_error: 500,
  timeout_error: 504,
  overloaded_error: 529,
};

/** The OpenAI error `type` and `code` that stand for an Anthropic error type. */
export function openAIShapeOf(type: AnthropicErrorType): { type: string; code: string | null } {
  const { type: openAIType, code } = ANTHROPIC_TO_OPENAI[type];
  return { type: openAIType, code };
}

function isAnthropicType(type: string): type is AnthropicErrorType {
  return Object.hasOwn(ANTHROPIC_STATUS, type);
}

/** Reads an Anthropic error body of any quality; `status` is the upstream HTTP status if known. */
export function anthropicErrorToOpenAI(status: number | undefined, body: unknown): TranslatedError<OpenAIErrorBody> {
  const error = (body as Partial<AnthropicErrorBody> | null)?.error;
  const type = typeof error?.type === 'string' ? error.type : undefined;
  const message = typeof error?.message === 'string' ? error.message : fallbackMessage(status, body);
  const shape = type && isAnthropicType(type) ? ANTHROPIC_TO_OPENAI[type] : ANTHROPIC_TO_OPENAI[anthropicTypeForStatus(status ?? 500)];
  return { status: shape.status, body: { error: { message, type: shape.type, param: null, code: shape.code } } };
}

/** Reads an OpenAI (or OpenAI-compatible) error body; `status` is undefined for mid-stream errors. */
export function openAIErrorToAnthropic(status: number | undefined, body: unknown): TranslatedError<AnthropicErrorBody> {
  const error = (body as { error?: unknown } | null)?.error;
  let message: string;
  let code: string | undefined;
  let type: string | undefined;
  if (typeof error === 'string') message = error; // Ollama and some compatible servers
  else if (error && typeof error === 'object') {
    const e = error as { message?: unknown; code?: unknown; type?: unknown };
    message = typeof e.message === 'string' ? e.message : fallbackMessage(status, body);
    code = typeof e.code === 'string' ? e.code : undefined;
    type = typeof e.type === 'string' ? e.type : undefined;
  } else message = fallbackMessage(status, body);
  const anthropicType = status !== undefined ? anthropicTypeForStatus(status) : anthropicTypeForCode(code, type);
  return {
    status: status !== undefined && anthropicType === 'invalid_request_error' && status >= 400 && status < 500 ? status : ANTHROPIC_STATUS[anthropicType],
    body: { type: 'error', error: { type: anthropicType, message } },
  };
}

export function anthropicTypeForStatus(status: number): AnthropicErrorType {
  switch (status) {
    case 401: return 'authentication_error';
    case 402: return 'billing_error';
    case 403: return 'permission_error';
    case 404: return 'not_found_error';
    case 413: return 'request_too_large';
    case 429: return 'rate_limit_error';
    case 503:
    case 529: return 'overloaded_error';
    case 504: return 'timeout_error';
    default: return status >= 500 ? 'api_error' : 'invalid_request_error';
  }
}

/** Mid-stream OpenAI errors carry no status, only a code and type. */
function anthropicTypeForCode(code: string | undefined, type: string | undefined): AnthropicErrorType {
  if (code === 'rate_limit_exceeded' || type === 'tokens' || type === 'requests' || type === 'rate_limit_error') return 'rate_limit_error';
  if (code === 'insufficient_quota') return 'billing_error';
  if (code === 'overloaded' || code === 'server_overloaded') return 'overloaded_error';
  if (code === 'timeout') return 'timeout_error';
  if (type === 'invalid_request_error') return 'invalid_request_error';
  return 'api_error';
}

function fallbackMessage(status: number | undefined, body: unknown): string {
  if (typeof body === 'string' && body.length > 0) return body.slice(0, 500);
  return status !== undefined ? `upstream error (HTTP ${status})` : 'upstream error';
}
