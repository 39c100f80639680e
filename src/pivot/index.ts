/**
 * The pivot: the one internal shape every client surface and every provider protocol translates
 * to and from, so N surfaces and M providers need N + M translators instead of N × M.
 *
 * It is OpenAI Chat Completions, as the OpenAI API defines it (wire-facts.md §5), with two
 * extensions that compatible servers already use: `top_k` in the request and `reasoning_content`
 * (a provider's thinking) in answers and deltas.
 *
 * - **Request** (`PivotRequest`): `model`, `messages` (roles system | developer | user | assistant |
 *   tool; user content as a string or text / image_url parts; assistant `tool_calls`), `tools`
 *   (function tools), `tool_choice`, `max_completion_tokens`, `temperature`, `top_p`, `stop`,
 *   `response_format`, `reasoning_effort`, `metadata`, `user`, `stream`, `stream_options`, and
 *   `top_k` (as vLLM takes it; Anthropic, Gemini and Ollama know it, OpenAI does not).
 *   Fields a translator does not know ride along untouched; each provider drops (and names in
 *   `x-spillway-dropped`) what it cannot take.
 * - **Answer** (`PivotAnswer`): a `chat.completion` with one choice, `usage` with prompt/completion
 *   tokens and their details. A provider's thinking is the assistant message's `reasoning_content`
 *   (the extension DeepSeek and vLLM send, passed on from them; the Anthropic and Gemini codecs do
 *   not fill it yet). The Responses and Gemini surfaces show it; the others drop it.
 * - **Stream** (`PivotEvent`): server-sent events whose data is a `chat.completion.chunk` (deltas
 *   may carry `reasoning_content` too), then a usage chunk with empty `choices`, then `[DONE]`. A
 *   failure after the first event is an event whose data is an OpenAI error body, and no `[DONE]`.
 * - **Errors** (`PivotError`): the OpenAI error body with the HTTP status the OpenAI SDK expects.
 *
 * Same-protocol traffic (an Anthropic client to an Anthropic provider, an OpenAI chat client to an
 * OpenAI-compatible one) never comes here: it is relayed byte for byte.
 */
import type { OpenAIChatChunk, OpenAIChatCompletion, OpenAIChatRequest, OpenAIErrorBody } from '../protocol/openai.js';
import type { SseEvent } from '../protocol/sse.js';

export type PivotRequest = OpenAIChatRequest;
export type PivotAnswer = OpenAIChatCompletion;
export type PivotChunk = OpenAIChatChunk;
/** One stream event: `data` is a PivotChunk's JSON, `[DONE]`, or an OpenAI error body's JSON. */
export type PivotEvent = SseEvent;
export interface PivotError {
  status: number;
  body: OpenAIErrorBody;
}
