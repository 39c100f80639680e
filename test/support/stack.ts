/**
 * A simulator and a gateway in front of it, on loopback ports, with official SDK clients for both.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import type { ConfigInput } from '../../src/config/schema.js';
import { startGateway, type RunningGateway } from '../../src/server/gateway.js';
import { startSimulator, type SimKey, type SimOptions, type Simulator } from '../../src/sim/index.js';

export interface Stack {
  sim: Simulator;
  gateway: RunningGateway;
  /** Anthropic SDK pointed at spillway. */
  anthropic: Anthropic;
  /** OpenAI SDK pointed at spillway. */
  openai: OpenAI;
  /** Anthropic SDK pointed straight at the simulator (the first key), for comparison. */
  direct: Anthropic;
  directOpenAI: OpenAI;
  close(): Promise<void>;
}

export const generousLimits = { rpm: 100_000, itpm: 100_000_000, otpm: 100_000_000, tpm: 200_000_000 };

export function simKeys(count: number, limits: SimKey['limits'] = generousLimits): SimKey[] {
  return Array.from({ length: count }, (_, i) => ({ id: `k${i + 1}`, key: `sk-sim-${i + 1}`, limits }));
}

export interface StackOptions {
  sim?: Partial<SimOptions>;
  /** Config for the gateway; providers pointing at the simulator are filled in when absent. */
  config?: (simUrl: string, keys: SimKey[]) => ConfigInput;
  /** Limits the gateway is told (default: the simulator's). */
  clientKey?: string;
}

/** The simulator's keys as a provider's `keys` in config. */
function providerKeys(keys: SimKey[]): Array<Pick<SimKey, 'id' | 'key' | 'limits'>> {
  return keys.map(({ id, key, limits }) => ({ id, key, limits }));
}

/** A provider of `type` served by the simulator at `simUrl` (OpenAI-compatible ones under /v1). */
export function simProvider(type: 'anthropic' | 'openai' | 'gemini', simUrl: string, keys: SimKey[]) {
  return { type, base_url: type === 'openai' ? `${simUrl}/v1` : simUrl, keys: providerKeys(keys) };
}

export function defaultConfig(simUrl: string, keys: SimKey[]): ConfigInput {
  return {
    providers: { anthropic: simProvider('anthropic', simUrl, keys), openai: simProvider('openai', simUrl, keys) },
    routes: { 'gpt-*': { targets: [{ provider: 'openai' }] }, '*': { targets: [{ provider: 'anthropic' }] } },
  };
}

export async function startStack(options: StackOptions = {}): Promise<Stack> {
  const keys = options.sim?.keys ?? simKeys(1);
  const sim = await startSimulator({ ...options.sim, keys });
  // Durable data (usage log, batches) goes to a fresh directory, not the working tree.
  const config = { data_dir: mkdtempSync(join(tmpdir(), 'spillway-test-')), ...(options.config ?? defaultConfig)(sim.url, keys) };
  const gateway = await startGateway(config, { port: 0, quiet: true });
  const apiKey = options.clientKey ?? 'client-key';
  return {
    sim,
    gateway,
    anthropic: new Anthropic({ baseURL: gateway.url, apiKey, maxRetries: 0 }),
    openai: new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey, maxRetries: 0 }),
    direct: new Anthropic({ baseURL: sim.url, apiKey: keys[0]!.key, maxRetries: 0 }),
    directOpenAI: new OpenAI({ baseURL: `${sim.url}/v1`, apiKey: keys[0]!.key, maxRetries: 0 }),
    async close() {
      await gateway.close();
      await sim.close();
    },
  };
}
