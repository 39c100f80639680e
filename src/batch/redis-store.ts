/**
 * The BatchStore for `store: redis`: batch jobs in the Redis every replica shares, so a batch
 * created on one replica is listed, drained and cancelled by any of them.
 *
 * Each state change is one Lua script (redis-scripts.ts), so it is one round trip and atomic. A
 * running request records which replica claimed it; requeueRunning only takes back requests of
 * replicas whose heartbeat (RedisStore) has lapsed, so it is safe to call periodically: a dead
 * replica's work goes to the survivors and a live one's is never sent twice.
 */
import type { RedisStore } from '../store/redis-store.js';
import { BATCH_SCRIPTS, type BatchScriptName } from './redis-scripts.js';
import { emptyCounts, placeholderResult, type BatchRecord, type ProcessingStatus, type StateCounts } from './shape.js';
import type { BatchStore, ClaimedRequest, FinalState, ListOptions, NewRequest } from './store.js';

type ScriptCall = (...args: Array<string | number>) => Promise<unknown>;

/** Requests written per command when a batch is created: keeps each under the command timeout. */
const WRITE_CHUNK = 500;
/** Results read per round trip while streaming the JSONL. */
const RESULT_PAGE = 1000;
/** How long one replica holds the right to send a batch's webhook before another may retry it. */
const WEBHOOK_LEASE_MS = 60_000;

export interface RedisBatchStoreOptions {
  /** The clock compared with replica heartbeats (tests); Date.now otherwise. */
  now?: () => number;
}

/** Redis hash fields of a batch; null is stored as ''. */
function toHash(batch: Omit<BatchRecord, 'seq'>): Array<string | number> {
  const opt = (value: number | string | null) => (value === null ? '' : value);
  return [
    'id', batch.id,
    'owner', batch.owner,
    'status', batch.processingStatus,
    'total', batch.total,
    'createdAt', batch.createdAt,
    'expiresAt', batch.expiresAt,
    'endedAt', opt(batch.endedAt),
    'cancelInitiatedAt', opt(batch.cancelInitiatedAt),
    'webhookUrl', opt(batch.webhookUrl),
    'webhookSentAt', opt(batch.webhookSentAt),
    'headers', JSON.stringify(batch.headers),
  ];
}

function fromHash(hash: Record<string, string>): BatchRecord | undefined {
  if (hash.id === undefined) return undefined;
  const num = (value: string | undefined) => (value === undefined || value === '' ? null : Number(value));
  return {
    id: hash.id,
    seq: Number(hash.seq),
    // Stored before owners existed: the open-mode owner, as the SQLite migration gives them.
    owner: hash.owner ?? '',
    processingStatus: hash.status as ProcessingStatus,
    total: Number(hash.total),
    createdAt: Number(hash.createdAt),
    expiresAt: Number(hash.expiresAt),
    endedAt: num(hash.endedAt),
    cancelInitiatedAt: num(hash.cancelInitiatedAt),
    webhookUrl: hash.webhookUrl ? hash.webhookUrl : null,
    webhookSentAt: num(hash.webhookSentAt),
    headers: JSON.parse(hash.headers ?? '{}') as Record<string, string>,
  };
}

export class RedisBatchStore implements BatchStore {
  readonly shared = true;
  private readonly now: () => number;
  private closed = false;
  /** The one-time owner migration (INDEX_OWNERS), awaited by the first listing of this process. */
  private ownersIndexed: Promise<unknown> | undefined;

  constructor(
    private readonly redis: RedisStore,
    options: RedisBatchStoreOptions = {},
  ) {
    this.now = options.now ?? Date.now;
    for (const [name, lua] of Object.entries(BATCH_SCRIPTS)) redis.client.defineCommand(name, { numberOfKeys: 1, lua });
    redis.retain();
  }

  /** True while Redis is out of reach: the runner pauses and the HTTP surface answers 503. */
  get degraded(): boolean {
    return this.redis.degraded;
  }

