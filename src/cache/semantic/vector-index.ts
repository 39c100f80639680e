/**
 * Brute-force nearest neighbours over unit vectors: a dot product per entry, fine up to tens of
 * thousands of entries. A fixed capacity; when full the oldest entry is overwritten.
 */
import { dot } from './embedder.js';

export interface Neighbour<V> {
  item: V;
  similarity: number;
}

export class VectorIndex<V> {
  readonly capacity: number;
  private readonly vectors: Float32Array[] = [];
  private readonly items: V[] = [];
  /** The slot the next insert overwrites once the index is full. */
  private next = 0;

  constructor(capacity: number) {
    if (capacity < 1) throw new RangeError('a vector index needs a capacity of at least 1');
    this.capacity = capacity;
  }

  add(vector: Float32Array, item: V): void {
    if (this.vectors.length < this.capacity) {
      this.vectors.push(vector);
      this.items.push(item);
      return;
    }
    this.vectors[this.next] = vector;
    this.items[this.next] = item;
    this.next = (this.next + 1) % this.capacity;
  }

  /** The k most similar entries with similarity ≥ minSimilarity, best first. */
  nearest(vector: Float32Array, k: number, minSimilarity = -1): Array<Neighbour<V>> {
    const best: Array<Neighbour<V>> = [];
    for (let i = 0; i < this.vectors.length; i++) {
      const similarity = dot(vector, this.vectors[i] as Float32Array);
      if (similarity < minSimilarity) continue;
      if (best.length === k && similarity <= (best[k - 1] as Neighbour<V>).similarity) continue;
      best.push({ item: this.items[i] as V, similarity });
      best.sort((a, b) => b.similarity - a.similarity);
      if (best.length > k) best.pop();
    }
    return best;
  }

  /** Removes entries the predicate rejects (e.g. expired ones); O(n). */
  retain(keep: (item: V) => boolean): void {
    let write = 0;
    for (let read = 0; read < this.vectors.length; read++) {
      const item = this.items[read] as V;
      if (!keep(item)) continue;
      this.vectors[write] = this.vectors[read] as Float32Array;
      this.items[write] = item;
      write += 1;
    }
    this.vectors.length = write;
    this.items.length = write;
    this.next = 0;
  }

  get size(): number {
    return this.vectors.length;
  }
}
