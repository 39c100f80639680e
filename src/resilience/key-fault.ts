/**
 * keyFaultOf: does an upstream refusal belong to the key, to this request on this key, or to
 * neither? Pure, one place, table-tested (test/unit/key-rest.test.ts).
 *
 * - 'key': the credential itself was refused (401 Anthropic authentication_error, OpenAI
 *   invalid_api_key, Gemini's 400 API_KEY_INVALID). The key rests and is probed; the request moves
 *   to another key. A 401 a client provoked (a header the provider reads as another auth scheme)
 *   costs little: the first probe runs at once and brings a good key back.
 * - 'request': the key is valid but may not do this (403 permission_error: a model, a beta, a
 *   feature the key's workspace lacks). Nothing rests, since one client's request must not take a
 *   key from everyone; the request tries the other keys, and if all refuse it the 403 is its answer.
 */

export type KeyFaultScope = 'key' | 'request';

export interface KeyFault {
  scope: KeyFaultScope;
  /** For logs, alerts and the dashboard; never contains the key. */
  reason: string;
}

export interface ErrorFields {
  /** Anthropic error.type, OpenAI error.type, Gemini error.status. */
  type: string;
  /** OpenAI error.code, Gemini ErrorInfo reasons. */
  codes: string[];
  message: string;
}

/** A provider's error JSON (Anthropic, OpenAI or Gemini) read into one shape; empty fields when it is not one. */
export function errorFieldsOf(body: string): ErrorFields {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return { type: '', codes: [], message: '' };
  }
  // Gemini may wrap its error in an array.
  const root = (Array.isArray(parsed) ? parsed[0] : parsed) as { error?: unknown } | null;
  const error = (root && typeof root === 'object' ? root.error : undefined) as Record<string, unknown> | undefined;
  if (!error || typeof error !== 'object') return { type: '', codes: [], message: '' };
  const text = (value: unknown) => (typeof value === 'string' ? value : '');
  const codes = [text(error.code)];
  if (Array.isArray(error.details)) {
    for (const detail of error.details as Array<{ reason?: unknown } | null>) codes.push(text(detail?.reason));
  }
  return { type: text(error.type) || text(error.status), codes: codes.filter(Boolean), message: text(error.message) };
}

function describe(status: number, fields: ErrorFields): string {
  const what = fields.type || fields.codes[0] || 'error';
  const message = fields.message.length > 160 ? `${fields.message.slice(0, 157)}...` : fields.message;
  return `the provider answered ${status} ${what}${message ? `: ${message}` : ''}`;
}

export function keyFaultOf(status: number, body: string): KeyFault | undefined {
  if (status !== 401 && status !== 403 && status !== 400) return undefined;
  const fields = errorFieldsOf(body);
  if (status === 400) {
    // Gemini answers a bad key 400 INVALID_ARGUMENT with reason API_KEY_INVALID (wire-facts §8.5).
    return fields.codes.includes('API_KEY_INVALID') ? { scope: 'key', reason: describe(status, fields) } : undefined;
  }
  if (status === 401) return { scope: 'key', reason: describe(status, fields) };
  return { scope: 'request', reason: describe(status, fields) };
}
