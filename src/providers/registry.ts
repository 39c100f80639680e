import type { ProviderType } from '../config/schema.js';
import { anthropic } from './anthropic.js';
import { gemini } from './gemini.js';
import { ollama } from './ollama.js';
import { openai } from './openai.js';
import type { ProviderAdapter } from './types.js';

/** Adding a provider type: one adapter file and one line here. */
export const adapters: Partial<Record<ProviderType, ProviderAdapter>> = { anthropic, openai, gemini, ollama };

export function adapterFor(type: ProviderType): ProviderAdapter {
  const adapter = adapters[type];
  if (!adapter) throw new Error(`provider type "${type}" is not supported yet`);
  return adapter;
}
