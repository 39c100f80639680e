import { parseAnthropicLimits } from './limits.js';
import { anthropicCodec } from './codec.js';
import type { ProviderAdapter } from '../types.js';

export const anthropic: ProviderAdapter = {
  type: 'anthropic',
  protocol: 'anthropic',
  defaultBaseUrl: 'https://api.anthropic.com',
  chatPath: () => '/v1/messages',
  modelsPath: '/v1/models',
  streamStartsAtOnce: true,
  probe: { path: '/v1/models?limit=1', headers: { 'anthropic-version': '2023-06-01' } },
  authHeaders: (key) => ({ 'x-api-key': key }),
  forwardsHeader: (name) => name.startsWith('anthropic-') || name.startsWith('x-stainless-') || name === 'user-agent',
  parseLimits: parseAnthropicLimits,
  codec: anthropicCodec,
};
