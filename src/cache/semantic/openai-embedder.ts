/**
 * An embedder backed by any OpenAI-compatible `POST {baseUrl}/embeddings` (OpenAI, Ollama,
 * vLLM, LiteLLM …). Asks for float vectors; a server that answers base64 anyway is decoded.
 */
import { request, type Dispatcher } from 'undici';
import { l2Normalise, type Embedder } from './embedder.js';

export interface OpenAIEmbedderOptions {
  /** e.g. https://api.openai.com/v1 (the `/embeddings` path is appended). */
  baseUrl: string;
  apiKey?: string;
  model: string;
  /** Requested output size (`dimensions`), for models that support it. */
  dimensions?: number;
  timeoutMs?: number;
  /** Max inputs per request (the API allows 2048). */
  batchSize?: number;
  dispatcher?: Dispatcher;
}

export class EmbeddingError extends Error {
  constructor(
    message: string,
    readonly status?: number,
  ) {
    super(message);
    this.name = 'EmbeddingError';
  }
}

export class OpenAIEmbedder implements Embedder {
  private learnedDims: number | undefined;

  constructor(private readonly options: OpenAIEmbedderOptions) {
    this.learnedDims = options.dimensions;
  }

  /** The configured size, else the size of the first answer (0 before any call). */
  get dims(): number {
    return this.learnedDims ?? 0;
  }

  async embed(texts: string[]): Promise<Float32Array[]> {
    const out: Float32Array[] = [];
    const batch = this.options.batchSize ?? 2048;
    for (let start = 0; start < texts.length; start += batch) {
      out.push(...(await this.embedBatch(texts.slice(start, start + batch))));
    }
    return out;
  }

  private async embedBatch(texts: string[]): Promise<Float32Array[]> {
    if (texts.length === 0) return [];
    const body: Record<string, unknown> = { model: this.options.model, input: texts, encoding_format: 'float' };
    if (this.options.dimensions !== undefined) body['dimensions'] = this.options.dimensions;
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (this.options.apiKey) headers['authorization'] = `Bearer ${this.options.apiKey}`;
    const timeout = this.options.timeoutMs ?? 10_000;
    const response = await request(`${this.options.baseUrl.replace(/\/+$/, '')}/embeddings`, {
      method: 'POST',
      headers,
      body: JSON.stringify(body),
      headersTimeout: timeout,
      bodyTimeout: timeout,
      ...(this.options.dispatcher ? { dispatcher: this.options.dispatcher } : {}),
    });
    const text = await response.body.text();
    if (response.statusCode < 200 || response.statusCode >= 300) {
      // The provider's message helps; the request (and its key) never goes into the error.
      throw new EmbeddingError(`embeddings request failed with HTTP ${response.statusCode}: ${text.slice(0, 300)}`, response.statusCode);
    }
    const vectors = parseEmbeddings(text, texts.length);
    this.learnedDims ??= vectors[0]?.length;
    return vectors;
  }
}

/** The `data` array in input order, each vector unit-length. */
export function parseEmbeddings(text: string, expected: number): Float32Array[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new EmbeddingError('embeddings response is not JSON');
  }
  const data = typeof parsed === 'object' && parsed !== null ? (parsed as { data?: unknown }).data : undefined;
  if (!Array.isArray(data) || data.length !== expected) {
    throw new EmbeddingError(`embeddings response has ${Array.isArray(data) ? data.length : 'no'} vectors, expected ${expected}`);
  }
  const out: Float32Array[] = new Array<Float32Array>(expected);
  data.forEach((item: unknown, position) => {
    const record = (typeof item === 'object' && item !== null ? item : {}) as { index?: unknown; embedding?: unknown };
    const index = typeof record.index === 'number' ? record.index : position;
    if (index < 0 || index >= expected) throw new EmbeddingError(`embeddings response has an out-of-range index ${index}`);
    out[index] = l2Normalise(toVector(record.embedding));
  });
  for (let i = 0; i < expected; i++) if (!out[i]) throw new EmbeddingError(`embeddings response lacks index ${i}`);
  return out;
}

function toVector(embedding: unknown): Float32Array {
  if (Array.isArray(embedding) && embedding.every((x) => typeof x === 'number')) return Float32Array.from(embedding as number[]);
  if (typeof embedding === 'string') {
    // base64 of little-endian float32s
    const bytes = Buffer.from(embedding, 'base64');
    const vector = new Float32Array(bytes.length / 4);
    for (let i = 0; i < vector.length; i++) vector[i] = bytes.readFloatLE(i * 4);
    return vector;
  }
  throw new EmbeddingError('an embedding is neither a float array nor base64');
}
