/**
 * The pivot's answers → Gemini's: a `chat.completion` → a GenerateContentResponse, a
 * `chat.completion.chunk` stream → GenerateContentResponse events (SSE with `alt=sse`, else one JSON
 * array sent a piece at a time), an OpenAI error → google.rpc.Status. Wire facts: §8.3–§8.5.
 */
import type { PivotAnswer, PivotChunk, PivotEvent } from '../../pivot/index.js';
import type { OpenAIFinishReason, OpenAIUsage } from '../../protocol/openai.js';
import { OPENAI_STREAM_DONE } from '../../protocol/openai.js';
import type { TokenUsage } from '../../protocol/usage.js';

type Json = Record<string, unknown>;

const FINISH: Record<OpenAIFinishReason, string> = {
  stop: 'STOP',
  tool_calls: 'STOP', // Gemini has no tool-call finish: a turn with functionCall parts ends in STOP
  function_call: 'STOP',
  length: 'MAX_TOKENS',
  content_filter: 'SAFETY',
};

export function geminiFinishReasonOf(reason: OpenAIFinishReason | null | undefined): string {
  return (reason && FINISH[reason]) ?? 'STOP';
}

export function usageMetadataOf(usage: OpenAIUsage | null | undefined): Json | undefined {
  if (!usage) return undefined;
  const thoughts = usage.completion_tokens_details?.reasoning_tokens ?? 0;
  const meta: Json = {
    promptTokenCount: usage.prompt_tokens,
    candidatesTokenCount: usage.completion_tokens - thoughts,
    totalTokenCount: usage.total_tokens,
  };
  if (thoughts > 0) meta.thoughtsTokenCount = thoughts;
  const cached = usage.prompt_tokens_details?.cached_tokens;
  if (cached) meta.cachedContentTokenCount = cached;
  return meta;
}

function parseArgs(text: string): unknown {
  try {
    const value: unknown = JSON.parse(text === '' ? '{}' : text);
    return value !== null && typeof value === 'object' && !Array.isArray(value) ? value : { value };
  } catch {
    return { arguments: text };
  }
}

function callPart(call: { id: string; name: string; arguments: string }): Json {
  return { functionCall: { id: call.id, name: call.name, args: parseArgs(call.arguments) } };
}

function response(parts: Json[], extra: Json, model: string, responseId: string): Json {
  return { candidates: [{ content: { role: 'model', parts }, index: 0, ...extra }], modelVersion: model, responseId };
}

/** A chat.completion as a GenerateContentResponse, under the model name the client asked for. */
export function pivotToGeminiAnswer(answer: PivotAnswer, model: string): Json {
  const choice = answer.choices[0];
  const message = choice?.message;
  const parts: Json[] = [];
  const reasoning = (message as { reasoning_content?: unknown } | undefined)?.reasoning_content;
  if (typeof reasoning === 'string' && reasoning.length > 0) parts.push({ text: reasoning, thought: true });
  if (typeof message?.content === 'string' && message.content.length > 0) parts.push({ text: message.content });
  for (const call of message?.tool_calls ?? []) parts.push(callPart({ id: call.id, name: call.function.name, arguments: call.function.arguments }));
  const out = response(parts, { finishReason: geminiFinishReasonOf(choice?.finish_reason) }, model, answer.id);
  const usage = usageMetadataOf(answer.usage);
  if (usage) out.usageMetadata = usage;
  return out;
}

export type GeminiStreamMode = 'sse' | 'array';

/** HTTP status → google.rpc.Code name. */
const STATUS_NAME: Record<number, string> = {
  400: 'INVALID_ARGUMENT',
  401: 'UNAUTHENTICATED',
  403: 'PERMISSION_DENIED',
  404: 'NOT_FOUND',
  409: 'ABORTED',
  413: 'INVALID_ARGUMENT',
  429: 'RESOURCE_EXHAUSTED',
  499: 'CANCELLED',
  500: 'INTERNAL',
  501: 'NOT_IMPLEMENTED',
  502: 'UNAVAILABLE',
  503: 'UNAVAILABLE',
  504: 'DEADLINE_EXCEEDED',
};

