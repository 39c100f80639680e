/** The models the simulator lists. Any model name is accepted in requests. */
export const MODELS: readonly { id: string; displayName: string; ownedBy: string }[] = [
  { id: 'claude-opus-4-1', displayName: 'Claude Opus 4.1', ownedBy: 'anthropic' },
  { id: 'claude-sonnet-4-5', displayName: 'Claude Sonnet 4.5', ownedBy: 'anthropic' },
  { id: 'claude-haiku-4-5', displayName: 'Claude Haiku 4.5', ownedBy: 'anthropic' },
  { id: 'gpt-4o', displayName: 'GPT-4o', ownedBy: 'openai' },
  { id: 'gpt-4o-mini', displayName: 'GPT-4o mini', ownedBy: 'openai' },
  { id: 'text-embedding-3-small', displayName: 'text-embedding-3-small', ownedBy: 'openai' },
];

export const OLLAMA_MODELS: readonly string[] = ['llama3.2:latest', 'qwen2.5-coder:7b'];

/** A fixed creation time so listings are stable. */
export const CREATED_AT_MS = Date.UTC(2025, 0, 15);

/** Gemini models listed at GET /v1beta/models (any name is accepted in requests). */
export const GEMINI_MODELS: readonly { id: string; displayName: string; inputTokenLimit: number; outputTokenLimit: number }[] = [
  { id: 'gemini-2.5-pro', displayName: 'Gemini 2.5 Pro', inputTokenLimit: 1_048_576, outputTokenLimit: 65_536 },
  { id: 'gemini-2.5-flash', displayName: 'Gemini 2.5 Flash', inputTokenLimit: 1_048_576, outputTokenLimit: 65_536 },
  { id: 'gemini-2.5-flash-lite', displayName: 'Gemini 2.5 Flash-Lite', inputTokenLimit: 1_048_576, outputTokenLimit: 65_536 },
  { id: 'gemini-3-pro-preview', displayName: 'Gemini 3 Pro Preview', inputTokenLimit: 1_048_576, outputTokenLimit: 65_536 },
  { id: 'gemini-embedding-001', displayName: 'Gemini Embedding 001', inputTokenLimit: 2048, outputTokenLimit: 1 },
];
