/**
 * Sends one merged call for a group of requests (policy.ts chose them) along the ordinary request
 * path, and reads the answer back into one answer per member in the member's own surface. The
 * merged call is an OpenAI-shaped (pivot) request, so the provider codecs carry it to any
 * provider. Any doubt is a failure the caller answers by sending each member on its own.
 */
import type { PivotAnswer, PivotRequest } from '../pivot/index.js';
import { bodyOf } from '../pipeline/answer.js';
import { serveChat } from '../pipeline/chat.js';
import type { Engine } from '../pipeline/engine.js';
import { GatewayError } from '../pipeline/errors.js';
import type { ChatRequest } from '../pipeline/ingress.js';
import type { RequestContext } from '../pipeline/request-context.js';
import type { Priority } from '../quota/queue.js';
import { rawInputTokens } from '../quota/estimate.js';
import { findRouteName } from '../routing/plan.js';
import { surfaceCodec } from '../surfaces/registry.js';
import type { MergePolicy } from './policy.js';
import { buildMergedRequest } from './prompt.js';
import { splitAnswer, type MergeFailure } from './split.js';

export interface MergeMember {
  chat: ChatRequest;
  pivot: PivotRequest;
}

export interface MemberAnswer {
  /** The member's answer body in its own surface's shape. */
  body: unknown;
  inputTokens: number;
  outputTokens: number;
}

export type MergedOutcome = { ok: true; answers: MemberAnswer[] } | { ok: false; reason: MergeFailure | 'aborted' };

/** The route's merge policy for a model, when its route merges. */
export function mergePolicyFor(gw: Engine, model: string): (MergePolicy & { windowMs: number }) | undefined {
  const name = findRouteName(gw.config.routes, model);
  const merge = name === undefined ? undefined : gw.config.routes[name]?.merge;
  return merge && { max: merge.max, maxInputTokens: merge.max_input_tokens, windowMs: merge.window };
}

/** The request in the pivot's shape, or undefined when its surface cannot say it there. */
export function pivotOf(chat: ChatRequest): PivotRequest | undefined {
  try {
    const { request, dropped } = surfaceCodec(chat.surface).toPivot(chat.body, { model: chat.model });
    // Anything the pivot could not carry would be lost for this member: it goes alone.
    return dropped.length === 0 ? request : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The merged call on `exchange` (an OpenAI-surface context for the group). Never throws for what
 * the provider or the queue said: those are failures that send the members alone.
 */
export async function serveMerged(gw: Engine, exchange: RequestContext, members: MergeMember[], priority: Priority, maxWaitMs: number): Promise<MergedOutcome> {
  const model = members[0]!.chat.model;
  const merged = { ...buildMergedRequest(members.map((m) => m.pivot)), model } as PivotRequest;
  const body = merged as unknown as Record<string, unknown>;
  const raw = Buffer.from(JSON.stringify(body));
  const maxTokens = typeof body['max_completion_tokens'] === 'number' ? body['max_completion_tokens'] : undefined;
  const chat: ChatRequest = { surface: 'openai', model, stream: false, maxTokens, body, raw };
  let answer;
  try {
    answer = await serveChat(gw, exchange, chat, priority, maxWaitMs);
  } catch (error) {
    if (error instanceof GatewayError) return { ok: false, reason: 'upstream' };
    throw error;
  }
  if (!answer) return { ok: false, reason: 'aborted' };
  const text = (await bodyOf(answer)).toString('utf8');
  if (answer.status !== 200) return { ok: false, reason: 'upstream' };
  let parsed: PivotAnswer;
  try {
    parsed = JSON.parse(text) as PivotAnswer;
  } catch {
    return { ok: false, reason: 'upstream' };
  }
  const split = splitAnswer(parsed, members.map((m) => ({ promptWeight: rawInputTokens(m.chat.body), maxTokens: m.chat.maxTokens })));
  if (!split.ok) return split;
  const now = Date.now();
  return {
    ok: true,
    answers: split.answers.map((one, i) => ({
      body: surfaceCodec(members[i]!.chat.surface).fromPivot(one, { requestedModel: members[i]!.chat.model, now }),
      inputTokens: one.usage!.prompt_tokens,
      outputTokens: one.usage!.completion_tokens,
    })),
  };
}
