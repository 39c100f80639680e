/**
 * Ollama NDJSON stream → pivot events. Bytes arrive in arbitrary pieces: a line (or a multi-byte
 * character) may be split across reads. Each Ollama line becomes chat.completion.chunk events.
 */
import type { OpenAIErrorBody, OpenAIFinishReason } from '../../protocol/openai.js';
import { PivotChunkWriter } from '../../pivot/chunks.js';
import type { SseEvent } from '../../protocol/sse.js';
import { stableId } from '../../protocol/ids.js';
import { ollamaFinishReason, ollamaToolCallsToOpenAI, type OllamaChatResponse } from './translate.js';

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
  started: boolean;
  toolCalls: number;
  finished: boolean;
}

/** Ollama lines → pivot events (the usage chunk always among them). */
export class OllamaToPivotStream {
  private readonly state: ChunkState = { started: false, toolCalls: 0, finished: false };

  private readonly out: PivotChunkWriter;

  constructor(options: OllamaStreamOptions) {
    this.out = new PivotChunkWriter(options.model, options.now);
  }

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
    if (content.length > 0) events.push(this.out.chunk({ content }));
    const calls = ollamaToolCallsToOpenAI(line.message?.tool_calls ?? [], line.created_at, this.state.toolCalls);
    for (const call of calls) {
      // Ollama sends each call whole, so one fragment carries id, name and all arguments.
      events.push(this.out.chunk({ tool_calls: [{ index: this.state.toolCalls++, ...call }] }));
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
    const events = [this.out.chunk({}, finish)];
    events.push(this.out.usage({ prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion }));
    events.push(this.out.done());
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
    this.out.id = stableId('chatcmpl-', `${line.model}@${line.created_at}`);
    return [this.out.chunk({ role: 'assistant', content: '', refusal: null })];
  }



}
