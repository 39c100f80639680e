import type { PivotError } from './index.js';

/** A body as JSON when it is JSON, else the text itself (error bodies come in every quality). */
export function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/**
 * A pivot error from any OpenAI-like upstream error: OpenAI's own body, Ollama's `{error: "…"}`,
 * plain text. The type follows the status, as OpenAI's SDK reads it.
 */
export function errorToPivot(status: number, text: string): PivotError {
  const body = parseJson(text);
  const error = (body as { error?: unknown } | null)?.error;
  const message =
    typeof error === 'string'
      ? error
      : typeof (error as { message?: unknown } | undefined)?.message === 'string'
        ? (error as { message: string }).message
        : typeof body === 'string' && body.length > 0
          ? body.slice(0, 500)
          : `upstream error (HTTP ${status})`;
  const given = error !== null && typeof error === 'object' ? (error as { type?: unknown; code?: unknown; param?: unknown }) : {};
  const type = typeof given.type === 'string' ? given.type : status === 429 ? 'rate_limit_error' : status >= 500 ? 'server_error' : 'invalid_request_error';
  const code = typeof given.code === 'string' ? given.code : status === 429 ? 'rate_limit_exceeded' : null;
  const param = typeof given.param === 'string' ? given.param : null;
  return { status: status === 529 ? 503 : status, body: { error: { message, type, param, code } } };
}
