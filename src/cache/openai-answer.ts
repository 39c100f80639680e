/**
 * OpenAI Chat Completions answers for the cache: assemble streamed chunks into the ChatCompletion
 * a non-streaming request would have received, and replay a ChatCompletion as chunks.
 */
import { formatSse, SseParser, type SseEvent } from '../protocol/sse.js';
import type { ChatCompletion, OpenAIChoice, OpenAIToolCall } from './entry.js';
import { pieces } from './anthropic-answer.js';

type Json = Record<string, unknown>;

interface ChoiceState {
  index: number;
  role: 'assistant';
  content: string | null;
  refusal: string | null;
  toolCalls: OpenAIToolCall[];
  /** Message fields we do not interpret (annotations, audio …), last value wins. */
  extra: Json;
  /** Choice fields we do not interpret, last value wins. */
  choiceExtra: Json;
  logprobs: { content: unknown[] | null; refusal: unknown[] | null } | null;
  finishReason: string | null;
}

/**
 * Folds `chat.completion.chunk` events into a ChatCompletion. Complete only after `data: [DONE]`
 * with every choice finished and no error payload: a stream cut before [DONE] may lack its usage
 * chunk and is not cached.
 */
export class OpenAIStreamAccumulator {
  private head: Json | undefined;
  private usage: Json | null = null;
  private readonly choices: ChoiceState[] = [];
  private done = false;
  private failed = false;

  push(event: SseEvent): void {
    if (this.failed || this.done) return;
    if (event.event === 'error') {
      this.failed = true;
      return;
    }
    if (event.data.trim() === '[DONE]') {
      this.done = true;
      return;
    }
    let chunk: Json;
    try {
      chunk = JSON.parse(event.data) as Json;
    } catch {
      return;
    }
    if (chunk['error'] !== undefined && chunk['error'] !== null) {
      this.failed = true;
      return;
    }
    const { choices, usage, obfuscation: _padding, ...head } = chunk;
    this.head = { ...this.head, ...head };
    if (isObject(usage)) this.usage = usage;
    if (Array.isArray(choices)) for (const choice of choices) if (isObject(choice)) this.onChoice(choice);
  }

  result(): ChatCompletion | undefined {
    if (!this.done || this.failed || !this.head) return undefined;
    const choices = this.choices.filter((choice) => choice !== undefined);
    if (choices.length === 0 || choices.some((choice) => choice.finishReason === null)) return undefined;
    const { object: _chunkObject, ...head } = this.head;
    const completion: ChatCompletion = {
      ...head,
      id: String(head['id'] ?? ''),
      object: 'chat.completion',
      created: typeof head['created'] === 'number' ? head['created'] : 0,
      model: String(head['model'] ?? ''),
      choices: choices.map(finishChoice),
    };
    if (this.usage) completion.usage = this.usage;
    return completion;
  }

  private onChoice(chunk: Json): void {
    const index = typeof chunk['index'] === 'number' ? chunk['index'] : 0;
    const state = (this.choices[index] ??= {
      index,
      role: 'assistant',
      content: null,
      refusal: null,
      toolCalls: [],
      extra: {},
      choiceExtra: {},
      logprobs: null,
      finishReason: null,
    });
    const { delta, finish_reason, logprobs, index: _index, ...choiceExtra } = chunk;
    Object.assign(state.choiceExtra, choiceExtra);
    if (typeof finish_reason === 'string') state.finishReason = finish_reason;
    if (isObject(logprobs)) {
      state.logprobs ??= { content: null, refusal: null };
      if (Array.isArray(logprobs['content'])) state.logprobs.content = [...(state.logprobs.content ?? []), ...logprobs['content']];
      if (Array.isArray(logprobs['refusal'])) state.logprobs.refusal = [...(state.logprobs.refusal ?? []), ...logprobs['refusal']];
    }
    if (!isObject(delta)) return;
    const { role: _role, content, refusal, tool_calls, ...extra } = delta;
    Object.assign(state.extra, extra);
    if (typeof content === 'string') state.content = (state.content ?? '') + content;
    if (typeof refusal === 'string') state.refusal = (state.refusal ?? '') + refusal;
    if (Array.isArray(tool_calls)) for (const fragment of tool_calls) if (isObject(fragment)) onToolCall(state, fragment);
  }
}