/** Google's error body; a 429 with a known wait carries it as RetryInfo, as Gemini's own do. */
export function googleError(status: number, message: string, retryAfterMs?: number): { error: Json } {
  const error: Json = { code: status, message, status: STATUS_NAME[status] ?? (status >= 500 ? 'INTERNAL' : 'FAILED_PRECONDITION') };
  if (retryAfterMs !== undefined && (status === 429 || status === 503)) {
    error.details = [{ '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay: `${Math.max(1, Math.ceil(retryAfterMs / 1000))}s` }];
  }
  return { error };
}

/** An OpenAI error body (the pivot's) in Google's shape. */
export function pivotErrorToGemini(status: number, openAIBody: string, retryAfterMs?: number): string {
  let message = openAIBody.slice(0, 500);
  try {
    const parsed = JSON.parse(openAIBody) as { error?: { message?: unknown } };
    if (typeof parsed.error?.message === 'string') message = parsed.error.message;
  } catch {
    /* not JSON: its text is the message */
  }
  return JSON.stringify(googleError(status, message, retryAfterMs));
}

/**
 * Pivot stream events → Gemini stream text. Text goes out as it comes; function calls, streamed by
 * the pivot as argument fragments, go out whole (as Gemini sends them) with the finishing event,
 * which also carries the usage, read from the pivot's usage chunk.
 */
export class PivotToGeminiStream {
  private started = false;
  private ended = false;
  private finish: OpenAIFinishReason | null = null;
  private usage: OpenAIUsage | undefined;
  private responseId = '';
  private readonly calls: Array<{ id: string; name: string; arguments: string }> = [];

  constructor(private readonly options: { model: string; mode: GeminiStreamMode }) {}

  push(event: PivotEvent): string {
    if (this.ended) return '';
    if (event.data === OPENAI_STREAM_DONE) return this.close();
    let chunk: PivotChunk & { error?: { message?: string } };
    try {
      chunk = JSON.parse(event.data) as PivotChunk & { error?: { message?: string } };
    } catch {
      return '';
    }
    if (chunk.error) {
      this.ended = true;
      return this.frame(googleError(500, chunk.error.message ?? 'the upstream stream failed')) + (this.options.mode === 'array' ? ']' : '');
    }
    if (chunk.id) this.responseId = chunk.id;
    if (chunk.usage) this.usage = chunk.usage;
    let out = '';
    for (const choice of chunk.choices ?? []) {
      const delta = choice.delta ?? {};
      const reasoning = (delta as { reasoning_content?: unknown }).reasoning_content;
      const parts: Json[] = [];
      if (typeof reasoning === 'string' && reasoning.length > 0) parts.push({ text: reasoning, thought: true });
      if (typeof delta.content === 'string' && delta.content.length > 0) parts.push({ text: delta.content });
      if (parts.length > 0) out += this.frame(response(parts, {}, this.options.model, this.responseId));
      for (const fragment of delta.tool_calls ?? []) {
        const call = (this.calls[fragment.index] ??= { id: '', name: '', arguments: '' });
        if (fragment.id) call.id = fragment.id;
        if (fragment.function?.name) call.name += fragment.function.name;
        if (fragment.function?.arguments) call.arguments += fragment.function.arguments;
      }
      if (choice.finish_reason) this.finish = choice.finish_reason;
    }
    return out;
  }

  /** The upstream stream ended: the finishing event if the pivot's [DONE] did not already send it. */
  end(): string {
    return this.ended ? '' : this.close();
  }

  tokenUsage(): TokenUsage | undefined {
    return this.usage ? { inputTokens: this.usage.prompt_tokens, outputTokens: this.usage.completion_tokens } : undefined;
  }

  private close(): string {
    this.ended = true;
    const parts = this.calls.filter(Boolean).map(callPart);
    const last = response(parts, { finishReason: geminiFinishReasonOf(this.finish) }, this.options.model, this.responseId);
    const usage = usageMetadataOf(this.usage);
    if (usage) last.usageMetadata = usage;
    return this.frame(last) + (this.options.mode === 'array' ? ']' : '');
  }

  private frame(value: unknown): string {
    const json = JSON.stringify(value);
    if (this.options.mode === 'sse') return `data: ${json}\r\n\r\n`;
    const prefix = this.started ? ',\r\n' : '[';
    this.started = true;
    return prefix + json;
  }
}
