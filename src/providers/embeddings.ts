/**
 * Each provider protocol's embedding endpoint, translated from and to the embedding pivot
 * (src/pivot/embeddings.ts): where to send, what body, and how to read the vectors back. A
 * protocol without one (Anthropic) is absent from the table.
 */
import type { EmbeddingRequest, EmbeddingResult } from '../pivot/embeddings.js';
import { fromFloat32Base64 } from '../pivot/embeddings.js';
import type { Protocol } from '../protocol/surface.js';

export interface EmbeddingCodec {
  /** Appended to the provider's base URL. */
  path(model: string): string;
  body(request: EmbeddingRequest, model: string): string;
  /** The vectors in input order; throws when the answer is not one (an upstream failure). */
  answer(json: unknown, count: number): EmbeddingResult;
}

/** Thrown when an input cannot go to a provider (token arrays to Gemini or Ollama): the caller's 400. */
export class UnsupportedInput extends Error {}

type Json = Record<string, unknown>;
const isObject = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value);

function texts(request: EmbeddingRequest, provider: string): string[] {
  return request.inputs.map((input) => {
    if (typeof input === 'string') return input;
    throw new UnsupportedInput(`token arrays as input are not supported by ${provider} embedding models; send text`);
  });
}

function vectorOf(value: unknown): number[] {
  if (typeof value === 'string') return fromFloat32Base64(value);
  if (Array.isArray(value) && value.every((x) => typeof x === 'number')) return value as number[];
  throw new Error('an embedding is neither a list of numbers nor base64');
}

function checked(vectors: number[][], count: number): number[][] {
  if (vectors.length !== count) throw new Error(`the provider answered ${vectors.length} embeddings for ${count} inputs`);
  return vectors;
}

/** OpenAI and every OpenAI-compatible server (vLLM, Ollama's /v1): the client's body, its model routed. */
const openai: EmbeddingCodec = {
  path: () => '/embeddings',
  body: (request, model) => {
    const body: Json = { ...request.body, model, input: request.inputs };
    if (request.dimensions !== undefined) body.dimensions = request.dimensions;
    // Floats are asked for whatever the client wants: the answer is re-encoded for it (and cached) anyway.
    delete body.encoding_format;
    return JSON.stringify(body);
  },
  answer: (json, count) => {
    if (!isObject(json) || !Array.isArray(json.data)) throw new Error('no data in the embeddings answer');
    const vectors: number[][] = [];
    json.data.forEach((item: unknown, position: number) => {
      const index = isObject(item) && typeof item.index === 'number' ? item.index : position;
      vectors[index] = vectorOf(isObject(item) ? item.embedding : undefined);
    });
    const usage = isObject(json.usage) ? json.usage.prompt_tokens : undefined;
    return { vectors: checked(vectors, count), inputTokens: typeof usage === 'number' ? usage : undefined };
  },
};

const modelName = (model: string) => model.replace(/^models\//, '');

/** Gemini's batchEmbedContents: one EmbedContentRequest per input. */
const gemini: EmbeddingCodec = {
  path: (model) => `/v1beta/models/${encodeURIComponent(modelName(model))}:batchEmbedContents`,
  body: (request, model) =>
    JSON.stringify({
      requests: texts(request, 'Gemini').map((text) => ({
        model: `models/${modelName(model)}`,
        content: { parts: [{ text }] },
        ...(request.taskType !== undefined ? { taskType: request.taskType } : {}),
        ...(request.dimensions !== undefined ? { outputDimensionality: request.dimensions } : {}),
      })),
    }),
  answer: (json, count) => {
    if (!isObject(json) || !Array.isArray(json.embeddings)) throw new Error('no embeddings in the batchEmbedContents answer');
    const vectors = json.embeddings.map((item: unknown) => vectorOf(isObject(item) ? item.values : undefined));
    return { vectors: checked(vectors, count), inputTokens: undefined };
  },
};

/** Ollama's native /api/embed. */
const ollama: EmbeddingCodec = {
  path: () => '/api/embed',
  body: (request, model) =>
    JSON.stringify({ model, input: texts(request, 'Ollama'), ...(request.dimensions !== undefined ? { dimensions: request.dimensions } : {}) }),
  answer: (json, count) => {
    if (!isObject(json) || !Array.isArray(json.embeddings)) throw new Error('no embeddings in the /api/embed answer');
    const vectors = json.embeddings.map(vectorOf);
    return { vectors: checked(vectors, count), inputTokens: typeof json.prompt_eval_count === 'number' ? json.prompt_eval_count : undefined };
  },
};

const codecs: Partial<Record<Protocol, EmbeddingCodec>> = { openai, gemini, ollama };

export function embeddingCodecFor(protocol: Protocol): EmbeddingCodec | undefined {
  return codecs[protocol];
}
