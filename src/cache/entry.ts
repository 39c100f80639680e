/**
 * The stored answer: one surface-neutral entry per request. It always holds the complete
 * non-streaming answer (an Anthropic Message or an OpenAI ChatCompletion), so an entry filled by a
 * streaming request serves a non-streaming one and, replayed as SSE, the reverse.
 */
import type { Surface } from '../protocol/surface.js';

/** An Anthropic content block as it appears in a Message (`text`, `tool_use`, `thinking` …). */
export type AnthropicContentBlock = { type: string } & Record<string, unknown>;

/** The Anthropic Message JSON (unknown fields are kept as they came). */
export interface AnthropicMessage extends Record<string, unknown> {
  id: string;
  type: 'message';
  role: 'assistant';
  model: string;
  content: AnthropicContentBlock[];
  stop_reason: string | null;
  stop_sequence: string | null;
  usage: Record<string, unknown>;
}

export interface OpenAIToolCall extends Record<string, unknown> {
  id: string;
  type: string;
  function: { name: string; arguments: string };
}

export interface OpenAIChoice extends Record<string, unknown> {
  index: number;
  message: {
    role: 'assistant';
    content: string | null;
    refusal?: string | null;
    tool_calls?: OpenAIToolCall[];
  } & Record<string, unknown>;
  finish_reason: string | null;
  logprobs?: unknown;
}

/** The OpenAI ChatCompletion JSON (unknown fields are kept as they came). */
export interface ChatCompletion extends Record<string, unknown> {
  id: string;
  object: 'chat.completion';
  created: number;
  model: string;
  choices: OpenAIChoice[];
  usage?: Record<string, unknown> | null;
}

/** An embedding answer, surface-neutral: the vectors in input order and the tokens they were counted as. */
export interface EmbeddingAnswer extends Record<string, unknown> {
  model: string;
  vectors: number[][];
  inputTokens: number;
}

export type ChatCacheEntry =
  | { surface: 'anthropic'; message: AnthropicMessage; createdAt: number; bytes: number }
  | { surface: 'openai'; message: ChatCompletion; createdAt: number; bytes: number };

/**
 * A provider's own answer to a client of its own surface (a Gemini client's request to Gemini),
 * kept as the bytes it came as: the JSON answer, or the stream's SSE text. Keyed on the client's
 * own request and whether it streamed, so it only answers the same request asked the same way.
 */
export interface NativeAnswer extends Record<string, unknown> {
  surface: 'gemini';
  /** The provider's model that answered. */
  model: string;
  stream: boolean;
  body: string;
}

export type CacheEntry =
  | ChatCacheEntry
  | { surface: 'embedding'; message: EmbeddingAnswer; createdAt: number; bytes: number }
  | { surface: 'native'; message: NativeAnswer; createdAt: number; bytes: number };

export function nativeEntry(message: NativeAnswer, now: number): CacheEntry {
  return { surface: 'native', message, createdAt: now, bytes: measure(message) };
}

export function embeddingEntry(message: EmbeddingAnswer, now: number): CacheEntry {
  return { surface: 'embedding', message, createdAt: now, bytes: measure(message) };
}

/** Fixed per-entry cost on top of the JSON text: object headers, the key, map slots. */
const ENTRY_OVERHEAD_BYTES = 256;

export function anthropicEntry(message: AnthropicMessage, now: number): CacheEntry {
  return { surface: 'anthropic', message, createdAt: now, bytes: measure(message) };
}

export function openAIEntry(message: ChatCompletion, now: number): CacheEntry {
  return { surface: 'openai', message, createdAt: now, bytes: measure(message) };
}

export function makeEntry(surface: Surface, message: AnthropicMessage | ChatCompletion, now: number): CacheEntry {
  return surface === 'anthropic'
    ? anthropicEntry(message as AnthropicMessage, now)
    : openAIEntry(message as ChatCompletion, now);
}

// A JS string costs about 2 bytes per UTF-16 unit in the heap; the parsed object costs about the
// same again, so twice the UTF-8 size is an honest, cheap estimate of what the entry holds.
function measure(message: object): number {
  return 2 * Buffer.byteLength(JSON.stringify(message)) + ENTRY_OVERHEAD_BYTES;
}
