import type { ProviderAdapter } from '../types.js';
import { geminiCodec } from './codec.js';
import { parseGeminiErrorBody, parseGeminiLimits } from './limits.js';

/** The Gemini Developer API (generateContent); base URL without the version. */
export const gemini: ProviderAdapter = {
  type: 'gemini',
  protocol: 'gemini',
  defaultBaseUrl: 'https://generativelanguage.googleapis.com',
  chatPath: (model, stream) =>
    `/v1beta/models/${encodeURIComponent(model.replace(/^models\//, ''))}:${stream ? 'streamGenerateContent?alt=sse' : 'generateContent'}`,
  // The header form keeps keys out of URLs and logs.
  streamStartsAtOnce: false,
  probe: { path: '/v1beta/models?pageSize=1' },
  authHeaders: (key) => ({ 'x-goog-api-key': key }),
  forwardsHeader: () => false,
  parseLimits: parseGeminiLimits,
  parseErrorBody: parseGeminiErrorBody,
  codec: geminiCodec,
};
