/** The embedding pivot and its provider codecs (src/pivot/embeddings.ts, src/providers/embeddings.ts). */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { float32Base64, fromFloat32Base64 } from '../../src/pivot/embeddings.js';
import { embeddingCodecFor, UnsupportedInput } from '../../src/providers/embeddings.js';
import { parseOpenAIEmbeddings } from '../../src/surfaces/openai-embeddings/codec.js';

describe('embedding codecs', () => {
  it('base64 is float32 little-endian, and decodes back', () => {
    const vector = [0.5, -1.25, 3];
    assert.equal(float32Base64(vector), Buffer.from(Float32Array.from(vector).buffer).toString('base64'));
    assert.deepEqual(fromFloat32Base64(float32Base64(vector)), vector);
  });

  it('an OpenAI-compatible answer is read by index, base64 or float, and must hold one vector per input', () => {
    const codec = embeddingCodecFor('openai')!;
    const answer = codec.answer({ data: [{ index: 1, embedding: float32Base64([2]) }, { index: 0, embedding: [1] }], usage: { prompt_tokens: 7 } }, 2);
    assert.deepEqual(answer, { vectors: [[1], [2]], inputTokens: 7 });
    assert.throws(() => codec.answer({ data: [{ index: 0, embedding: [1] }] }, 2));
  });

  it('a body for each provider: routed model, dimensions, floats asked for upstream', () => {
    const { request } = parseOpenAIEmbeddings({ model: 'alias', input: ['a', 'b'], dimensions: 8, encoding_format: 'base64', user: 'u' });
    assert.deepEqual(JSON.parse(embeddingCodecFor('openai')!.body(request, 'real')), { model: 'real', input: ['a', 'b'], dimensions: 8, user: 'u' });
    assert.deepEqual(JSON.parse(embeddingCodecFor('ollama')!.body(request, 'nomic')), { model: 'nomic', input: ['a', 'b'], dimensions: 8 });
    const gemini = JSON.parse(embeddingCodecFor('gemini')!.body(request, 'gemini-embedding-001')) as { requests: unknown[] };
    assert.deepEqual(gemini.requests[1], { model: 'models/gemini-embedding-001', content: { parts: [{ text: 'b' }] }, outputDimensionality: 8 });
    assert.equal(embeddingCodecFor('anthropic'), undefined);
  });

  it('token arrays go only where they are understood', () => {
    const { request } = parseOpenAIEmbeddings({ model: 'm', input: [[1, 2, 3]] });
    assert.deepEqual(request.inputs, [[1, 2, 3]]);
    assert.throws(() => embeddingCodecFor('gemini')!.body(request, 'g'), UnsupportedInput);
    assert.doesNotThrow(() => embeddingCodecFor('openai')!.body(request, 'o'));
  });
});