// Tool calls arrive as fragments keyed by `index`; the first carries id, type and name, later
// ones only more `arguments` text.
function onToolCall(state: ChoiceState, fragment: Json): void {
  const index = typeof fragment['index'] === 'number' ? fragment['index'] : state.toolCalls.length;
  const call = (state.toolCalls[index] ??= { id: '', type: 'function', function: { name: '', arguments: '' } });
  if (typeof fragment['id'] === 'string') call.id = fragment['id'];
  if (typeof fragment['type'] === 'string') call.type = fragment['type'];
  const fn = fragment['function'];
  if (isObject(fn)) {
    if (typeof fn['name'] === 'string') call.function.name += fn['name'];
    if (typeof fn['arguments'] === 'string') call.function.arguments += fn['arguments'];
  }
}

function finishChoice(state: ChoiceState): OpenAIChoice {
  const message: OpenAIChoice['message'] = {
    ...state.extra,
    role: state.role,
    content: state.content,
    refusal: state.refusal,
  };
  const toolCalls = state.toolCalls.filter((call) => call !== undefined);
  if (toolCalls.length > 0) message.tool_calls = toolCalls;
  return { ...state.choiceExtra, index: state.index, message, logprobs: state.logprobs, finish_reason: state.finishReason };
}

export function assembleOpenAIStream(events: Iterable<SseEvent>): ChatCompletion {
  const accumulator = new OpenAIStreamAccumulator();
  for (const event of events) accumulator.push(event);
  const completion = accumulator.result();
  if (!completion) throw new Error('the OpenAI stream did not complete (no [DONE], an unfinished choice, or an error)');
  return completion;
}

/** Convenience for tests and tools: parse SSE text and assemble it. */
export function assembleOpenAISse(text: string): ChatCompletion {
  const parser = new SseParser();
  return assembleOpenAIStream([...parser.push(text), ...parser.end()]);
}

export interface OpenAIReplayOptions {
  /** The request asked for `stream_options.include_usage`: send the usage chunk before [DONE]. */
  includeUsage: boolean;
  /** Split content into pieces of at most this many characters (default: one piece). */
  chunkChars?: number;
}

/**
 * A ChatCompletion as the chunk stream the API would have sent: per choice a role chunk, content
 * (or refusal) pieces, tool-call fragments, a finish chunk; then the usage chunk when asked for;
 * then `data: [DONE]`.
 */
export function replayOpenAI(completion: ChatCompletion, options: OpenAIReplayOptions): string {
  const { choices, usage, object: _object, ...head } = completion;
  const frames: string[] = [];
  const emit = (chunkChoices: Json[], extra: Json = {}): void => {
    const chunk: Json = { ...head, object: 'chat.completion.chunk', choices: chunkChoices, ...extra };
    if (options.includeUsage && !('usage' in extra)) chunk['usage'] = null;
    frames.push(formatSse(JSON.stringify(chunk)));
  };

  for (const choice of choices) {
    const { index, message, finish_reason, logprobs, ...choiceExtra } = choice;
    const { role, content, refusal, tool_calls, ...messageExtra } = message;
    const deltaChoice = (delta: Json, more: Json = {}): Json => ({ index, delta, logprobs: null, finish_reason: null, ...more });

    emit([deltaChoice({ role, content: '', refusal: null, ...messageExtra })]);
    const contentPieces = typeof content === 'string' && content !== '' ? pieces(content, options.chunkChars) : [];
    contentPieces.forEach((piece, i) => {
      // logprobs ride on the first content chunk; the SDK concatenates them across chunks.
      emit([deltaChoice({ content: piece }, i === 0 && isObject(logprobs) ? { logprobs } : {})]);
    });
    if (typeof refusal === 'string' && refusal !== '') {
      for (const piece of pieces(refusal, options.chunkChars)) emit([deltaChoice({ refusal: piece })]);
    }
    (tool_calls ?? []).forEach((call, callIndex) => {
      const { id, type, function: fn, ...callExtra } = call;
      emit([deltaChoice({ tool_calls: [{ index: callIndex, id, type, function: { name: fn.name, arguments: '' }, ...callExtra }] })]);
      if (fn.arguments !== '') {
        for (const piece of pieces(fn.arguments, options.chunkChars)) {
          emit([deltaChoice({ tool_calls: [{ index: callIndex, function: { arguments: piece } }] })]);
        }
      }
    });
    emit([deltaChoice({}, { ...choiceExtra, finish_reason })]);
  }

  if (options.includeUsage && usage) emit([], { usage });
  frames.push(formatSse('[DONE]'));
  return frames.join('');
}

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
