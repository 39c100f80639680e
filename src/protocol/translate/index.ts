/** Translation between the Anthropic, OpenAI and Ollama surfaces: the public entry points. */
export { anthropicToOpenAIRequest, type ToOpenAIRequestOptions, type ToOpenAIRequestResult } from './request-to-openai.js';
export { openAIToAnthropicRequest, DEFAULT_MAX_TOKENS, type ToAnthropicRequestOptions, type ToAnthropicRequestResult } from './request-to-anthropic.js';
export { openAIToAnthropicResponse, anthropicToOpenAIResponse, type ToAnthropicResponseOptions, type ToOpenAIResponseOptions } from './response.js';
export { anthropicErrorToOpenAI, openAIErrorToAnthropic, anthropicTypeForStatus, type TranslatedError } from './errors.js';
export { AnthropicToOpenAIStream, type AnthropicToOpenAIStreamOptions } from './stream-to-openai.js';
export { OpenAIToAnthropicStream, type OpenAIToAnthropicStreamOptions } from './stream-to-anthropic.js';
export { anthropicStopToFinish, finishToAnthropicStop } from './stop-reason.js';
export { anthropicUsageToOpenAI, openAIUsageToAnthropic } from './usage.js';
export {
  anthropicToOllamaRequest,
  openAIToOllamaRequest,
  ollamaToAnthropicResponse,
  ollamaToOpenAIResponse,
  type OllamaChatRequest,
  type OllamaChatResponse,
  type OllamaMessage,
} from './ollama.js';
export { NdjsonLines, OllamaToAnthropicStream, OllamaToOpenAIStream, type OllamaStreamOptions } from './ollama-stream.js';
export { bridgeFor, type Bridge, type BridgeOptions, type StreamBridge } from './bridge.js';
export { openAIToGeminiRequest, geminiToOpenAIResponse, geminiErrorToOpenAI, GeminiToOpenAIChunks, geminiUsage, type GeminiRequest, type GeminiGenerateContentResponse } from './gemini.js';
