/** The API a client speaks to spillway: Anthropic Messages or OpenAI Chat Completions. */
export type Surface = 'anthropic' | 'openai';

/** The API a provider speaks: a client's surface, or one only providers speak. */
export type Protocol = Surface | 'ollama' | 'gemini';
