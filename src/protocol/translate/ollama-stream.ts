/**
 * Ollama NDJSON stream → OpenAI chunks or Anthropic events. Bytes arrive in arbitrary pieces:
 * a line (or a multi-byte character) may be split across reads. Each Ollama line becomes OpenAI
 * chunk events; the Anthropic target runs those through OpenAIToAnthropicStream, so the
 * block bookkeeping lives in one place.
 */
import type { OpenAIChatChunk, OpenAIChunkDelta, OpenAIErrorBody, OpenAIFinishReason } from '../openai.js';
import { OPENAI_STREAM_DONE } from '../openai.js';
import { formatSse, type SseEvent } from '../sse.js';
import { stableId } from './ids.js';
import { ollamaFinishReason, ollamaToolCallsToOpenAI, type OllamaChatResponse } from './ollama.js';
import { OpenAIToAnthropicStream } from './stream-to-anthropic.js';

/** Splits a byte stream into complete lines. */
export class NdjsonLines {
  private readonly decoder = new TextDecoder();
  private buffer = '';

  push(chunk: Uint8Array | string): string[] {
    this.buffer += typeof chunk === 'string' ? chunk : this.decoder.decode(chunk, { stream: true });
    const lines = this.buffer.split('\n');
    this.buffer = lines.pop()!;
    return lines.map((line) => line.trim()).filter((line) => line.length > 0);
  }

  /** A last line without its newline still counts. */
  end(): string[] {
    const rest = (this.buffer + this.decoder.decode()).trim();
    this.buffer = '';
    return rest.length > 0 ? [rest] : [];
  }
}

export interface OllamaStreamOptions {
  /** The model name the client requested. */
  model: string;
  /** Current time in ms, for `created`. */
  now: number;
}

interface ChunkState {
  id: string;
  started: boolean;
  toolCalls: number;
  finished: boolean;
}

/** Ollama lines → OpenAI chunk events. */
class OllamaChunkSource {
  private readonly state: ChunkState = { id: '', started: false, toolCalls: 0, finished: false };

  constructor(private readonly options: OllamaStreamOptions & { includeUsage: boolean }) {}

  line(text: string): SseEvent[] {
    if (this.state.finished) return [];
    let line: OllamaChatResponse;
    try {
      line = JSON.parse(text) as OllamaChatResponse;
    } catch {
      return this.onError(`unreadable line from Ollama: ${text.slice(0, 200)}`);
    }
    if (typeof line.error === 'string') return this.onError(line.error);
    const events = this.ensureStarted(line);
    const content = line.message?.content ?? '';
    if (content.length > 0) events.push(this.chunk({ content }));
    const calls = ollamaToolCallsToOpenAI(line.message?.tool_calls ?? [], line.created_at, this.state.toolCalls);
    for (const call of calls) {
      // Ollama sends each call whole, so one fragment carries id, name and all arguments.
      events.push(this.chunk({ tool_calls: [{ index: this.state.toolCalls++, ...call }] }));
    }
    if (line.done) events.push(...this.onDone(line));
    return events;
  }

  end(): SseEvent[] {
    if (this.state.finished) return [];
    return this.onError('Ollama stream ended before the message was complete');
  }

  private onDone(line: OllamaChatResponse): SseEvent[] {
    this.state.finished = true;
    const finish: OpenAIFinishReason = ollamaFinishReason(line.done_reason, this.state.toolCalls > 0);
    const prompt = line.prompt_eval_count ?? 0;
    const completion = line.eval_count ?? 0;
    const events = [this.chunk({}, finish)];
    if (this.options.includeUsage) {
      events.push(this.event({ ...this.envelope(), choices: [], usage: { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion } }));
    }
    events.push({ data: OPENAI_STREAM_DONE });
    return events;
  }

  private onError(message: string): SseEvent[] {
    this.state.finished = true;
    const body: OpenAIErrorBody = { error: { message, type: 'server_error', param: null, code: null } };
    return [{ data: JSON.stringify(body) }];
  }

  private ensureStarted(line: OllamaChatResponse): SseEvent[] {
    if (this.state.started) return [];
    this.state.started = true;
    this.state.id = stableId('chatcmpl-', `${line.model}@${line.created_at}`);
    return [this.chunk({ role: 'assistant', content: '', refusal: null })];
  }

  private envelope(): Omit<OpenAIChatChunk, 'choices'> {
    return { id: this.state.id, object: 'chat.completion.chunk', created: Math.floor(this.options.now / 1000), model: this.options.model };
  }

  private chunk(delta: OpenAIChunkDelta, finishReason: OpenAIFinishReason | null = null): SseEvent {
    return this.event({ ...this.envelope(), choices: [{ index: 0, delta, logprobs: null, finish_reason: finishReason }] });
  }

  private event(chunk: OpenAIChatChunk): SseEvent {
    return { data: JSON.stringify(chunk) };
  }
}

/** Ollama NDJSON bytes → OpenAI SSE frames. */
export class OllamaToOpenAIStream {
  private readonly lines = new NdjsonLines();
  private readonly source: OllamaChunkSource;

  constructor(options: OllamaStreamOptions & { includeUsage: boolean }) {
    this.source = new OllamaChunkSource(options);
  }

  push(chunk: Uint8Array | string): string {
    return this.lines.push(chunk).map((line) => this.format(this.source.line(line))).join('');
  }

  end(): string {
    const last = this.lines.end().map((line) => this.format(this.source.line(line))).join('');
    return last + this.format(this.source.end());
  }

  private format(events: SseEvent[]): string {
    return events.map((event) => formatSse(event.data)).join('');
  }
}

/** Ollama NDJSON bytes → Anthropic SSE frames. */
export class OllamaToAnthropicStream {
  private readonly lines = new NdjsonLines();
  private readonly source: OllamaChunkSource;
  private readonly anthropic: OpenAIToAnthropicStream;

  constructor(options: OllamaStreamOptions) {
    // The Anthropic client always gets token counts, so usage is always requested here.
    this.source = new OllamaChunkSource({ ...options, includeUsage: true });
    this.anthropic = new OpenAIToAnthropicStream({ model: options.model });
  }

  push(chunk: Uint8Array | string): string {
    return this.lines.push(chunk).map((line) => this.relay(this.source.line(line))).join('');
  }

  end(): string {
    const last = this.lines.end().map((line) => this.relay(this.source.line(line))).join('');
    return last + this.relay(this.source.end()) + this.anthropic.end();
  }

  private relay(events: SseEvent[]): string {
    return events.map((event) => this.anthropic.push(event)).join('');
  }
}
