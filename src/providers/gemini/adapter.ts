import type { ProviderAdapter } from '../types.js';
import { geminiCodec } from './codec.js';
import { parseGeminiErrorBody, parseGeminiLimits } from './limits.js';

/** A model's generate method; streams always as SSE (a client that asked for the JSON array gets it re-framed at its edge). */
export function generatePath(model: string, stream: boolean): string {
  return `/v1beta/models/${encodeURIComponent(model.replace(/^models\//, ''))}:${stream ? 'streamGenerateContent?alt=sse' : 'generateContent'}`;
}

/** The Gemini Developer API (generateContent); base URL without the version. */
export const gemini: ProviderAdapter = {
  type: 'gemini',
  protocol: 'gemini',
  defaultBaseUrl: 'https://generativelanguage.googleapis.com',
  chatPath: generatePath,
  // A Gemini client's own request goes to Gemini as it came (thought signatures, fields spillway does not know).
  nativePath: (surface, _config, call) => (surface === 'gemini' && call ? generatePath(call.model, call.stream) : undefined),
  // The header form keeps keys out of URLs and logs.
  streamStartsAtOnce: false,
  probe: { path: '/v1beta/models?pageSize=1' },
  authHeaders: (key) => ({ 'x-goog-api-key': key }),
  forwardsHeader: () => false,
  parseLimits: parseGeminiLimits,
  parseErrorBody: parseGeminiErrorBody,
  codec: geminiCodec,
};
