/**
 * Demo mode: simulated providers in-process, so `npm start` on a fresh machine shows spillway
 * working with no keys and no services.
 */
import type { ConfigInput } from '../config/schema.js';
import { startSimulator, type Simulator } from '../sim/index.js';

/** Two keys per simulated provider, with limits small enough that the queue has work to do. */
const DEMO_KEYS = [
  { id: 'demo-a', key: 'sk-sim-demo-a', limits: { rpm: 60, itpm: 40_000, otpm: 8_000, tpm: 48_000 } },
  { id: 'demo-b', key: 'sk-sim-demo-b', limits: { rpm: 60, itpm: 40_000, otpm: 8_000, tpm: 48_000 } },
];

export async function startDemoProviders(): Promise<{ simulator: Simulator; config: ConfigInput }> {
  const simulator = await startSimulator({ keys: DEMO_KEYS, latency: { ttftMs: 250, tokensPerSecond: 120 } });
  const keys = DEMO_KEYS.map(({ id, key, limits }) => ({ id, key, limits }));
  const config: ConfigInput = {
    providers: {
      anthropic: { type: 'anthropic', base_url: simulator.url, keys },
      openai: { type: 'openai', base_url: `${simulator.url}/v1`, keys },
    },
    routes: {
      'gpt-*': { targets: [{ provider: 'openai' }] },
      // Embeddings (OpenAI's and Gemini's names) go to the OpenAI-compatible side, which has the endpoint.
      'text-embedding-*': { targets: [{ provider: 'openai' }] },
      '*-embedding-*': { targets: [{ provider: 'openai' }] },
      '*': { targets: [{ provider: 'anthropic' }] },
    },
  };
  return { simulator, config };
}
