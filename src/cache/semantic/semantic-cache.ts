/**
 * The semantic cache: a prompt close enough to one answered before (cosine ≥ threshold within the
 * same partition) and agreeing with it on negations, numbers, names, identifiers, tense and the
 * roles and order of its words (the guard) is answered with the earlier answer. It stores pointers (the exact-cache key of the answer),
 * not answers: the exact store keeps the bytes, its budget and its TTL. Replicas share what they
 * remember through `onRemember` and `add` (see semantic-log.ts); lookups stay in process.
 */
import type { KeyInput } from '../key.js';
import type { Embedder } from './embedder.js';
import { checkGuard, guardFeatures, type GuardFeatures } from './guard.js';
import { semanticQuery } from './prompt.js';
import type { SemanticEntry } from './semantic-log.js';
import { VectorIndex } from './vector-index.js';

/** The highest threshold with the best recall and no false hit on the labelled pairs (npm run bench:semantic). */
export const DEFAULT_SIMILARITY_THRESHOLD = 0.96;

export interface SemanticCacheOptions {
  embedder: Embedder;
  threshold?: number;
  maxEntriesPerPartition?: number;
  maxPartitions?: number;
  multiTurn?: boolean;
  ttlMs?: number;
  /** How many nearest neighbours above the threshold are offered to the guard (default 3). */
  candidates?: number;
  /** Called with each prompt this cache remembers, so other replicas can `add` it. */
  onRemember?: (entry: SemanticEntry) => void;
}

interface Remembered {
  prompt: string;
  features: GuardFeatures;
  value: string;
  expiresAt: number;
}

export interface SemanticHit {
  /** What was remembered with the matching prompt: the exact-cache key of its answer. */
  value: string;
  similarity: number;
  matchedPrompt: string;
}

export type SemanticMiss = { hit: false; reason: 'not-eligible' | 'no-neighbour' | 'guard'; bestSimilarity?: number };

export class SemanticCache {
  readonly threshold: number;
  private readonly embedder: Embedder;
  private readonly maxEntriesPerPartition: number;
  private readonly maxPartitions: number;
  private readonly multiTurn: boolean;
  private readonly ttlMs: number;
  private readonly candidates: number;
  private readonly onRemember: ((entry: SemanticEntry) => void) | undefined;
  private readonly partitions = new Map<string, VectorIndex<Remembered>>();

  constructor(options: SemanticCacheOptions) {
    this.embedder = options.embedder;
    this.threshold = options.threshold ?? DEFAULT_SIMILARITY_THRESHOLD;
    this.maxEntriesPerPartition = options.maxEntriesPerPartition ?? 10_000;
    this.maxPartitions = options.maxPartitions ?? 1_000;
    this.multiTurn = options.multiTurn ?? false;
    this.ttlMs = options.ttlMs ?? 6 * 60 * 60 * 1000;
    this.candidates = options.candidates ?? 3;
    this.onRemember = options.onRemember;
  }

  async lookup(input: KeyInput, now: number): Promise<SemanticHit | undefined> {
    const outcome = await this.explain(input, now);
    return 'value' in outcome ? outcome : undefined;
  }

  /** Like lookup, and says why a miss missed (for metrics and tests). */
  async explain(input: KeyInput, now: number): Promise<SemanticHit | SemanticMiss> {
    const query = semanticQuery(input, { multiTurn: this.multiTurn });
    if (!query) return { hit: false, reason: 'not-eligible' };
    const index = this.partitions.get(query.partition);
    if (!index) return { hit: false, reason: 'no-neighbour' };
    const [vector] = await this.embedder.embed([query.prompt]);
    if (!vector) return { hit: false, reason: 'no-neighbour' };
    const neighbours = index.nearest(vector, this.candidates, this.threshold).filter((n) => n.item.expiresAt > now);
    if (neighbours.length === 0) return { hit: false, reason: 'no-neighbour' };
    const features = guardFeatures(query.prompt);
    for (const neighbour of neighbours) {
      if (checkGuard(features, neighbour.item.features).pass) {
        return { value: neighbour.item.value, similarity: neighbour.similarity, matchedPrompt: neighbour.item.prompt };
      }
    }
    return { hit: false, reason: 'guard', bestSimilarity: neighbours[0]?.similarity };
  }

  /** Remembers the request's prompt as answered by `value`; false if it is not eligible. */
  async remember(input: KeyInput, value: string, now: number): Promise<boolean> {
    const query = semanticQuery(input, { multiTurn: this.multiTurn });
    if (!query) return false;
    const [vector] = await this.embedder.embed([query.prompt]);
    if (!vector) return false;
    const entry: SemanticEntry = { partition: query.partition, prompt: query.prompt, value, expiresAt: now + this.ttlMs, vector };
    this.insert(entry);
    this.onRemember?.(entry);
    return true;
  }

  /**
   * Takes in an entry another replica remembered; false if it has expired or comes from an
   * embedder of another size (replicas configured differently: its similarities would mean nothing).
   */
  add(entry: SemanticEntry, now: number): boolean {
    if (entry.expiresAt <= now) return false;
    // An OpenAI-style embedder learns its size from its first answer (0 until then).
    if (this.embedder.dims > 0 && entry.vector.length !== this.embedder.dims) return false;
    this.insert(entry);
    return true;
  }

  private insert(entry: SemanticEntry): void {
    let index = this.partitions.get(entry.partition);
    if (index) {
      this.partitions.delete(entry.partition); // re-insert: partitions are kept in use order
    } else {
      index = new VectorIndex<Remembered>(this.maxEntriesPerPartition);
      if (this.partitions.size >= this.maxPartitions) {
        const oldest = this.partitions.keys().next();
        if (!oldest.done) this.partitions.delete(oldest.value);
      }
    }
    this.partitions.set(entry.partition, index);
    index.add(entry.vector, { prompt: entry.prompt, features: guardFeatures(entry.prompt), value: entry.value, expiresAt: entry.expiresAt });
  }

  /** Drops expired entries and empty partitions; for a periodic timer owned by the caller. */
  prune(now: number): void {
    for (const [partition, index] of this.partitions) {
      index.retain((item) => item.expiresAt > now);
      if (index.size === 0) this.partitions.delete(partition);
    }
  }

  stats(): { partitions: number; entries: number } {
    let entries = 0;
    for (const index of this.partitions.values()) entries += index.size;
    return { partitions: this.partitions.size, entries };
  }
}
