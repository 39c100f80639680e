/**
 * OpenAI's `POST /v1/embeddings` to and from the embedding pivot. Checked: what spillway needs
 * (the model, inputs it can count and route, the encoding it must produce); the rest rides along.
 */
import { float32Base64, type EmbeddingCall, type EmbeddingInput, type EmbeddingRequest, type EmbeddingResult } from '../../pivot/embeddings.js';
import { InvalidRequest, openAIFault, openAIReader } from '../../protocol/invalid.js';

export type EncodingFormat = 'float' | 'base64';

export interface OpenAIEmbeddingRequest {
  request: EmbeddingRequest;
  format: EncodingFormat;
}

const isTokens = (value: unknown): value is number[] => Array.isArray(value) && value.length > 0 && value.every((x) => Number.isInteger(x));

/** `input` as a list: a string, a token array, or a list of either. */
function inputsOf(input: unknown): EmbeddingInput[] {
  if (input === undefined) throw new InvalidRequest(openAIFault.missing(['input']));
  if (typeof input === 'string' || isTokens(input)) return [input];
  if (!Array.isArray(input)) throw new InvalidRequest(openAIFault.type(['input'], 'list', input));
  if (input.length === 0) throw new InvalidRequest(openAIFault.emptyArray(['input']));
  input.forEach((item: unknown, i) => {
    if (typeof item !== 'string' && !isTokens(item)) throw new InvalidRequest(openAIFault.type(['input', i], 'string', item));
  });
  return input as EmbeddingInput[];
}

export function parseOpenAIEmbeddings(body: Record<string, unknown>): OpenAIEmbeddingRequest {
  const model = openAIReader.need(body.model, ['model'], 'string');
  if (model === '') throw new InvalidRequest(openAIFault.missing(['model']));
  const inputs = inputsOf(body.input);
  const dimensions = openAIReader.may(body.dimensions, ['dimensions'], 'integer');
  if (dimensions !== undefined && dimensions < 1) throw new InvalidRequest(openAIFault.atLeast(['dimensions'], 1, dimensions));
  const format = body.encoding_format ?? 'float';
  if (format !== 'float' && format !== 'base64') {
    throw new InvalidRequest(openAIFault.value(['encoding_format'], `expected 'float' or 'base64', got '${String(format).slice(0, 32)}'.`));
  }
  return { request: { model, inputs, ...(dimensions !== undefined ? { dimensions } : {}), body }, format };
}

/** The answer as OpenAI gives it, under the model name the client asked for. */
export function renderOpenAIEmbeddings(result: EmbeddingResult, model: string, format: EncodingFormat, inputTokens: number): string {
  const data = result.vectors.map((vector, index) => ({ object: 'embedding', index, embedding: format === 'base64' ? float32Base64(vector) : vector }));
  return JSON.stringify({ object: 'list', data, model, usage: { prompt_tokens: inputTokens, total_tokens: inputTokens } });
}

/** A `/v1/embeddings` body as the call the pipeline serves. */
export function openAIEmbeddingCall(body: Record<string, unknown>): EmbeddingCall {
  const { request, format } = parseOpenAIEmbeddings(body);
  return { surface: 'openai', request, render: (result, inputTokens) => renderOpenAIEmbeddings(result, request.model, format, inputTokens) };
}
