/** The API a client speaks to spillway: Anthropic Messages, OpenAI Chat Completions or OpenAI Responses. */
export type Surface = 'anthropic' | 'openai' | 'responses';

/** The API a provider speaks. */
export type Protocol = 'anthropic' | 'openai' | 'ollama' | 'gemini';
