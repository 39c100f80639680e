/**
 * The batch runner: drains pending batch requests through the interactive request path at
 * priority 'batch', so they take whatever capacity interactive traffic leaves and the admission
 * queue paces them to the keys' limits. Durable state lives in a BatchStore; this module holds
 * only what is in flight.
 *
 * The exactly-once rule: a request's answer and its `succeeded` state are written in one
 * transaction. A request that was `running` when the process died had no recorded answer, so it
 * is sent again on restart; one recorded as succeeded never is.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { postWebhook } from '../observe/webhook.js';
import { serveChat } from '../pipeline/chat.js';
import { clientKeyIdOfOwner } from '../config/client-keys.js';
import { tenantOfOwner } from '../tenants/owner.js';
import { bodyOf } from '../pipeline/answer.js';
import { markFirstByte, type RequestContext } from '../pipeline/request-context.js';
import { errorResponse, GatewayError } from '../pipeline/errors.js';
import type { Engine } from '../pipeline/engine.js';
import { parseChatRequest, type ChatRequest } from '../pipeline/ingress.js';
import { batchRequestContext } from './in-process.js';
import { batchObject, type BatchRecord, type MessageBatch } from './shape.js';
import { BATCH_FILE, SqliteBatchStore } from './sqlite-store.js';
import type { BatchStore, ClaimedRequest } from './store.js';
import { selectGroups, type Candidate } from '../merge/policy.js';
import { mergePolicyFor, pivotOf, serveMerged, type MergeMember } from '../merge/serve.js';
import type { PivotRequest } from '../pivot/index.js';

/** A claimed request with what merging needs to know of it. */
interface MergeCandidate {
  claimed: ClaimedRequest;
  chat: ChatRequest | undefined;
  pivot: PivotRequest | undefined;
}
/** A member of a merged group: readable, in the pivot's shape. */
type MergedMember = MergeCandidate & MergeMember;

export interface BatchServiceOptions {
  dataDir: string;
  /** Requests in flight at once; the admission queue holds them until a key has room. */
  concurrency: number;
  /** Default webhook for batches created without the x-spillway-batch-webhook header. */
  webhook?: string;
  /** Signs every batch webhook POST. */
  webhookSecret?: string | undefined;
  log(message: string): void;
  /** Another store (tests, Redis); SQLite in dataDir otherwise. */
  openStore?: () => BatchStore;
}

/** How often the runner looks for expired batches and webhooks to retry when nothing wakes it. */
const TICK_MS = 1000;
const WEBHOOK_RETRY_MS = 30_000;
const WEBHOOK_TIMEOUT_MS = 10_000;
/** After spillway itself refused a batch request (queue full, no key in service), wait this long. */
const REFUSED_PAUSE_MS = 1000;
/** A shared store: how often to take back requests of replicas that stopped heartbeating. */
const REQUEUE_EVERY_MS = 1000;

let batchRequestCounter = 0;

interface Flight {
  batchId: string;
  abort: AbortController;
  /** Set once admission chose a key: from then on the request is sent and allowed to finish. */
  admitted(): boolean;
}

export class BatchService {
  private opened: BatchStore | undefined;
  /** What is in flight, with a way to stop each one while it still waits for admission. */
  private readonly inFlight = new Map<Promise<void>, Flight>();
  private readonly batches = new Map<string, BatchRecord>();
  private wakeUp: (() => void) | undefined;
  private closed = false;
  private loopDone: Promise<void> | undefined;
  private pausedUntil = 0;
  private webhookRetryAt = 0;
  private readonly webhooksSending = new Set<string>();
  private woken = false;
  private housekeptAt = 0;
  private requeuedAt = 0;
  private failing = false;
  /** The URL clients reach spillway at; results_url and webhook payloads are built on it. */
  baseUrl = 'http://127.0.0.1';

  constructor(
    private readonly gw: Engine,
    private readonly options: BatchServiceOptions,
  ) {}

