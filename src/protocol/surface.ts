/** The API a client speaks to spillway: Anthropic Messages, OpenAI Chat Completions, OpenAI Responses, or Gemini's generateContent. */
export type Surface = 'anthropic' | 'openai' | 'responses' | 'gemini';

/** The API a provider speaks. */
export type Protocol = 'anthropic' | 'openai' | 'ollama' | 'gemini';

/**
 * The surfaces a chat request travels the pipeline as: those a provider may speak too. Responses
 * is served on the chat path as its pivot (pipeline/responses.ts), so it is not one of them.
 */
export type ChatSurface = Extract<Surface, Protocol>;
