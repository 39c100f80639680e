/**
 * Deterministic embeddings: hashed bag of words, L2-normalised. Same text → same vector, and
 * texts sharing words have a higher cosine similarity, which is enough to exercise a semantic
 * cache without a model.
 */
import { fnv1a } from './random.js';

export const DEFAULT_DIMENSIONS = 1536;

export function embed(input: unknown, dimensions: number): Float32Array {
  const vector = new Float32Array(dimensions);
  const text = typeof input === 'string' ? input : Array.isArray(input) ? input.join(' ') : String(input);
  const words = text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? [];
  for (const word of words) {
    const h = fnv1a(word);
    vector[h % dimensions]! += (h & 0x10000) === 0 ? 1 : -1;
    const h2 = fnv1a(word, h);
    vector[h2 % dimensions]! += (h2 & 0x10000) === 0 ? 0.5 : -0.5;
  }
  if (words.length === 0) vector[fnv1a(text) % dimensions] = 1;
  let norm = 0;
  for (let i = 0; i < dimensions; i++) norm += vector[i]! * vector[i]!;
  norm = Math.sqrt(norm) || 1;
  for (let i = 0; i < dimensions; i++) vector[i]! /= norm;
  return vector;
}

/** OpenAI's base64 encoding: the raw little-endian float32 bytes. */
export function toBase64(vector: Float32Array): string {
  return Buffer.from(vector.buffer, vector.byteOffset, vector.byteLength).toString('base64');
}