  /** Under the shared prefix: on a cluster, one slot with the heartbeats the requeue script reads. */
  private key(...parts: string[]): string {
    return this.redis.sharedKey(...parts);
  }

  private batchKey(id: string, part?: string): string {
    return part === undefined ? this.key('batch', id) : this.key('batch', id, part);
  }

  /** A failed command means Redis is out of reach for the whole process, as for the pools. */
  private async call<T>(run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (error) {
      this.redis.markDown(error);
      throw error;
    }
  }

  /**
   * Every script takes the prefix and the time first (redis-scripts.ts). The scripts build their
   * keys from the prefix; the one key declared routes the call to their slot on a cluster.
   */
  private script(name: BatchScriptName, now: number, ...args: Array<string | number>): Promise<unknown> {
    const call = (this.redis.client as unknown as Record<string, ScriptCall>)[name]!;
    return this.call(() => call.call(this.redis.client, this.key('batches', 'live'), this.redis.sharedPrefix, now, ...args));
  }

  /** MULTI replies carry per-command errors instead of throwing. */
  private async transaction(build: (multi: ReturnType<RedisStore['client']['multi']>) => unknown): Promise<Array<[Error | null, unknown]>> {
    return this.call(async () => {
      const multi = this.redis.client.multi();
      build(multi);
      const replies = (await multi.exec()) ?? [];
      const failed = replies.find(([error]) => error);
      if (failed) throw failed[0];
      return replies;
    });
  }

  async createBatch(batch: Omit<BatchRecord, 'seq'>, requests: NewRequest[]): Promise<void> {
    // The requests first, in chunks; the batch becomes visible (listed, claimable) only in the last
    // step, so a crash in between leaves unreachable keys, never a half-created batch.
    for (let start = 0; start < requests.length; start += WRITE_CHUNK) {
      const chunk = requests.slice(start, start + WRITE_CHUNK);
      const params: string[] = [];
      const idx: Array<string | number> = [];
      const pending: Array<string | number> = [];
      chunk.forEach((request, i) => {
        params.push(request.customId, request.params);
        idx.push(request.customId, start + i);
        pending.push(start + i, request.customId);
      });
      await this.transaction((multi) =>
        multi
          .hset(this.batchKey(batch.id, 'params'), ...params)
          .hset(this.batchKey(batch.id, 'idx'), ...idx)
          .rpush(this.batchKey(batch.id, 'ids'), ...chunk.map((request) => request.customId))
          .zadd(this.batchKey(batch.id, 'pending'), ...pending),
      );
    }
    await this.script('spillwayBatchCreate', this.now(), ...toHash(batch));
  }

  async getBatch(id: string): Promise<BatchRecord | undefined> {
    return fromHash(await this.call(() => this.redis.client.hgetall(this.batchKey(id))));
  }

  async listBatches({ owner, limit, beforeId, afterId }: ListOptions): Promise<{ batches: BatchRecord[]; hasMore: boolean }> {
    await this.indexOwners();
    const { client } = this.redis;
    // The owner's own index, so another owner's id has no score here: it pages like an unknown one.
    const list = this.key('batches', 'owner', owner);
    const seqOf = async (id: string) => {
      const score = await this.call(() => client.zscore(list, id));
      return score === null ? undefined : Number(score);
    };
    let ids: string[];
    let hasMore: boolean;
    if (beforeId !== undefined) {
      // Newer than before_id: the ones closest to it, shown newest first like every page (as SQLite).
      const seq = (await seqOf(beforeId)) ?? Number.MAX_SAFE_INTEGER;
      const found = await this.call(() => client.zrangebyscore(list, `(${seq}`, '+inf', 'LIMIT', 0, limit + 1));
      hasMore = found.length > limit;
      ids = found.slice(0, limit).reverse();
    } else {
      const seq = afterId !== undefined ? ((await seqOf(afterId)) ?? 0) : Number.MAX_SAFE_INTEGER;
      const found = await this.call(() => client.zrevrangebyscore(list, `(${seq}`, '-inf', 'LIMIT', 0, limit + 1));
      hasMore = found.length > limit;
      ids = found.slice(0, limit);
    }
    const records = await Promise.all(ids.map((id) => this.getBatch(id)));
    return { batches: records.filter((record): record is BatchRecord => record !== undefined), hasMore };
  }

