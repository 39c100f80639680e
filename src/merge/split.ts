/**
 * Reading a merged call's answer back into one answer per member, or saying why it cannot be done
 * with certainty (then every member is sent on its own: merging may save calls, never change an
 * answer). Usage is shared out so the members' parts sum to exactly what the provider counted:
 * input by each member's prompt size, output by the length of its answer.
 */
import type { PivotAnswer } from '../pivot/index.js';
import { apportion } from './policy.js';
import { itemId, MERGE_TOOL } from './prompt.js';

export type MergeFailure =
  | 'refusal'
  | 'max_tokens'
  | 'no_call'
  | 'invalid_json'
  | 'bad_shape'
  | 'missing_items'
  | 'extra_items'
  | 'ids_mismatch'
  | 'no_usage'
  | 'upstream';

export interface SplitMember {
  /** The member's prompt size (any unit, e.g. estimated tokens): its share of the input. */
  promptWeight: number;
  /** Its own output cap: an answer whose share reaches it might have been cut off alone. */
  maxTokens: number | undefined;
}

export type SplitResult = { ok: true; answers: PivotAnswer[] } | { ok: false; reason: MergeFailure };

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The answers' texts in member order, or why they cannot be trusted. */
export function readItems(answer: PivotAnswer, count: number): { ok: true; texts: string[] } | { ok: false; reason: MergeFailure } {
  const choice = answer.choices?.[0];
  if (!choice) return { ok: false, reason: 'no_call' };
  const { message, finish_reason: finish } = choice;
  if (finish === 'content_filter' || (typeof message.refusal === 'string' && message.refusal !== '')) return { ok: false, reason: 'refusal' };
  if (finish === 'length') return { ok: false, reason: 'max_tokens' };
  const calls = message.tool_calls ?? [];
  if (calls.length !== 1 || calls[0]!.function.name !== MERGE_TOOL) return { ok: false, reason: 'no_call' };
  let args: unknown;
  try {
    args = JSON.parse(calls[0]!.function.arguments);
  } catch {
    return { ok: false, reason: 'invalid_json' };
  }
  const list = isObject(args) ? args['answers'] : undefined;
  if (!Array.isArray(list) || !list.every((e) => isObject(e) && typeof e['id'] === 'string' && typeof e['answer'] === 'string')) {
    return { ok: false, reason: 'bad_shape' };
  }
  if (list.length < count) return { ok: false, reason: 'missing_items' };
  if (list.length > count) return { ok: false, reason: 'extra_items' };
  const byId = new Map<string, string>();
  for (const entry of list as Array<{ id: string; answer: string }>) byId.set(entry.id, entry.answer);
  const texts: string[] = [];
  for (let i = 0; i < count; i++) {
    const text = byId.get(itemId(i));
    if (text === undefined) return { ok: false, reason: 'ids_mismatch' };
    texts.push(text);
  }
  return { ok: true, texts };
}

/** One member's answer as a whole pivot answer of its own. */
function memberAnswer(merged: PivotAnswer, index: number, text: string, input: number, output: number): PivotAnswer {
  return {
    id: `${merged.id}-${index + 1}`,
    object: 'chat.completion',
    created: merged.created,
    model: merged.model,
    choices: [{ index: 0, message: { role: 'assistant', content: text, refusal: null }, logprobs: null, finish_reason: 'stop' }],
    usage: { prompt_tokens: input, completion_tokens: output, total_tokens: input + output },
  };
}

export function splitAnswer(answer: PivotAnswer, members: SplitMember[]): SplitResult {
  const items = readItems(answer, members.length);
  if (!items.ok) return items;
  const usage = answer.usage;
  if (!usage || typeof usage.prompt_tokens !== 'number' || typeof usage.completion_tokens !== 'number') return { ok: false, reason: 'no_usage' };
  const inputs = apportion(usage.prompt_tokens, members.map((m) => m.promptWeight));
  const outputs = apportion(usage.completion_tokens, items.texts.map((t) => t.length));
  // An answer that used its whole allowance might have been cut short had it been asked alone.
  if (members.some((m, i) => m.maxTokens !== undefined && outputs[i]! >= m.maxTokens)) return { ok: false, reason: 'max_tokens' };
  return { ok: true, answers: items.texts.map((text, i) => memberAnswer(answer, i, text, inputs[i]!, outputs[i]!)) };
}
