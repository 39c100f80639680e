/**
 * The built-in embedder: no download, no weights. Content words (stemmed, synonyms merged) and
 * their neighbouring pairs and character trigrams are hashed into a fixed number of signed
 * buckets, then L2-normalised. It sees wording, not meaning: it catches rephrasings that keep the
 * content words (case, punctuation, word order, filler, inflection, listed synonyms), and the
 * guard catches what hashing misses (negations, numbers, names, identifiers).
 */
import { l2Normalise, type Embedder } from './embedder.js';
import { contentWords } from './text.js';

const WORD_WEIGHT = 1;
const PAIR_WEIGHT = 0.35;
/** Spread over a word's trigrams, so long words do not outweigh short ones. */
const TRIGRAM_WEIGHT = 0.5;

export class HashedEmbedder implements Embedder {
  readonly dims: number;

  constructor(dims = 384) {
    this.dims = dims;
  }

  embed(texts: string[]): Promise<Float32Array[]> {
    return Promise.resolve(texts.map((text) => this.embedOne(text)));
  }

  embedOne(text: string): Float32Array {
    const vector = new Float32Array(this.dims);
    const words = contentWords(text);
    words.forEach((word, i) => {
      this.add(vector, `w:${word}`, WORD_WEIGHT);
      const next = words[i + 1];
      // Unordered: which word comes first is the guard's to judge (roles.ts), so a clause moved whole stays close.
      if (next !== undefined) this.add(vector, `p:${word < next ? `${word} ${next}` : `${next} ${word}`}`, PAIR_WEIGHT);
      const padded = `#${word}#`;
      const grams = Math.max(1, padded.length - 2);
      for (let j = 0; j + 3 <= padded.length; j++) this.add(vector, `t:${padded.slice(j, j + 3)}`, TRIGRAM_WEIGHT / Math.sqrt(grams));
    });
    return l2Normalise(vector);
  }

  // Signed hashing: collisions cancel out on average instead of adding up.
  private add(vector: Float32Array, feature: string, weight: number): void {
    const hash = fnv1a(feature);
    const index = hash % this.dims;
    vector[index] = (vector[index] as number) + (hash & 0x80000000 ? -weight : weight);
  }
}

function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}
