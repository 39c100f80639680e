import { parseOpenAILimits } from './limits.js';
import { openAICodec } from './codec.js';
import type { ProviderAdapter } from '../types.js';

/** OpenAI and every OpenAI-compatible server (vLLM, DeepSeek, OpenRouter, llama.cpp …): base URL includes /v1. */
const DEFAULT_BASE_URL = 'https://api.openai.com/v1';

export const openai: ProviderAdapter = {
  type: 'openai',
  protocol: 'openai',
  defaultBaseUrl: DEFAULT_BASE_URL,
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
  // OpenAI itself serves the Responses API; compatible servers mostly do not, unless told so.
  nativePath: (surface, config) => {
    if (surface !== 'responses') return undefined;
    const native = config.responses ?? (new URL(config.base_url ?? DEFAULT_BASE_URL).hostname === 'api.openai.com' ? 'native' : 'chat');
    return native === 'native' ? '/responses' : undefined;
  },
};
