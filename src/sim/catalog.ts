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
