/**
 * What replicas share of their semantic caches: each remembered prompt, appended to a log every
 * replica follows into its own index. Lookups stay local; only remembering travels.
 */

/** One remembered prompt, as another replica can index it. */
export interface SemanticEntry {
  partition: string;
  /** The text `semanticQuery` produced; the guard's features are recomputed from it. */
  prompt: string;
  /** The exact-cache key of the answer. */
  value: string;
  expiresAt: number;
  /** The prompt's embedding travels with it: embedding again may cost money (a hosted embedder). */
  vector: Float32Array;
}

export interface SemanticLog {
  /** Appends an entry this replica learned. Never throws: an entry not shared stays local. */
  publish(entry: SemanticEntry): void;
  /** Delivers what other replicas publish: the entries already in the log first, then each new one. */
  follow(onEntry: (entry: SemanticEntry) => void): void;
  close(): Promise<void>;
}
