/**
 * The caches one gateway keeps, built from config: exact answers (in a CacheStore), the semantic
 * index over them, remembered upstream failures, and the requests in flight. With several
 * replicas, the exact store is shared and the semantic index follows a shared log.
 */
import type { Config } from '../config/schema.js';
import type { CacheEntry } from './entry.js';
import { MemoryCacheStore } from './memory-store.js';
import { NegativeCache } from './negative.js';
import { HashedEmbedder } from './semantic/hashed-embedder.js';
import { OpenAIEmbedder } from './semantic/openai-embedder.js';
import { SemanticCache } from './semantic/semantic-cache.js';
import type { SemanticLog } from './semantic/semantic-log.js';
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
  /** Lets go of what is shared with other replicas (connections). */
  close(): Promise<void>;
}

/** What replicas share, when they do (`store: redis`); in-process otherwise. */
export interface SharedCaches {
  exact?: CacheStore;
  /** Opened only if the semantic cache is enabled. */
  openSemanticLog?: () => SemanticLog;
}

export function createAnswerCache(config: Config['cache'], shared: SharedCaches = {}): AnswerCache {
  const { exact, negative } = config;
  const exactStore: CacheStore | undefined = exact.enabled ? (shared.exact ?? new MemoryCacheStore({ maxBytes: exact.max_bytes, defaultTtlMs: exact.ttl })) : undefined;
  // A semantic hit points at an exact-cache entry: without an exact cache there is nothing to point at.
  const semanticOn = exact.enabled && config.semantic.enabled;
  const semanticLog = semanticOn ? shared.openSemanticLog?.() : undefined;
  return {
    exact: exactStore,
    semantic: semanticOn ? createSemanticCache(config, semanticLog) : undefined,
    negative: negative.enabled ? new NegativeCache({ ttlMs: negative.ttl }) : undefined,
    flights: new SingleFlight(),
    cacheNonZeroTemperature: exact.cache_nonzero_temperature,
    ttlMs: exact.ttl,
    async close() {
      await semanticLog?.close();
      await exactStore?.close?.();
    },
  };
}

/** The semantic cache, publishing what it remembers to the log and taking in what others publish. */
function createSemanticCache(config: Config['cache'], log: SemanticLog | undefined): SemanticCache {
  const { semantic } = config;
  const embedder =
    semantic.embedder.type === 'builtin'
      ? new HashedEmbedder()
      : new OpenAIEmbedder({ baseUrl: semantic.embedder.base_url, apiKey: semantic.embedder.key, model: semantic.embedder.model });
  const cache = new SemanticCache({
    embedder,
    threshold: semantic.threshold,
    multiTurn: semantic.multi_turn,
    ttlMs: config.exact.ttl,
    onRemember: log && ((entry) => log.publish(entry)),
  });
  log?.follow((entry) => cache.add(entry, Date.now()));
  return cache;
}
