/**
 * The simulated model facing a merged call: a forced function (or JSON schema) asking for a list
 * of `{ id, answer }` to numbered prompts given as a JSON list in the last user message. Like a
 * model that follows the structure, the deterministic mode answers each prompt exactly as it
 * would answer that prompt alone (the same conversation with that prompt as the last message).
 * `SimOptions.mergeAnswers` makes it break the structure instead, so the fallback can be tested.
 */
import { composeAnswer, type Answer } from './answer.js';
import type { PromptFacts } from './prompt.js';

type Json = Record<string, unknown>;

/** How the simulated model treats a merged call. */
export type MergeBehaviour = 'follow' | 'drop' | 'garble';

export interface MergedItem {
  id: string;
  answer: Answer;
}

export interface MergedCall {
  items: MergedItem[];
  /** One item alone would stop at its cap: a real model runs out of room too. */
  cutShort: boolean;
}

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** A schema asking for `{ answers: [...] }`. */
export function asksForAnswerList(schema: unknown): boolean {
  if (!isObject(schema) || !isObject(schema['properties'])) return false;
  const answers = schema['properties']['answers'];
  // Gemini's schema dialect spells types in capitals.
  return isObject(answers) && typeof answers['type'] === 'string' && answers['type'].toLowerCase() === 'array';
}

function lastUserIndex(messages: unknown[]): number {
  for (let i = messages.length - 1; i >= 0; i--) {
    const m = messages[i];
    if (isObject(m) && m['role'] === 'user') return i;
  }
  return -1;
}

function textOf(content: unknown): string | undefined {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return undefined;
  const texts = content.filter((b): b is Json => isObject(b) && typeof b['text'] === 'string').map((b) => b['text'] as string);
  return texts.length > 0 ? texts.join('') : undefined;
}

/** The numbered prompts: the JSON list after the "Prompts (JSON):" line. */
function promptsIn(text: string): Array<{ id: string; prompt: string }> | undefined {
  const at = text.indexOf('Prompts (JSON):');
  if (at < 0) return undefined;
  let list: unknown;
  try {
    list = JSON.parse(text.slice(at + 'Prompts (JSON):'.length));
  } catch {
    return undefined;
  }
  if (!Array.isArray(list) || list.length === 0) return undefined;
  if (!list.every((e) => isObject(e) && typeof e['id'] === 'string' && typeof e['prompt'] === 'string')) return undefined;
  return list as Array<{ id: string; prompt: string }>;
}

export interface MergedRequestView {
  /** The body's messages array (Anthropic or OpenAI shape). */
  messages: unknown[];
  /** The body with the answer-list request taken out (tools, tool_choice, response_format). */
  plain: Json;
  /** Facts of a body, as the surface measures them alone. */
  factsOf(body: Json): PromptFacts;
  /** The merged call's own cap. */
  maxTokens: number;
  fixedLength: number | undefined;
}

/**
 * The answers to a merged call, or undefined when the last user message lists no prompts (then it
 * is answered like any other forced call).
 */
export function answerMerged(view: MergedRequestView): MergedCall | undefined {
  const index = lastUserIndex(view.messages);
  if (index < 0) return undefined;
  const text = textOf((view.messages[index] as Json)['content']);
  const prompts = text === undefined ? undefined : promptsIn(text);
  if (!prompts) return undefined;
  // The per-answer cap is stated in the instructions, before the list (never read from a prompt).
  const instructions = text!.slice(0, text!.indexOf('Prompts (JSON):'));
  const cap = Number(/at most (\d+) tokens/.exec(instructions)?.[1] ?? view.maxTokens);
  const items = prompts.map(({ id, prompt }) => {
    const messages = [...view.messages];
    messages[index] = { ...(messages[index] as Json), content: prompt };
    const facts = view.factsOf({ ...view.plain, messages });
    return { id, answer: composeAnswer({ hash: facts.hash, maxTokens: cap, fixedLength: view.fixedLength }) };
  });
  return { items, cutShort: items.some((item) => item.answer.stop === 'max_tokens') };
}

/** The function's arguments as the model writes them, followed or broken as asked. */
export function mergedArguments(call: MergedCall, behaviour: MergeBehaviour): { input: Json; json: string } {
  let entries = call.items.map((item) => ({ id: item.id, answer: item.answer.words.join(' ') }));
  if (behaviour === 'drop') entries = entries.slice(0, -1);
  const input = { answers: entries };
  const json = JSON.stringify(input);
  // Broken: the list written as text and cut off mid-way (invalid JSON where the protocol allows it).
  if (behaviour === 'garble') return { input: { answers_text: json.slice(0, Math.floor(json.length / 2)) }, json: json.slice(0, Math.floor(json.length / 2)) };
  return { input, json };
}

/** The whole answer: one function call (its tokens counted like any call's), cut short when an item would be. */
export function mergedAnswer(call: MergedCall, name: string, behaviour: MergeBehaviour, maxTokens: number): Answer {
  const { input, json } = mergedArguments(call, behaviour);
  const tokens = Math.max(1, Math.ceil((name.length + json.length) / 4));
  if (call.cutShort || tokens > maxTokens) {
    return { words: [], tool: { name, input, json, tokens: Math.min(tokens, maxTokens) }, outputTokens: Math.min(tokens, maxTokens), stop: 'max_tokens' };
  }
  return { words: [], tool: { name, input, json, tokens }, outputTokens: tokens, stop: 'tool' };
}
