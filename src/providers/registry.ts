import type { ProviderType } from '../config/schema.js';
import { anthropic } from './anthropic/adapter.js';
import { gemini } from './gemini/adapter.js';
import { ollama } from './ollama/adapter.js';
import { openai } from './openai/adapter.js';
import type { ProviderAdapter } from './types.js';

/** Adding a provider type: one folder (adapter, codec, limits) and one line here. */
export const adapters: Partial<Record<ProviderType, ProviderAdapter>> = { anthropic, openai, gemini, ollama };

export function adapterFor(type: ProviderType): ProviderAdapter {
  const adapter = adapters[type];
  if (!adapter) throw new Error(`provider type "${type}" is not supported yet`);
  return adapter;
}