  get defaultWebhook(): string | undefined {
    return this.options.webhook;
  }

  /** The store, opened on first use so a gateway that never sees a batch creates no file. */
  store(): BatchStore {
    this.opened ??= this.options.openStore?.() ?? new SqliteBatchStore(this.options.dataDir);
    return this.opened;
  }

  /** Resume whatever a previous process left, then drain. */
  async start(): Promise<void> {
    if (this.options.openStore || existsSync(join(this.options.dataDir, BATCH_FILE))) {
      const store = this.store();
      try {
        const requeued = await store.requeueRunning();
        if (requeued > 0) this.options.log(`spillway: batches: ${requeued} request(s) interrupted by a restart are pending again`);
        await store.endIdle(Date.now());
      } catch (error) {
        // A shared store out of reach at startup: the periodic requeue catches up once it is back.
        if (!store.shared) throw error;
        this.options.log(`spillway: batches: store unreachable at startup (${error instanceof Error ? error.message : String(error)}); the runner waits for it`);
      }
    }
    this.loopDone = this.loop().catch((error: unknown) => {
      this.options.log(`spillway: batch runner stopped: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    });
  }

  /** New work or a cancel: look again now rather than at the next tick. */
  wake(): void {
    // Remembered when the loop is busy (claiming), so the wake is not lost until the next tick.
    this.woken = true;
    this.wakeUp?.();
  }

  async object(batch: BatchRecord, base = this.baseUrl): Promise<MessageBatch> {
    return batchObject(batch, await this.store().stateCounts(batch.id), base);
  }

  /**
   * Cancel a batch: pending requests become canceled in the store, and requests still waiting in
   * the admission queue are withdrawn (they go back to the store, which cancels them). Requests
   * already sent upstream finish. Returns false for an unknown batch.
   */
  async cancel(id: string): Promise<boolean> {
    const store = this.store();
    if (!(await store.getBatch(id))) return false;
    if (await store.cancel(id, Date.now())) await this.ended(id);
    for (const flight of this.inFlight.values()) {
      if (flight.batchId === id && !flight.admitted()) flight.abort.abort();
    }
    this.wake();
    return true;
  }

  /** A batch ended (all answered, canceled or expired): tell its webhook. */
  async ended(id: string): Promise<void> {
    this.batches.delete(id);
    // Not awaited: a slow webhook receiver must not hold a request slot.
    this.sendWebhooks().catch((error: unknown) => this.options.log(`spillway: batch webhooks: ${error instanceof Error ? error.message : String(error)}`));
  }

  private async loop(): Promise<void> {
    while (!this.closed) {
      this.woken = false;
      // While the store is out of reach (Redis down) the runner pauses; in-flight requests finish.
      if (this.opened && !this.opened.degraded) {
        try {
          const room = this.options.concurrency - this.inFlight.size;
          if (room > 0 && Date.now() >= this.pausedUntil) {
            await this.launchClaimed(await this.opened.claim(room * this.mergeFactor()), room);
          }
          if (Date.now() - this.housekeptAt >= TICK_MS) await this.housekeeping();
          this.failing = false;
        } catch (error) {
          // A store that failed once is tried again next tick rather than stopping the runner.
          if (!this.failing) this.options.log(`spillway: batch runner paused: ${error instanceof Error ? error.message : String(error)}`);
          this.failing = true;
          this.woken = false;
        }
      }
      if (this.woken) continue;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.max(0, Math.min(TICK_MS, this.pausedUntil - Date.now())) || TICK_MS);
        timer.unref();
        this.wakeUp = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.wakeUp = undefined;
    }
  }

  private async housekeeping(): Promise<void> {
    const store = this.opened!;
    const now = Date.now();
    this.housekeptAt = now;
    if (store.shared && now - this.requeuedAt >= REQUEUE_EVERY_MS) {
      this.requeuedAt = now;
      const requeued = await store.requeueRunning();
      if (requeued > 0) this.options.log(`spillway: batches: ${requeued} request(s) of a replica that stopped are pending again`);
      await this.withdrawCanceledElsewhere();
    }
    const expired = await store.expire(now);
    if (expired.length > 0 || now >= this.webhookRetryAt) await this.sendWebhooks();
  }

  /**
   * A batch canceled (or deleted) through another replica still has requests waiting in this one's
   * admission queue: withdraw them, as `cancel` does for the replica that received the cancel.
   */
  private async withdrawCanceledElsewhere(): Promise<void> {
    const waiting = new Set<string>();
    for (const flight of this.inFlight.values()) if (!flight.admitted()) waiting.add(flight.batchId);
    for (const id of waiting) {
      const batch = await this.store().getBatch(id);
      if (batch?.processingStatus === 'in_progress') continue;
      for (const flight of this.inFlight.values()) {
        if (flight.batchId === id && !flight.admitted()) flight.abort.abort();
      }
    }
  }

  /** With merging on some route, a flight may carry up to its `max` requests: claim that many per slot. */
  private mergeFactor(): number {
    let factor = 1;
    for (const route of Object.values(this.gw.config.routes)) if (route.merge) factor = Math.max(factor, route.merge.max);
    return factor;
  }

  /**
   * Launch what was claimed: requests of one batch that may share a call (merge/policy.ts) as one
   * flight each group, the rest alone; one flight per free slot, what finds no slot goes back.
   */
  private async launchClaimed(claimed: ClaimedRequest[], room: number): Promise<void> {
    if (claimed.length <= room && this.mergeFactor() === 1) {
      for (const one of claimed) this.launch(one);
      return;
    }
    const candidates: Array<Candidate<MergeCandidate>> = [];
    for (const one of claimed) {
      let chat: ChatRequest | undefined;
      try {
        chat = parseChatRequest('anthropic', Buffer.from(one.params));
      } catch {
        chat = undefined; // sent alone: serve() records the error
      }
      const pivot = chat && pivotOf(chat);
      const policy = chat && mergePolicyFor(this.gw, chat.model);
      candidates.push({ item: { claimed: one, chat, pivot }, request: pivot, scope: one.batchId, policy });
    }
    for (const group of selectGroups(candidates)) {
      if (room <= 0) {
        for (const member of group) await this.store().release(member.claimed.batchId, member.claimed.customId);
        continue;
      }
      room--;
      if (group.length === 1) this.launch(group[0]!.claimed);
      else this.launchMerged(group as MergedMember[]);
    }
  }

  /** One flight for a merged group: the merged call, or each member alone when it cannot be split. */
  private launchMerged(group: MergedMember[]): void {
    this.fly(
      group.map(({ claimed }) => claimed),
      'merged group',
      (signal, watch) => this.serveMergedGroup(group, signal, watch),
    );
  }

  /** A batch request acts for the tenant that created the batch: its models, ceiling, budget, fair share, usage and cost. */
  private actFor(exchange: RequestContext, owner: string): void {
    const tenantName = tenantOfOwner(this.gw.config, owner);
    const tenant = tenantName === undefined ? undefined : this.gw.tenants.get(tenantName);
    if (tenant) {
      exchange.tenant = tenant;
      exchange.trace.tenant = tenant.name;
    }
    exchange.trace.clientKeyId = clientKeyIdOfOwner(this.gw.config.server.auth.keys, owner) ?? tenantName;
  }

  private async serveMergedGroup(group: MergedMember[], signal: AbortSignal, watch: (exchange: RequestContext) => void): Promise<void> {
    const batchId = group[0]!.claimed.batchId;
    const batch = await this.batchOf(batchId);
    if (!batch) return; // deleted meanwhile
    const requestId = `req_spw_batch_${(batchRequestCounter++).toString(36)}`;
    const exchange = batchRequestContext(requestId, batch.owner, { 'content-type': 'application/json' }, signal);
    // The merged call is an OpenAI-shaped (pivot) request: the provider codecs carry it anywhere.
    exchange.surface = 'openai';
    exchange.req.url = '/v1/chat/completions';
    this.actFor(exchange, batch.owner);
    watch(exchange);
    const outcome = await serveMerged(this.gw, exchange, group, 'batch', Math.max(0, batch.expiresAt - Date.now()));
    if (!outcome.ok) {
      if (outcome.reason !== 'aborted') this.gw.observer.merged?.({ failure: outcome.reason });
      // Merging may save calls, never change an answer: each member goes on its own.
      await Promise.all(group.map(({ claimed }) => this.serve(claimed, signal, watch)));
      return;
    }
    this.gw.observer.merged?.({ saved: group.length - 1 });
    markFirstByte(exchange);
    for (const [i, { claimed }] of group.entries()) {
      const answer = outcome.answers[i]!;
      // Each member shows in metrics and the usage log with its share of the merged call's usage.
      const member = batchRequestContext(`${requestId}_${i + 1}`, batch.owner, {}, signal);
      member.trace = { ...exchange.trace, inputTokens: answer.inputTokens, outputTokens: answer.outputTokens };
      this.record(member, 200);
      const result = JSON.stringify({ type: 'succeeded', message: answer.body });
      if (await this.store().complete(claimed.batchId, claimed.customId, 'succeeded', result, Date.now())) await this.ended(claimed.batchId);
    }
  }

  private launch(claimed: ClaimedRequest): void {
    this.fly([claimed], `request ${claimed.customId}`, (signal, watch) => this.serve(claimed, signal, watch));
  }

  /**
   * Runs one flight (a request alone, or a merged group), admitted once any request of it has a
   * key. An internal failure must not leave its requests running forever: each is errored, as
   * upstream would.
   */
  private fly(members: ClaimedRequest[], what: string, work: (signal: AbortSignal, watch: (exchange: RequestContext) => void) => Promise<void>): void {
    const abort = new AbortController();
    const exchanges: RequestContext[] = [];
    // The request path sets x-spillway-attempts when admission has chosen a key, before dispatch.
    const flight: Flight = { batchId: members[0]!.batchId, abort, admitted: () => exchanges.some((x) => x.spillwayHeaders['x-spillway-attempts'] !== undefined) };
    const running: Promise<void> = work(abort.signal, (created) => exchanges.push(created))
      .catch(async (error: unknown) => {
        this.options.log(`spillway: batch ${flight.batchId} ${what}: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
        const result = JSON.stringify({ type: 'errored', error: { type: 'error', error: { type: 'api_error', message: 'internal gateway error' }, request_id: null } });
        for (const claimed of members) {
          if (await this.store().complete(claimed.batchId, claimed.customId, 'errored', result, Date.now())) await this.ended(claimed.batchId);
        }
      })
      .catch(() => undefined)
      .finally(() => {
        this.inFlight.delete(running);
        this.wake();
      });
    this.inFlight.set(running, flight);
  }

  private async batchOf(id: string): Promise<BatchRecord | undefined> {
    let batch = this.batches.get(id);
    if (!batch) {
      batch = await this.store().getBatch(id);
      if (batch) this.batches.set(id, batch);
    }
    return batch;
  }

  private async serve(claimed: ClaimedRequest, signal: AbortSignal, watch: (exchange: RequestContext) => void): Promise<void> {
    const store = this.store();
    const batch = await this.batchOf(claimed.batchId);
    if (!batch) return; // deleted meanwhile
    const requestId = `req_spw_batch_${(batchRequestCounter++).toString(36)}`;
    const finish = async (state: 'succeeded' | 'errored', result: unknown) => {
      if (await store.complete(claimed.batchId, claimed.customId, state, JSON.stringify(result), Date.now())) await this.ended(claimed.batchId);
    };
    const errored = (error: GatewayError) => finish('errored', { type: 'errored', error: JSON.parse(errorResponse('anthropic', error, requestId).body) as unknown });

    let chat: ChatRequest;
    try {
      chat = parseChatRequest('anthropic', Buffer.from(claimed.params));
    } catch (error) {
      if (error instanceof GatewayError) return errored(error);
      throw error;
    }
    const exchange = batchRequestContext(requestId, batch.owner, { ...batch.headers, 'content-type': 'application/json' }, signal);
    this.actFor(exchange, batch.owner);
    watch(exchange);
    const maxWaitMs = Math.max(0, batch.expiresAt - Date.now());
    let answer;
    try {
      answer = await serveChat(this.gw, exchange, chat, 'batch', maxWaitMs);
    } catch (error) {
      if (!(error instanceof GatewayError)) throw error;
      // A full queue says nothing about the request: it goes back for later.
      if (exchange.trace.rejected === 'full') {
        this.pausedUntil = Date.now() + Math.max(REFUSED_PAUSE_MS, Math.min(error.extra.retryAfterMs ?? 0, 30_000));
        return store.release(claimed.batchId, claimed.customId);
      }
      this.record(exchange, error.status);
      return errored(error);
    }
    if (!answer) {
      // Withdrawn (cancel, shutdown) before an answer: nothing recorded, so the store decides:
      // canceled in a canceling batch, pending (sent by the next start) otherwise.
      return store.release(claimed.batchId, claimed.customId);
    }
    markFirstByte(exchange);
    const text = (await bodyOf(answer)).toString('utf8');
    this.record(exchange, answer.status);
    if (answer.status === 200) {
      let message: unknown;
      try {
        message = JSON.parse(text);
      } catch {
        return errored(new GatewayError('upstream', 'the provider answered with a body that is not JSON'));
      }
      return finish('succeeded', { type: 'succeeded', message });
    }
    let error: unknown;
    try {
      error = JSON.parse(text);
    } catch {
      error = { type: 'error', error: { type: 'api_error', message: text.slice(0, 1000) }, request_id: requestId };
    }
    return finish('errored', { type: 'errored', error });
  }

  /** Batch traffic shows in metrics and the usage log like any other request. */
  private record(exchange: RequestContext, status: number): void {
    const { trace } = exchange;
    this.gw.observer.request({
      requestId: exchange.requestId,
      surface: 'anthropic',
      status,
      stream: false,
      cache: 'bypass',
      queueMs: 0,
      attempts: 0,
      durationMs: Date.now() - trace.startedAt,
      ...trace,
    });
  }

  private async sendWebhooks(): Promise<void> {
    if (!this.opened) return;
    this.webhookRetryAt = Date.now() + WEBHOOK_RETRY_MS;
    for (const batch of await this.opened.webhooksDue()) {
      // Two batches ending together both find each other due: each webhook is sent by one caller.
      if (this.webhooksSending.has(batch.id)) continue;
      this.webhooksSending.add(batch.id);
      try {
        await postWebhook({
          url: batch.webhookUrl!,
          body: JSON.stringify(await this.object(batch)),
          secret: this.options.webhookSecret,
          userAgent: 'spillway-batches',
          timeoutMs: WEBHOOK_TIMEOUT_MS,
        });
        await this.opened.markWebhookSent(batch.id, Date.now());
      } catch (error) {
        this.options.log(`spillway: batch ${batch.id} webhook ${batch.webhookUrl} failed (${error instanceof Error ? error.message : String(error)}); retrying later`);
      } finally {
        this.webhooksSending.delete(batch.id);
      }
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const flight of this.inFlight.values()) flight.abort.abort();
    this.wake();
    await this.loopDone;
    // Aborted requests return quickly; do not hang a shutdown on one that does not.
    await Promise.race([Promise.allSettled([...this.inFlight.keys()]), new Promise((resolve) => setTimeout(resolve, 5000).unref())]);
    await this.opened?.close();
  }
}
