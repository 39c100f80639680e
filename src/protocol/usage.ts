/**
 * What an answer really cost, read from the provider's own usage report, so the reservation made
 * before dispatch can be settled. Input counts what rate limits count: uncached input plus cache
 * writes (Anthropic does not count cache reads toward ITPM).
 */
import type { Protocol } from './surface.js';
import type { SseEvent } from './sse.js';

export interface TokenUsage {
  inputTokens: number;
  outputTokens: number;
  /** Why the answer ended, in the provider's own words (one per choice), when it said. */
  finishReasons?: string[];
}

type Json = Record<string, unknown>;
const num = (value: unknown): number => (typeof value === 'number' && Number.isFinite(value) ? value : 0);
const obj = (value: unknown): Json | undefined =>
  value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Json) : undefined;

function anthropicInput(usage: Json): number {
  return num(usage.input_tokens) + num(usage.cache_creation_input_tokens);
}

/** OpenAI's usage, in chat completions' names or the Responses API's (an answer from a provider's native /responses). */
function openaiUsage(usage: Json): TokenUsage {
  return { inputTokens: num(usage.prompt_tokens ?? usage.input_tokens), outputTokens: num(usage.completion_tokens ?? usage.output_tokens) };
}

/** Gemini's usageMetadata: output counts the thoughts too (they are billed and limited as output). */
function geminiUsage(meta: Json): TokenUsage {
  return { inputTokens: num(meta.promptTokenCount), outputTokens: num(meta.candidatesTokenCount) + num(meta.thoughtsTokenCount) };
}

/** Usage of a complete (non-streaming) answer body, or undefined when it reports none. */
export function usageOfBody(protocol: Protocol, body: unknown): TokenUsage | undefined {
  const root = obj(body);
  if (!root) return undefined;
  const finish = withFinish(finishReasonsOfBody(protocol, root));
  if (protocol === 'ollama') {
    return 'eval_count' in root ? { inputTokens: num(root.prompt_eval_count), outputTokens: num(root.eval_count), ...finish } : undefined;
  }
  if (protocol === 'gemini') {
    const meta = obj(root.usageMetadata);
    return meta && { ...geminiUsage(meta), ...finish };
  }
  const usage = obj(root.usage);
  if (!usage) return undefined;
  return protocol === 'anthropic'
    ? { inputTokens: anthropicInput(usage), outputTokens: num(usage.output_tokens), ...finish }
    : { ...openaiUsage(usage), ...finish };
}

/** An answer's stop reasons as the provider words them: Anthropic's stop_reason, each chat choice's finish_reason, a Responses status, Ollama's done_reason. */
function finishReasonsOfBody(protocol: Protocol, root: Json): string[] {
  if (protocol === 'anthropic') return typeof root.stop_reason === 'string' ? [root.stop_reason] : [];
  if (protocol === 'ollama') return typeof root.done_reason === 'string' ? [root.done_reason] : [];
  if (protocol === 'gemini') return geminiFinishReasons(root);
  if (Array.isArray(root.choices)) return root.choices.flatMap((choice) => stringAt(obj(choice)?.finish_reason));
  return root.object === 'response' ? stringAt(root.status) : [];
}

const geminiFinishReasons = (root: Json): string[] => (Array.isArray(root.candidates) ? root.candidates.flatMap((candidate) => stringAt(obj(candidate)?.finishReason)) : []);
const stringAt = (value: unknown): string[] => (typeof value === 'string' ? [value] : []);
const withFinish = (reasons: string[]): Pick<TokenUsage, 'finishReasons'> => (reasons.length > 0 ? { finishReasons: reasons } : {});

/**
 * Follows a stream's events and keeps the latest usage. Anthropic reports input at message_start
 * and cumulative output in message_delta; OpenAI only in a final chunk when asked, so without it
 * the output is estimated from the text seen (about four characters a token).
 */
export class StreamUsage {
  private input = 0;
  private output = 0;
  private reported = false;
  private textChars = 0;
  private finish: string[] = [];

  constructor(private readonly protocol: Protocol) {}

  push(event: SseEvent): void {
    if (event.data === '[DONE]' || event.data === '') return;
    let payload: Json | undefined;
    try {
      payload = obj(JSON.parse(event.data));
    } catch {
      return;
    }
    if (!payload) return;
    if (this.protocol === 'anthropic') this.anthropicEvent(payload);
    else if (this.protocol === 'gemini') this.geminiChunk(payload);
    else this.openaiChunk(payload);
  }

  private anthropicEvent(payload: Json): void {
    if (payload.type === 'message_delta') this.finish = stringAt(obj(payload.delta)?.stop_reason);
    const usage = payload.type === 'message_start' ? obj(obj(payload.message)?.usage) : obj(payload.usage);
    if (!usage) return;
    if ('input_tokens' in usage) this.input = anthropicInput(usage);
    if ('output_tokens' in usage) this.output = num(usage.output_tokens);
    this.reported = true;
  }

  /** Each Gemini chunk may carry usageMetadata, running totals: the last one holds. */
  private geminiChunk(payload: Json): void {
    this.finish.push(...geminiFinishReasons(payload));
    const meta = obj(payload.usageMetadata);
    if (meta) {
      ({ inputTokens: this.input, outputTokens: this.output } = geminiUsage(meta));
      this.reported = true;
      return;
    }
    const candidates = Array.isArray(payload.candidates) ? payload.candidates : [];
    for (const candidate of candidates) {
      const parts = obj(obj(candidate)?.content)?.parts;
      for (const part of Array.isArray(parts) ? parts : []) {
        const text = obj(part)?.text;
        if (typeof text === 'string') this.textChars += text.length;
      }
    }
  }

  private openaiChunk(payload: Json): void {
    const choices = Array.isArray(payload.choices) ? payload.choices.map(obj) : [];
    for (const choice of choices) this.finish.push(...stringAt(choice?.finish_reason));
    // A Responses stream reports its end and usage in its last event's response.
    const response = obj(payload.response);
    if (response && (payload.type === 'response.completed' || payload.type === 'response.incomplete')) this.finish = stringAt(response.status);
    const usage = obj(payload.usage) ?? obj(response?.usage);
    if (usage) {
      ({ inputTokens: this.input, outputTokens: this.output } = openaiUsage(usage));
      this.reported = true;
      return;
    }
    for (const choice of choices) {
      const delta = obj(choice?.delta);
      if (typeof delta?.content === 'string') this.textChars += delta.content.length;
      if (Array.isArray(delta?.tool_calls)) this.textChars += JSON.stringify(delta.tool_calls).length;
    }
  }

  /** The usage so far; `estimatedInput` stands in when the provider reported none. */
  usage(estimatedInput: number): TokenUsage {
    const finish = withFinish(this.finish);
    if (this.reported) return { inputTokens: this.input, outputTokens: this.output, ...finish };
    return { inputTokens: estimatedInput, outputTokens: Math.ceil(this.textChars / 4), ...finish };
  }
}
