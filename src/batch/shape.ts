/**
 * The Message Batches wire shapes (wire-facts §3.3) as pure functions over stored rows: the batch
 * object, its request counts, the page envelope and one JSONL result line. No I/O here.
 */
import { randomBytes } from 'node:crypto';

/** Where one request of a batch stands. `running` means handed to the request path, not yet recorded. */
export type RequestState = 'pending' | 'running' | 'succeeded' | 'errored' | 'canceled' | 'expired';

export type ProcessingStatus = 'in_progress' | 'canceling' | 'ended';

/** A batch as stored: times are epoch ms. */
export interface BatchRecord {
  id: string;
  /** Insertion order, for listing newest first and paging by id. */
  seq: number;
  /**
   * The client credential that created the batch, as an opaque hash (never the key itself); only
   * that client lists and reaches it. '' when the gateway has no client keys (open mode).
   */
  owner: string;
  processingStatus: ProcessingStatus;
  total: number;
  createdAt: number;
  expiresAt: number;
  endedAt: number | null;
  cancelInitiatedAt: number | null;
  /** POSTed the batch object when it ends. */
  webhookUrl: string | null;
  webhookSentAt: number | null;
  /** Client headers replayed on every request of the batch (anthropic-version, anthropic-beta). */
  headers: Record<string, string>;
}

export type StateCounts = Record<RequestState, number>;

export interface RequestCounts {
  processing: number;
  succeeded: number;
  errored: number;
  canceled: number;
  expired: number;
}

export interface MessageBatch {
  id: string;
  type: 'message_batch';
  processing_status: ProcessingStatus;
  request_counts: RequestCounts;
  created_at: string;
  expires_at: string;
  ended_at: string | null;
  cancel_initiated_at: string | null;
  archived_at: string | null;
  results_url: string | null;
}

/** Batches expire 24 h after creation, as upstream. */
export const BATCH_LIFETIME_MS = 24 * 3_600_000;

export function newBatchId(): string {
  return `msgbatch_spw_${randomBytes(12).toString('hex')}`;
}

export function emptyCounts(): StateCounts {
  return { pending: 0, running: 0, succeeded: 0, errored: 0, canceled: 0, expired: 0 };
}

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

/**
 * Upstream keeps every request under `processing` until the whole batch ends, so clients never
 * see partial progress; the sum always equals the number of requests.
 */
export function requestCounts(batch: Pick<BatchRecord, 'processingStatus' | 'total'>, states: StateCounts): RequestCounts {
  if (batch.processingStatus !== 'ended') return { processing: batch.total, succeeded: 0, errored: 0, canceled: 0, expired: 0 };
  return {
    processing: states.pending + states.running,
    succeeded: states.succeeded,
    errored: states.errored,
    canceled: states.canceled,
    expired: states.expired,
  };
}

/** The batch object; `resultsBase` is the URL clients reach spillway at (results_url must be absolute). */
export function batchObject(batch: BatchRecord, states: StateCounts, resultsBase: string): MessageBatch {
  const ended = batch.processingStatus === 'ended';
  return {
    id: batch.id,
    type: 'message_batch',
    processing_status: batch.processingStatus,
    request_counts: requestCounts(batch, states),
    created_at: iso(batch.createdAt)!,
    expires_at: iso(batch.expiresAt)!,
    ended_at: iso(batch.endedAt),
    cancel_initiated_at: iso(batch.cancelInitiatedAt),
    archived_at: null,
    results_url: ended ? `${resultsBase}/v1/messages/batches/${batch.id}/results` : null,
  };
}

export interface Page<T> {
  data: T[];
  has_more: boolean;
  first_id: string | null;
  last_id: string | null;
}

export function page<T extends { id: string }>(data: T[], hasMore: boolean): Page<T> {
  return { data, has_more: hasMore, first_id: data[0]?.id ?? null, last_id: data.at(-1)?.id ?? null };
}

/** A stored result for a request that never produced one of its own. */
export function placeholderResult(state: 'canceled' | 'expired'): { type: 'canceled' | 'expired' } {
  return { type: state };
}

/** One line of the results JSONL. */
export function resultLine(customId: string, result: unknown): string {
  return `${JSON.stringify({ custom_id: customId, result })}\n`;
}
