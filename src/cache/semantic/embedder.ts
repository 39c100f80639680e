/** Text → vector. Vectors are L2-normalised, so cosine similarity is a dot product. */
export interface Embedder {
  readonly dims: number;
  embed(texts: string[]): Promise<Float32Array[]>;
}

export function dot(a: Float32Array, b: Float32Array): number {
  let sum = 0;
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) sum += (a[i] as number) * (b[i] as number);
  return sum;
}

/** Scales to unit length in place; a zero vector stays zero (and matches nothing). */
export function l2Normalise(vector: Float32Array): Float32Array {
  const norm = Math.sqrt(dot(vector, vector));
  if (norm > 0) for (let i = 0; i < vector.length; i++) vector[i] = (vector[i] as number) / norm;
  return vector;
}
