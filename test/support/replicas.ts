/**
 * Several spillway gateway processes sharing one Redis, as a deployment with replicas would run
 * them, and a burst spread round robin across them.
 */
import Anthropic from '@anthropic-ai/sdk';
import type { ConfigInput } from '../../src/config/schema.js';
import { burstPrompt, type BurstResult } from '../../src/sim/burst.js';
import type { SimKey } from '../../src/sim/index.js';

export { spawnGateway, spawnSimulator, type GatewayProcess, type SimulatorProcess } from '../../src/cli/spawn.js';

/** `redis` is one server's URL, or a Redis Cluster's node URLs. */
export function replicaConfig(simUrl: string, keys: SimKey[], redis: string | string[], dataDir: string, prefix = 'spillway-test:'): ConfigInput {
  return {
    server: { host: '127.0.0.1', port: 0 },
    store: typeof redis === 'string' ? { type: 'redis', url: redis, prefix } : { type: 'redis-cluster', nodes: redis, prefix },
    data_dir: dataDir,
    usage: { enabled: false },
    providers: { anthropic: { type: 'anthropic', base_url: simUrl, keys: keys.map(({ id, key, limits }) => ({ id, key, limits })) } },
    routes: { '*': { targets: [{ provider: 'anthropic' }] } },
  };
}

/** Like fireBurst, with request i sent to gateway i mod n (official SDK, default retries). */
export async function fireAcross(baseURLs: string[], count: number, maxTokens = 64): Promise<BurstResult> {
  const clients = baseURLs.map((baseURL) => new Anthropic({ baseURL, apiKey: 'client' }));
  const failures: Record<string, number> = {};
  let succeeded = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: count }, async (_, i) => {
      try {
        await clients[i % clients.length]!.messages.create({
          model: 'claude-sonnet-4-6',
          max_tokens: maxTokens,
          messages: [{ role: 'user', content: burstPrompt(i) }],
        });
        succeeded += 1;
      } catch (error) {
        const status = error instanceof Anthropic.APIError && error.status !== undefined ? String(error.status) : 'network';
        failures[status] = (failures[status] ?? 0) + 1;
      }
    }),
  );
  return { succeeded, failed: count - succeeded, makespanMs: performance.now() - started, failures };
}
