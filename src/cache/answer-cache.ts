/**
 * The caches one gateway keeps, built from config: exact answers (in a CacheStore), the semantic
 * index over them, remembered upstream failures, and the requests in flight.
 */
import type { Config } from '../config/schema.js';
import type { CacheEntry } from './entry.js';
import { MemoryCacheStore } from './memory-store.js';
import { NegativeCache } from './negative.js';
import { HashedEmbedder } from './semantic/hashed-embedder.js';
import { OpenAIEmbedder } from './semantic/openai-embedder.js';
import { SemanticCache } from './semantic/semantic-cache.js';
import { SingleFlight } from './single-flight.js';
import type { CacheStore } from './store.js';

export interface AnswerCache {
  exact: CacheStore | undefined;
  semantic: SemanticCache | undefined;
  negative: NegativeCache | undefined;
  /** Identical requests in flight share one upstream call; resolves to the entry, if one was made. */
  flights: SingleFlight<CacheEntry | undefined>;
  cacheNonZeroTemperature: boolean;
  ttlMs: number;
}

export function createAnswerCache(config: Config['cache'], store?: CacheStore): AnswerCache {
  const { exact, semantic, negative } = config;
  const embedder =
    semantic.embedder.type === 'builtin'
      ? new HashedEmbedder()
      : new OpenAIEmbedder({ baseUrl: semantic.embedder.base_url, apiKey: semantic.embedder.key, model: semantic.embedder.model });
  return {
    exact: exact.enabled ? (store ?? new MemoryCacheStore({ maxBytes: exact.max_bytes, defaultTtlMs: exact.ttl })) : undefined,
    semantic:
      exact.enabled && semantic.enabled
        ? new SemanticCache({ embedder, threshold: semantic.threshold, multiTurn: semantic.multi_turn, ttlMs: exact.ttl })
        : undefined,
    negative: negative.enabled ? new NegativeCache({ ttlMs: negative.ttl }) : undefined,
    flights: new SingleFlight(),
    cacheNonZeroTemperature: exact.cache_nonzero_temperature,
    ttlMs: exact.ttl,
  };
}
