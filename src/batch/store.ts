/**
 * Where batches live. The runner and the HTTP surface depend only on this interface; SQLite is the
 * default implementation (sqlite-store.ts). Every state change that must survive a crash is one call
 * here, and one transaction in the implementation.
 */
import type { BatchRecord, StateCounts } from './shape.js';

export interface NewRequest {
  customId: string;
  /** The Messages params as JSON text, exactly as the client sent them. */
  params: string;
}

/** A request handed to the runner: it is `running` in the store until completed or released. */
export interface ClaimedRequest {
  batchId: string;
  customId: string;
  params: string;
}

export type FinalState = 'succeeded' | 'errored';

export interface ListOptions {
  /** Only this owner's batches are listed, and paged through; ids of other owners count as unknown. */
  owner: string;
  limit: number;
  beforeId?: string;
  afterId?: string;
}

export interface BatchStore {
  /**
   * Several replicas drain this store. requeueRunning then only takes back requests of replicas
   * that are gone, so the runner also calls it periodically to pick up a dead replica's work.
   */
  readonly shared?: boolean;
  /** True while the store cannot be reached: the runner pauses and the HTTP surface answers 503. */
  readonly degraded?: boolean;
  createBatch(batch: Omit<BatchRecord, 'seq'>, requests: NewRequest[]): Promise<void>;
  /** Whoever owns it: the runner needs every batch, so the HTTP surface checks `owner` itself. */
  getBatch(id: string): Promise<BatchRecord | undefined>;
  /** One owner's batches, newest first; `afterId` pages towards older batches, `beforeId` towards newer ones. */
  listBatches(options: ListOptions): Promise<{ batches: BatchRecord[]; hasMore: boolean }>;
  stateCounts(id: string): Promise<StateCounts>;
  /** Mark up to `limit` pending requests of unfinished batches running, oldest batch first. */
  claim(limit: number): Promise<ClaimedRequest[]>;
  /** Store the result and its state together; ends the batch when nothing is left. Returns whether it ended now. */
  complete(batchId: string, customId: string, state: FinalState, result: string, now: number): Promise<boolean>;
  /** Hand a running request back to pending (it never reached an answer). */
  release(batchId: string, customId: string): Promise<void>;
  /** Start canceling: pending requests become canceled. Returns whether the batch ended now. */
  cancel(id: string, now: number): Promise<boolean>;
  /** Pending requests of batches past their expiry become expired. Returns the ids of batches that ended. */
  expire(now: number): Promise<string[]>;
  /**
   * After a crash: `running` was never recorded as answered, so it goes back to pending (canceled in
   * a batch being canceled). A shared store only takes back those of replicas no longer alive. Returns how many.
   */
  requeueRunning(): Promise<number>;
  /** Unfinished batches with nothing pending or running are ended. Returns their ids. */
  endIdle(now: number): Promise<string[]>;
  /** Ended batches whose webhook has not been sent yet. */
  webhooksDue(): Promise<BatchRecord[]>;
  markWebhookSent(id: string, now: number): Promise<void>;
  /** The stored result JSON of every request, in submission order. */
  results(id: string): AsyncIterable<{ customId: string; result: string }>;
  deleteBatch(id: string): Promise<boolean>;
  close(): Promise<void>;
}
