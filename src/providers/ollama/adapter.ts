import type { ProviderAdapter } from '../types.js';
import { ollamaCodec } from './codec.js';

/** A local Ollama server: no keys, no rate-limit headers; its limit is the configured concurrency. */
export const ollama: ProviderAdapter = {
  type: 'ollama',
  protocol: 'ollama',
  defaultBaseUrl: 'http://127.0.0.1:11434',
  chatPath: () => '/api/chat',
  streamStartsAtOnce: false,
  probe: { path: '/api/tags' },
  authHeaders: () => ({}),
  forwardsHeader: () => false,
  parseLimits: () => ({}),
  codec: ollamaCodec,
};
