/**
 * Merging on the interactive path: a batch-priority chat request on a route with `merge:` waits a
 * short window (route `merge.window`, never past half of its own deadline) for others it may share
 * a call with (policy.ts). A full group goes at once; at the window's end a group of one goes its
 * ordinary way. A merged call whose answer cannot be split sends every member its ordinary way.
 */
import { answerHeaders } from '../pipeline/answer-headers.js';
import { jsonAnswer, type Answer } from '../pipeline/answer.js';
import type { Engine } from '../pipeline/engine.js';
import type { ChatRequest } from '../pipeline/ingress.js';
import type { RequestContext } from '../pipeline/request-context.js';
import type { Priority } from '../quota/queue.js';
import { groupKey, ineligibility, partnerWaitMs } from './policy.js';
import { mergePolicyFor, pivotOf, serveMerged, type MergeMember } from './serve.js';

interface Waiting extends MergeMember {
  exchange: RequestContext;
  deadline: number;
  settle(answer: Answer | undefined): void;
}

interface OpenGroup {
  members: Waiting[];
  max: number;
  /** When the group leaves at the latest: the earliest of its members' partner waits. */
  flushAt: number;
  timer: NodeJS.Timeout;
}

let mergedCallCounter = 0;

export class MergeWindow {
  private readonly open = new Map<string, OpenGroup>();

  constructor(private readonly gw: Engine) {}

  /**
   * The request's answer from a merged call, or undefined when it goes its ordinary way (not
   * eligible, no partner within the window, or a merged answer that could not be split).
   */
  offer(exchange: RequestContext, chat: ChatRequest, maxWaitMs: number): Promise<Answer | undefined> {
    const policy = chat.stream ? undefined : mergePolicyFor(this.gw, chat.model);
    const pivot = policy && pivotOf(chat);
    if (!policy || !pivot || ineligibility(pivot, policy) !== undefined) return Promise.resolve(undefined);
    const waitMs = partnerWaitMs(policy.windowMs, maxWaitMs);
    if (waitMs <= 0) return Promise.resolve(undefined);
    // Never across tenants (or clients): one caller's answer is shaped by the others' prompts only in the model's eyes.
    const key = `${exchange.tenant?.name ?? exchange.owner}\u0000${groupKey(pivot)}`;
    return new Promise<Answer | undefined>((settle) => {
      const member: Waiting = { chat, pivot, exchange, deadline: Date.now() + maxWaitMs, settle };
      const flushAt = Date.now() + waitMs;
      let group = this.open.get(key);
      if (!group) {
        group = { members: [], max: policy.max, flushAt, timer: setTimeout(() => this.flush(key), waitMs) };
        this.open.set(key, group);
      } else if (flushAt < group.flushAt) {
        // A member with less time to spare brings the whole group's departure forward.
        clearTimeout(group.timer);
        group.flushAt = flushAt;
        group.timer = setTimeout(() => this.flush(key), waitMs);
      }
      group.members.push(member);
      if (group.members.length >= group.max) this.flush(key);
    });
  }

  private flush(key: string): void {
    const group = this.open.get(key);
    if (!group) return;
    this.open.delete(key);
    clearTimeout(group.timer);
    const members = group.members.filter((m) => !m.exchange.signal.aborted);
    for (const gone of group.members) if (gone.exchange.signal.aborted) gone.settle(undefined);
    if (members.length < 2) {
      for (const m of members) m.settle(undefined);
      return;
    }
    void this.send(members).catch((error: unknown) => {
      this.gw.log(`spillway: merged call failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
      for (const m of members) m.settle(undefined);
    });
  }

  private async send(members: Waiting[]): Promise<void> {
    const first = members[0]!.exchange;
    // The call goes on while any member still wants its answer.
    const abort = new AbortController();
    let left = members.length;
    for (const m of members) m.exchange.signal.addEventListener('abort', () => --left === 0 && abort.abort(), { once: true });
    const exchange: RequestContext = {
      req: { headers: { 'content-type': 'application/json' }, url: '/v1/chat/completions' },
      requestId: `${first.requestId}_merged${(mergedCallCounter++).toString(36)}`,
      surface: 'openai',
      owner: first.owner,
      ...(first.tenant ? { tenant: first.tenant } : {}),
      signal: abort.signal,
      spillwayHeaders: answerHeaders(),
      trace: { startedAt: Date.now() },
    };
    const maxWaitMs = Math.max(0, Math.min(...members.map((m) => m.deadline)) - Date.now());
    const outcome = await serveMerged(this.gw, exchange, members, 'batch', maxWaitMs);
    if (!outcome.ok) {
      if (outcome.reason !== 'aborted') this.gw.observer.merged?.({ failure: outcome.reason });
      for (const m of members) m.settle(undefined);
      return;
    }
    this.gw.observer.merged?.({ saved: members.length - 1 });
    const { trace, spillwayHeaders } = exchange;
    for (const [i, m] of members.entries()) {
      const answer = outcome.answers[i]!;
      Object.assign(m.exchange.spillwayHeaders, spillwayHeaders, { 'x-spillway-merged': String(members.length) });
      Object.assign(m.exchange.trace, {
        requestedModel: m.chat.model,
        stream: false,
        provider: trace.provider,
        model: trace.model,
        keyId: trace.keyId,
        queueMs: trace.queueMs,
        attempts: trace.attempts,
        inputTokens: answer.inputTokens,
        outputTokens: answer.outputTokens,
      });
      m.settle(jsonAnswer(200, JSON.stringify(answer.body), {}, { inputTokens: answer.inputTokens, outputTokens: answer.outputTokens }));
    }
  }
}

const windows = new WeakMap<Engine, MergeWindow>();

/** The engine's merge window (one per engine, made on first use). */
export function mergeWindowOf(gw: Engine): MergeWindow {
  let window = windows.get(gw);
  if (!window) windows.set(gw, (window = new MergeWindow(gw)));
  return window;
}

/**
 * A chat request's answer: merged with others when it is at batch priority and its route merges,
 * else (or when the merged call could not answer it with certainty) by `serve`, given what is
 * left of its wait.
 */
export async function serveMergeable(
  gw: Engine,
  exchange: RequestContext,
  chat: ChatRequest,
  priority: Priority,
  maxWaitMs: number,
  serve: (maxWaitMs: number) => Promise<Answer | undefined>,
): Promise<Answer | undefined> {
  if (priority !== 'batch') return serve(maxWaitMs);
  const startedAt = Date.now();
  const merged = await mergeWindowOf(gw).offer(exchange, chat, maxWaitMs);
  if (merged) return merged;
  if (exchange.signal.aborted) return undefined;
  return serve(Math.max(0, maxWaitMs - (Date.now() - startedAt)));
}
