import { parseOpenAILimits } from './limits.js';
import { openAICodec } from './codec.js';
import type { ProviderAdapter } from '../types.js';

/** OpenAI and every OpenAI-compatible server (vLLM, DeepSeek, OpenRouter, llama.cpp …): base URL includes /v1. */
export const openai: ProviderAdapter = {
  type: 'openai',
  protocol: 'openai',
  defaultBaseUrl: 'https://api.openai.com/v1',
  chatPath: () => '/chat/completions',
  modelsPath: '/models',
  streamStartsAtOnce: false,
  probe: { path: '/models' },
  authHeaders: (key) => ({ authorization: `Bearer ${key}` }),
  // Not openai-organization / openai-project: they choose whose account the provider key bills,
  // which is the operator's to set (provider `headers`), not a client's.
  forwardsHeader: (name) => name.startsWith('x-stainless-') || name === 'user-agent',
  parseLimits: parseOpenAILimits,
  codec: openAICodec,
};
