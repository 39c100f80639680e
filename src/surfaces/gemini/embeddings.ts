/**
 * Gemini's `:embedContent` (`{content, taskType?, outputDimensionality?}` → `{embedding:{values}}`)
 * and `:batchEmbedContents` (`{requests:[…]}` → `{embeddings:[{values}]}`) to and from the
 * embedding pivot. Wire facts: ../shared/reference/wire-facts.md §12.
 */
import type { EmbeddingCall, EmbeddingRequest, NativeEmbedding } from '../../pivot/embeddings.js';
import { pivotErrorToGemini } from './answer.js';

type Json = Record<string, unknown>;
const isObject = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value);

/** A fault in the request, worded as Gemini words it; the edge answers it as a 400 INVALID_ARGUMENT. */
export class GeminiRequestFault extends Error {}

function textOf(request: unknown, at: string): string {
  const content = isObject(request) ? request.content : undefined;
  if (!isObject(content) || !Array.isArray(content.parts)) throw new GeminiRequestFault(`* ${at}content: content is not specified`);
  return content.parts.map((part) => (isObject(part) && typeof part.text === 'string' ? part.text : '')).join('');
}

export function parseGeminiEmbedding(body: Json, model: string, batch: boolean): EmbeddingRequest {
  const requests = batch ? body.requests : [body];
  if (!Array.isArray(requests) || requests.length === 0) throw new GeminiRequestFault('* BatchEmbedContentsRequest.requests: requests is not specified');
  const inputs = requests.map((request: unknown, i) => textOf(request, batch ? `BatchEmbedContentsRequest.requests[${i}].` : 'EmbedContentRequest.'));
  const first = requests[0] as Json;
  const dimensions = typeof first.outputDimensionality === 'number' ? first.outputDimensionality : undefined;
  const taskType = typeof first.taskType === 'string' ? first.taskType : undefined;
  return { model, inputs, ...(dimensions !== undefined ? { dimensions } : {}), ...(taskType !== undefined ? { taskType } : {}), body };
}

function values(item: unknown): number[] {
  const list = isObject(item) ? item.values : undefined;
  if (!Array.isArray(list) || !list.every((v) => typeof v === 'number')) throw new Error('an embedding without values');
  return list as number[];
}

/** The call as it came, for a Gemini provider: the same method, the model in the URL only. */
function nativeCall(raw: Buffer, batch: boolean): NativeEmbedding {
  const method = batch ? 'batchEmbedContents' : 'embedContent';
  return {
    surface: 'gemini',
    path: (model) => `/v1beta/models/${encodeURIComponent(model.replace(/^models\//, ''))}:${method}`,
    raw,
    vectors(answer) {
      if (!isObject(answer)) throw new Error('not an embedding answer');
      if (!batch) return [values(answer.embedding)];
      if (!Array.isArray(answer.embeddings)) throw new Error('no embeddings in the answer');
      return answer.embeddings.map(values);
    },
  };
}

export function geminiEmbeddingCall(body: Json, model: string, batch: boolean, raw?: Buffer): EmbeddingCall {
  const request = parseGeminiEmbedding(body, model, batch);
  return {
    ...(raw ? { native: nativeCall(raw, batch) } : {}),
    surface: 'gemini',
    request,
    render: (result) =>
      JSON.stringify(batch ? { embeddings: result.vectors.map((values) => ({ values })) } : { embedding: { values: result.vectors[0] ?? [] } }),
    error: (status, openAIBody) => ({ status, body: pivotErrorToGemini(status, openAIBody) }),
  };
}
