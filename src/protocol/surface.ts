/** The API a client speaks to spillway: Anthropic Messages or OpenAI Chat Completions. */
export type Surface = 'anthropic' | 'openai';
