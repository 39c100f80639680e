/**
 * The semantic cache's log in Redis, shared by replicas: one stream (`<prefix>semantic`) that each
 * replica appends what it remembers to and tails into its own index, so a paraphrase answered
 * through one replica is a hit on every one. Lookups never touch Redis: the index is searched in
 * process; only remembering travels.
 *
 * The stream is capped (XADD MAXLEN ~), and a replica reads it from the start when it begins, so
 * a new replica starts warm. Like the exact cache, it must never fail a request: while Redis is
 * unreachable entries stay local, and the tailer retries, then reads on where it stopped.
 */
import { setTimeout as delay } from 'node:timers/promises';
import type { Cluster, Redis } from 'ioredis';
import type { SemanticEntry, SemanticLog } from '../cache/semantic/semantic-log.js';
import type { RedisStore } from './redis-store.js';

export interface RedisSemanticLogOptions {
  /** Entries the stream keeps (about: trimmed with MAXLEN ~); all a new replica reads at start. */
  maxEntries?: number;
  /** How long one read waits for new entries. */
  blockMs?: number;
  /** The pause before reading again after a failure. */
  retryMs?: number;
  log?: (message: string) => void;
}

const DEFAULT_MAX_ENTRIES = 10_000;
const DEFAULT_BLOCK_MS = 1000;
const DEFAULT_RETRY_MS = 500;
/** Entries per read, so a warm start of a full stream is several replies, not one huge one. */
const READ_BATCH = 500;
/** The shared client's command timeout is shorter than a blocking read: the reader's waits this much longer than a block. */
const READ_GRACE_MS = 1000;

/** The fields of an entry in the stream. The vector goes as its raw bytes (platform order: little-endian wherever Node runs). */
export function encodeEntry(origin: string, entry: SemanticEntry): Array<string | Buffer> {
  const { vector } = entry;
  return [
    'origin', origin,
    'partition', entry.partition,
    'prompt', entry.prompt,
    'value', entry.value,
    'expiresAt', String(entry.expiresAt),
    'vector', Buffer.from(vector.buffer, vector.byteOffset, vector.byteLength),
  ];
}

/** A stream entry's fields (as XREAD returns them) → the entry and the replica it came from; undefined if malformed. */
export function decodeEntry(fields: Buffer[]): { origin: string; entry: SemanticEntry } | undefined {
  const byName = new Map<string, Buffer>();
  for (let i = 0; i + 1 < fields.length; i += 2) byName.set((fields[i] as Buffer).toString('utf8'), fields[i + 1] as Buffer);
  const text = (name: string): string | undefined => byName.get(name)?.toString('utf8');
  const origin = text('origin');
  const partition = text('partition');
  const prompt = text('prompt');
  const value = text('value');
  const expiresAt = Number(text('expiresAt'));
  const bytes = byName.get('vector');
  if (origin === undefined || partition === undefined || prompt === undefined || value === undefined) return undefined;
  if (!Number.isFinite(expiresAt) || !bytes || bytes.length === 0 || bytes.length % Float32Array.BYTES_PER_ELEMENT !== 0) return undefined;
  // Copied into a buffer of its own: a Float32Array needs 4-byte alignment, which a slice of the reply need not have.
  const vector = new Float32Array(bytes.length / Float32Array.BYTES_PER_ELEMENT);
  new Uint8Array(vector.buffer).set(bytes);
  return { origin, entry: { partition, prompt, value, expiresAt, vector } };
}

/** Orders stream ids (`<ms>-<seq>`). */
function compareIds(a: string, b: string): number {
  const [aMs = 0, aSeq = 0] = a.split('-').map(Number);
  const [bMs = 0, bSeq = 0] = b.split('-').map(Number);
  return aMs - bMs || aSeq - bSeq;
}

export class RedisSemanticLog implements SemanticLog {
  private readonly store: RedisStore;
  private readonly key: string;
  /** A connection of its own: a blocking read would hold up every command queued behind it. */
  private readonly reader: Redis | Cluster;
  private readonly maxEntries: number;
  private readonly blockMs: number;
  private readonly retryMs: number;
  private readonly log: (message: string) => void;
  private readonly stopping = new AbortController();
  private tailing: Promise<void> | undefined;

  constructor(store: RedisStore, options: RedisSemanticLogOptions = {}) {
    this.store = store;
    this.key = store.sharedKey('semantic');
    this.maxEntries = options.maxEntries ?? DEFAULT_MAX_ENTRIES;
    this.blockMs = options.blockMs ?? DEFAULT_BLOCK_MS;
    this.retryMs = options.retryMs ?? DEFAULT_RETRY_MS;
    this.log = options.log ?? (() => {});
    this.reader = store.duplicate(this.blockMs + READ_GRACE_MS);
    this.reader.on('error', () => {}); // failed reads say it, once; ioredis would otherwise print each retry
    store.retain();
  }

  publish(entry: SemanticEntry): void {
    if (this.store.degraded || this.stopping.signal.aborted) return;
    // Not awaited, failures ignored: sharing is a bonus, and the entry is in this replica's index already.
    this.store.client.xadd(this.key, 'MAXLEN', '~', this.maxEntries, '*', ...encodeEntry(this.store.replicaId, entry)).catch(() => undefined);
  }

  follow(onEntry: (entry: SemanticEntry) => void): void {
    if (this.tailing) throw new Error('a semantic log is followed once');
    this.tailing = this.tail(onEntry);
  }

  async close(): Promise<void> {
    if (this.stopping.signal.aborted) return;
    this.stopping.abort();
    this.reader.disconnect(); // ends a blocking read at once
    await this.tailing;
    await this.store.release();
  }

  private async tail(onEntry: (entry: SemanticEntry) => void): Promise<void> {
    let lastId = '0'; // from the start: the stream is capped, and a new replica starts warm
    let failing = false;
    while (!this.stopping.signal.aborted) {
      try {
        if (failing) lastId = await this.resumeFrom(lastId);
        const reply = await this.reader.xreadBuffer('COUNT', READ_BATCH, 'BLOCK', this.blockMs, 'STREAMS', this.key, lastId);
        if (failing) {
          failing = false;
          this.log('spillway: the shared semantic cache log is readable again; replicas share semantic entries again');
        }
        for (const [, items] of reply ?? []) {
          for (const [id, fields] of items) {
            lastId = id.toString('utf8');
            const decoded = decodeEntry(fields);
            if (decoded && decoded.origin !== this.store.replicaId) onEntry(decoded.entry);
          }
        }
      } catch (error) {
        if (this.stopping.signal.aborted) return;
        if (!failing) {
          failing = true;
          const reason = error instanceof Error ? error.message : String(error);
          this.log(`spillway: warning: cannot read the shared semantic cache log (${reason}); semantic entries stay per replica until Redis returns`);
        }
        await delay(this.retryMs, undefined, { signal: this.stopping.signal }).catch(() => undefined);
      }
    }
  }

  /**
   * Where to read on after a failure. Reading from an id past the stream's end returns nothing, so
   * if Redis came back without the stream (restarted empty) or with a shorter one, start over.
   */
  private async resumeFrom(lastId: string): Promise<string> {
    if (lastId === '0') return lastId;
    const [newest] = await this.reader.xrevrange(this.key, '+', '-', 'COUNT', 1);
    return newest && compareIds(newest[0], lastId) >= 0 ? lastId : '0';
  }
}
