import type { ObservedLimits } from '../quota/types.js';
import type { Headers, ProviderAdapter } from './types.js';

/**
 * Gemini sends no rate-limit headers (wire-facts §8.5): its wait lives in the 429 body's RetryInfo,
 * so only a retry-after, if some proxy in front adds one, is read here; configured limits do the rest.
 */
function parseGeminiLimits(headers: Headers): ObservedLimits {
  const value = headers['retry-after'];
  const seconds = Number(Array.isArray(value) ? value[0] : value);
  return Number.isFinite(seconds) && seconds > 0 ? { retryAfterMs: seconds * 1000 } : {};
}

/**
 * Gemini's 429 carries its wait in the body: `details[]` holds a google.rpc.RetryInfo whose
 * `retryDelay` is a protobuf Duration ("47s", "45.837906927s"). The body may be wrapped in an array.
 */
function parseGeminiErrorBody(status: number, body: string): ObservedLimits {
  if (status !== 429 && status !== 503) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return {};
  }
  const root: unknown = Array.isArray(parsed) ? parsed[0] : parsed;
  const details = (root as { error?: { details?: unknown } } | null)?.error?.details;
  if (!Array.isArray(details)) return {};
  for (const detail of details) {
    const d = detail as { '@type'?: unknown; retryDelay?: unknown } | null;
    if (typeof d?.['@type'] !== 'string' || !d['@type'].endsWith('google.rpc.RetryInfo') || typeof d.retryDelay !== 'string') continue;
    const match = /^(\d+(?:\.\d+)?)s$/.exec(d.retryDelay.trim());
    if (match) return { retryAfterMs: Number(match[1]) * 1000 };
  }
  return {};
}

/** The Gemini Developer API (generateContent); base URL without the version. */
export const gemini: ProviderAdapter = {
  type: 'gemini',
  protocol: 'gemini',
  defaultBaseUrl: 'https://generativelanguage.googleapis.com',
  chatPath: (model, stream) =>
    `/v1beta/models/${encodeURIComponent(model.replace(/^models\//, ''))}:${stream ? 'streamGenerateContent?alt=sse' : 'generateContent'}`,
  // The header form keeps keys out of URLs and logs.
  authHeaders: (key) => ({ 'x-goog-api-key': key }),
  forwardsHeader: () => false,
  parseLimits: parseGeminiLimits,
  parseErrorBody: parseGeminiErrorBody,
};
