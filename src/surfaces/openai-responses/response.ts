/**
 * A pivot answer (a chat.completion) → a Responses `response` object: reasoning (from the pivot's
 * `reasoning_content`), then the message, then one `function_call` item per tool call, usage in
 * Responses' names, and `incomplete_details` when the answer stopped at its length limit.
 */
import { randomBytes } from 'node:crypto';
import type { OpenAIFinishReason, OpenAIUsage } from '../../protocol/openai.js';
import type { PivotAnswer } from '../../pivot/index.js';
import type { FunctionCallItem, MessageItem, OutputItem, ReasoningItem, ResponseObject, ResponsesRequest, ResponsesUsage, ResponseStatus } from './wire.js';

/** What a response says about the request that asked for it (the SDKs and Codex read some of it back). */
export function echoOf(body: ResponsesRequest): Record<string, unknown> {
  return {
    instructions: body.instructions ?? null,
    max_output_tokens: body.max_output_tokens ?? null,
    metadata: body.metadata ?? {},
    parallel_tool_calls: body.parallel_tool_calls ?? true,
    previous_response_id: body.previous_response_id ?? null,
    reasoning: body.reasoning ?? { effort: null, summary: null },
    store: body.store ?? true,
    temperature: body.temperature ?? 1,
    text: body.text ?? { format: { type: 'text' } },
    tool_choice: body.tool_choice ?? 'auto',
    tools: body.tools ?? [],
    top_p: body.top_p ?? 1,
    truncation: 'disabled',
    user: body.user ?? null,
  };
}

/**
 * Ids of one response and its items, derived from the upstream's id so a log line can be matched.
 * The response's own id is unique besides: an answer from the cache is a response of its own, kept
 * apart for `previous_response_id`.
 */
export class ResponseIds {
  readonly response: string;
  private readonly stem: string;
  constructor(upstreamId: string | undefined) {
    this.stem = (upstreamId ?? crypto.randomUUID()).replace(/^(chatcmpl-|msg_|resp_)/, '').replace(/[^a-zA-Z0-9_-]/g, '');
    this.response = `resp_${this.stem}_${randomBytes(4).toString('hex')}`;
  }

  item(prefix: 'msg' | 'fc' | 'rs', index: number): string {
    return `${prefix}_${this.stem}_${index}`;
  }
}

export function usageOf(usage: OpenAIUsage | null | undefined): ResponsesUsage | null {
  if (!usage) return null;
  return {
    input_tokens: usage.prompt_tokens,
    input_tokens_details: { cached_tokens: usage.prompt_tokens_details?.cached_tokens ?? 0 },
    output_tokens: usage.completion_tokens,
    output_tokens_details: { reasoning_tokens: usage.completion_tokens_details?.reasoning_tokens ?? 0 },
    total_tokens: usage.total_tokens ?? usage.prompt_tokens + usage.completion_tokens,
  };
}

/** How the answer ended, in Responses' terms. */
export function endingOf(finish: OpenAIFinishReason | null | undefined): Pick<ResponseObject, 'status' | 'incomplete_details'> {
  if (finish === 'length') return { status: 'incomplete', incomplete_details: { reason: 'max_output_tokens' } };
  if (finish === 'content_filter') return { status: 'incomplete', incomplete_details: { reason: 'content_filter' } };
  return { status: 'completed', incomplete_details: null };
}

export interface ResponseOptions {
  /** The model name the client asked for. */
  model: string;
  request: ResponsesRequest;
}

/** The response object around its output items. */
export function responseObject(
  ids: ResponseIds,
  createdAt: number,
  options: ResponseOptions,
  state: { status: ResponseStatus; output: OutputItem[]; usage: ResponsesUsage | null; incomplete_details?: ResponseObject['incomplete_details']; error?: ResponseObject['error'] },
): ResponseObject {
  return {
    id: ids.response,
    object: 'response',
    created_at: createdAt,
    status: state.status,
    error: state.error ?? null,
    incomplete_details: state.incomplete_details ?? null,
    model: options.model,
    output: state.output,
    usage: state.usage,
    ...echoOf(options.request),
  };
}

export function pivotToResponse(answer: PivotAnswer, options: ResponseOptions): ResponseObject {
  const ids = new ResponseIds(answer.id);
  const choice = answer.choices[0];
  const message = choice?.message as (NonNullable<typeof choice>['message'] & { reasoning_content?: string | null }) | undefined;
  const ending = endingOf(choice?.finish_reason);
  const itemStatus = ending.status === 'incomplete' ? 'incomplete' : 'completed';
  const output: OutputItem[] = [];
  if (message?.reasoning_content) {
    const reasoning: ReasoningItem = { type: 'reasoning', id: ids.item('rs', output.length), summary: [{ type: 'summary_text', text: message.reasoning_content }] };
    output.push(reasoning);
  }
  const text = message?.content ?? message?.refusal ?? '';
  const calls = message?.tool_calls ?? [];
  if (text !== '' || calls.length === 0) {
    const item: MessageItem = {
      type: 'message',
      id: ids.item('msg', output.length),
      role: 'assistant',
      status: itemStatus,
      content: [{ type: 'output_text', text, annotations: [] }],
    };
    output.push(item);
  }
  for (const call of calls) {
    const item: FunctionCallItem = {
      type: 'function_call',
      id: ids.item('fc', output.length),
      call_id: call.id,
      name: call.function.name,
      arguments: call.function.arguments,
      status: 'completed',
    };
    output.push(item);
  }
  return responseObject(ids, answer.created, options, { ...ending, output, usage: usageOf(answer.usage) });
}
