/**
 * The merged call, in the pivot's shape so every provider codec can carry it: the members' shared
 * conversation unchanged (system prompt and earlier turns), then one user message that lists the
 * members' last messages as numbered prompts and asks for the answers through a forced function
 * call whose arguments are `{ answers: [{ id, answer }] }`. A forced function call is what all the
 * providers spillway speaks can be made to return (Anthropic tool_choice tool, OpenAI tool_choice
 * function, Gemini functionCallingConfig ANY), so one shape serves them all.
 */
import type { PivotRequest } from '../pivot/index.js';
import { lastUserText } from './policy.js';

/** The forced function's name. */
export const MERGE_TOOL = 'answers';

/** Marks where the prompt list starts in the merged user message. */
export const PROMPTS_MARKER = 'Prompts (JSON):';

/** Output tokens allowed per item on top of its own cap, for the JSON around the answer. */
const ITEM_OVERHEAD_TOKENS = 24;
const CALL_OVERHEAD_TOKENS = 32;

/** The id of the i-th member in the merged prompt. */
export function itemId(index: number): string {
  return `p${index + 1}`;
}

/** The members' shared output cap (they are grouped on equal parameters, so it is the first's). */
export function itemCap(request: PivotRequest): number | undefined {
  const body = request as unknown as Record<string, unknown>;
  const cap = body['max_completion_tokens'] ?? body['max_tokens'];
  return typeof cap === 'number' ? cap : undefined;
}

export function mergeTool(): Record<string, unknown> {
  return {
    type: 'function',
    function: {
      name: MERGE_TOOL,
      description: 'Return the answers to the numbered prompts, one entry per prompt, in the order given.',
      parameters: {
        type: 'object',
        properties: {
          answers: {
            type: 'array',
            items: {
              type: 'object',
              properties: {
                id: { type: 'string', description: 'The id of the prompt answered' },
                answer: { type: 'string', description: 'The complete answer to that prompt alone' },
              },
              required: ['id', 'answer'],
              additionalProperties: false,
            },
          },
        },
        required: ['answers'],
        additionalProperties: false,
      },
    },
  };
}

/** The merged user message: how to answer, then the prompts as a JSON list (unambiguous to read back). */
export function mergedInstruction(prompts: string[], cap: number | undefined): string {
  const limit = cap === undefined ? '' : ` Each answer may use at most ${cap} tokens.`;
  const list = JSON.stringify(prompts.map((prompt, i) => ({ id: itemId(i), prompt })));
  return (
    `Answer each of the ${prompts.length} independent prompts below on its own, exactly as you would answer it if it were ` +
    `the only user message (everything above applies to each).${limit} Reply by calling ${MERGE_TOOL} with one entry per ` +
    `prompt: its id and your complete answer, in the order given.\n\n${PROMPTS_MARKER}\n${list}`
  );
}

/**
 * One pivot request for a group whose members differ only in their last user message (policy.ts
 * groupKey): the first member's request with that message replaced and the function forced.
 */
export function buildMergedRequest(members: PivotRequest[]): PivotRequest {
  const first = members[0]!;
  const prompts = members.map((m) => lastUserText(m) ?? '');
  const cap = itemCap(first);
  const merged: Record<string, unknown> = {
    ...(first as unknown as Record<string, unknown>),
    messages: [...first.messages.slice(0, -1), { role: 'user', content: mergedInstruction(prompts, cap) }],
    tools: [mergeTool()],
    tool_choice: { type: 'function', function: { name: MERGE_TOOL } },
    stream: false,
  };
  delete merged['max_tokens'];
  delete merged['stream_options'];
  if (cap !== undefined) merged['max_completion_tokens'] = members.length * (cap + ITEM_OVERHEAD_TOKENS) + CALL_OVERHEAD_TOKENS;
  return merged as unknown as PivotRequest;
}
