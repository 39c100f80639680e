/** The bridge the gateway builds for a client surface and a provider type, as tests drive it. */
import { bridgeFor, type Bridge } from '../../src/pipeline/bridge.js';
import { adapterFor } from '../../src/providers/registry.js';
import type { ProviderType } from '../../src/config/schema.js';
import type { Surface } from '../../src/protocol/surface.js';

export function bridge(surface: Surface, provider: ProviderType, options: { requestedModel?: string; body?: object } = {}): Bridge {
  const built = bridgeFor({ surface, provider: adapterFor(provider).codec, requestedModel: options.requestedModel ?? 'asked', body: { ...options.body } as Record<string, unknown> });
  if (!built) throw new Error(`${surface} clients reach ${provider} providers without a bridge`);
  return built;
}
