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
};
