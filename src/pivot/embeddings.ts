/**
 * The embedding pivot: what every embedding surface (OpenAI `/v1/embeddings`, Gemini
 * `:embedContent` / `:batchEmbedContents`) parses into and every provider's embedding endpoint is
 * translated from. Its inputs are OpenAI's (texts, or token arrays for providers that take them);
 * its answer is plain vectors, in input order, and the input tokens the provider counted.
 */
import type { Surface } from '../protocol/surface.js';

/** One input: a text, or a tokenised text (OpenAI-compatible providers only). */
export type EmbeddingInput = string | number[];

export interface EmbeddingRequest {
  /** The model the client asked for (routes resolve it). */
  model: string;
  inputs: EmbeddingInput[];
  /** Output size, when the client asked for one (OpenAI `dimensions`, Gemini `outputDimensionality`). */
  dimensions?: number;
  /** Gemini's `taskType` (RETRIEVAL_QUERY …), kept for a Gemini provider; others have no such knob. */
  taskType?: string;
  /** The client's body, for a provider of the client's own shape: its unknown fields ride along. */
  body: Record<string, unknown>;
}

export interface EmbeddingResult {
  vectors: number[][];
  /** Input tokens the provider reported; undefined when it reports none (Gemini). */
  inputTokens: number | undefined;
}

/** An embedding request as one surface received it, and how that surface answers. */
export interface EmbeddingCall {
  surface: Surface;
  request: EmbeddingRequest;
  /** The answer's body in the surface's shape; `inputTokens` as counted (the provider's, else spillway's estimate). */
  render(result: EmbeddingResult, inputTokens: number): string;
  /** A provider's error, already in OpenAI's shape, in the surface's (identity for OpenAI clients). */
  error?(status: number, openAIBody: string): { status: number; body: string };
  /**
   * The client's own request, for a provider that serves the client's surface under the model the
   * client named (a Gemini client's embed call to Gemini): sent as it came, answered as it came.
   */
  native?: NativeEmbedding;
}

export interface NativeEmbedding {
  surface: Surface;
  /** The method's path for the provider's model, appended to its base URL. */
  path(model: string): string;
  raw: Buffer;
  /** The vectors in the provider's answer, in order (for the cache); throws when it holds none. */
  vectors(answer: unknown): number[][];
}

/** OpenAI's base64 encoding of a vector: its float32 values, little-endian, as bytes. */
export function float32Base64(vector: readonly number[]): string {
  return Buffer.from(Float32Array.from(vector).buffer).toString('base64');
}

export function fromFloat32Base64(text: string): number[] {
  // A copy: a decoded Buffer may sit in Node's pool at an offset Float32Array cannot view.
  const bytes = Uint8Array.from(Buffer.from(text, 'base64'));
  return Array.from(new Float32Array(bytes.buffer, 0, Math.floor(bytes.byteLength / 4)));
}
