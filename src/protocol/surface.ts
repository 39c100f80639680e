/** The API a client speaks to spillway: Anthropic Messages, OpenAI Chat Completions, or Gemini's generateContent. */
export type Surface = 'anthropic' | 'openai' | 'gemini';

/** The API a provider speaks: a client's surface, or one only providers speak. */
export type Protocol = Surface | 'ollama';