  async stateCounts(id: string): Promise<StateCounts> {
    const [pending, running, succeeded, errored, canceled, expired] = (await this.script('spillwayBatchCounts', this.now(), id)) as number[];
    return { ...emptyCounts(), pending: pending!, running: running!, succeeded: succeeded!, errored: errored!, canceled: canceled!, expired: expired! };
  }

  async claim(limit: number): Promise<ClaimedRequest[]> {
    const flat = (await this.script('spillwayBatchClaim', this.now(), limit, this.redis.replicaId)) as string[];
    const claimed: ClaimedRequest[] = [];
    for (let i = 0; i + 2 < flat.length; i += 3) claimed.push({ batchId: flat[i]!, customId: flat[i + 1]!, params: flat[i + 2]! });
    return claimed;
  }

  async complete(batchId: string, customId: string, state: FinalState, result: string, now: number): Promise<boolean> {
    return Number(await this.script('spillwayBatchComplete', now, batchId, customId, state, result)) === 1;
  }

  async release(batchId: string, customId: string): Promise<void> {
    await this.script('spillwayBatchRelease', this.now(), batchId, customId);
  }

  async cancel(id: string, now: number): Promise<boolean> {
    return Number(await this.script('spillwayBatchCancel', now, id)) === 1;
  }

  async expire(now: number): Promise<string[]> {
    return (await this.script('spillwayBatchExpire', now)) as string[];
  }

  async requeueRunning(): Promise<number> {
    // Compared with heartbeat expiries, which replicas write with their own clocks.
    return Number(await this.script('spillwayBatchRequeue', this.now(), this.redis.sharedKey('replicas')));
  }

  async endIdle(now: number): Promise<string[]> {
    return (await this.script('spillwayBatchEndIdle', now)) as string[];
  }

  async webhooksDue(): Promise<BatchRecord[]> {
    const ids = (await this.script('spillwayBatchWebhooksDue', this.now(), WEBHOOK_LEASE_MS)) as string[];
    const records = await Promise.all(ids.map((id) => this.getBatch(id)));
    return records.filter((record): record is BatchRecord => record !== undefined && record.webhookSentAt === null);
  }

  async markWebhookSent(id: string, now: number): Promise<void> {
    await this.transaction((multi) => multi.hset(this.batchKey(id), 'webhookSentAt', now).srem(this.key('batches', 'webhooks'), id));
  }

  async *results(id: string): AsyncIterable<{ customId: string; result: string }> {
    const { client } = this.redis;
    for (let start = 0; ; start += RESULT_PAGE) {
      const ids = await this.call(() => client.lrange(this.batchKey(id, 'ids'), start, start + RESULT_PAGE - 1));
      if (ids.length === 0) return;
      const results = await this.call(() => client.hmget(this.batchKey(id, 'result'), ...ids));
      for (let i = 0; i < ids.length; i++) {
        // Every request has a result once the batch has ended; none only if read while processing.
        yield { customId: ids[i]!, result: results[i] ?? JSON.stringify(placeholderResult('canceled')) };
      }
      if (ids.length < RESULT_PAGE) return;
    }
  }

  async deleteBatch(id: string): Promise<boolean> {
    return Number(await this.script('spillwayBatchDelete', this.now(), id)) === 1;
  }

  /** Retried by the next listing if it failed (Redis out of reach). */
  private indexOwners(): Promise<unknown> {
    this.ownersIndexed ??= this.script('spillwayBatchIndexOwners', this.now()).catch((error: unknown) => {
      this.ownersIndexed = undefined;
      throw error;
    });
    return this.ownersIndexed;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.redis.release();
  }
}
