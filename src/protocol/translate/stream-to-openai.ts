/**
 * Anthropic SSE events → OpenAI chat.completion.chunk frames, one handler per event type.
 * Anthropic block indexes count every block; OpenAI tool-call indexes count tool calls only,
 * so tool_use blocks are renumbered. Thinking and other untranslatable blocks are skipped.
 */
import type {
  AnthropicContentBlockDeltaEvent,
  AnthropicContentBlockStartEvent,
  AnthropicErrorBody,
  AnthropicMessageDeltaEvent,
  AnthropicMessageStartEvent,
  AnthropicStopReason,
  AnthropicUsage,
} from '../anthropic.js';
import type { OpenAIChatChunk, OpenAIChunkDelta, OpenAIFinishReason } from '../openai.js';
import { OPENAI_STREAM_DONE } from '../openai.js';
import { formatSse, type SseEvent } from '../sse.js';
import { anthropicErrorToOpenAI } from './errors.js';
import { toOpenAICompletionId } from './ids.js';
import { anthropicStopToFinish } from './stop-reason.js';
import { anthropicUsageToOpenAI } from './usage.js';

export interface AnthropicToOpenAIStreamOptions {
  /** The model name the client requested. */
  model: string;
  /** Current time in ms, for `created`. */
  now: number;
  /** The client asked for `stream_options.include_usage`: send the usage chunk. */
  includeUsage: boolean;
}

interface StreamState {
  id: string;
  started: boolean;
  /** Anthropic block index → OpenAI tool call index, for tool_use blocks only. */
  toolIndexByBlock: Map<number, number>;
  textBlocks: Set<number>;
  stopReason: AnthropicStopReason | null;
  usage: Partial<AnthropicUsage>;
  /** Terminator or error already sent; everything after is ignored. */
  finished: boolean;
}

export class AnthropicToOpenAIStream {
  private readonly state: StreamState = {
    id: toOpenAICompletionId(undefined),
    started: false,
    toolIndexByBlock: new Map(),
    textBlocks: new Set(),
    stopReason: null,
    usage: {},
    finished: false,
  };

  constructor(private readonly options: AnthropicToOpenAIStreamOptions) {}

  /** One upstream SSE event in, zero or more OpenAI SSE frames out. */
  push(event: SseEvent): string {
    if (this.state.finished) return '';
    let payload: { type?: string };
    try {
      payload = JSON.parse(event.data) as { type?: string };
    } catch {
      return ''; // not JSON: nothing a client could use
    }
    switch (event.event ?? payload.type) {
      case 'message_start':
        return this.onMessageStart(payload as AnthropicMessageStartEvent);
      case 'content_block_start':
        return this.onBlockStart(payload as AnthropicContentBlockStartEvent);
      case 'content_block_delta':
        return this.onBlockDelta(payload as AnthropicContentBlockDeltaEvent);
      case 'message_delta':
        return this.onMessageDelta(payload as AnthropicMessageDeltaEvent);
      case 'message_stop':
        return this.onMessageStop();
      case 'error':
        return this.onError(payload as AnthropicErrorBody);
      default: // ping, content_block_stop, unknown future events
        return '';
    }
  }

  /** The upstream closed. Without message_stop (or at least a stop reason) the answer is cut short. */
  end(): string {
    if (this.state.finished) return '';
    if (this.state.stopReason !== null) return this.onMessageStop();
    return this.onError({ type: 'error', error: { type: 'api_error', message: 'upstream stream ended before the message was complete' } });
  }

  private onMessageStart(event: AnthropicMessageStartEvent): string {
    this.state.id = toOpenAICompletionId(event.message.id);
    this.state.usage = { ...event.message.usage };
    return this.ensureStarted();
  }

  private onBlockStart(event: AnthropicContentBlockStartEvent): string {
    const block = event.content_block;
    let out = this.ensureStarted();
    if (block.type === 'text') {
      this.state.textBlocks.add(event.index);
      const text = (block as { text?: string }).text ?? '';
      if (text.length > 0) out += this.chunk({ content: text });
    } else if (block.type === 'tool_use') {
      const toolIndex = this.state.toolIndexByBlock.size;
      this.state.toolIndexByBlock.set(event.index, toolIndex);
      const { id, name } = block as { id: string; name: string };
      out += this.chunk({ tool_calls: [{ index: toolIndex, id, type: 'function', function: { name, arguments: '' } }] });
    }
    return out;
  }

  private onBlockDelta(event: AnthropicContentBlockDeltaEvent): string {
    const delta = event.delta;
    if (delta.type === 'text_delta' && this.state.textBlocks.has(event.index)) {
      return delta.text.length > 0 ? this.chunk({ content: delta.text }) : '';
    }
    const toolIndex = this.state.toolIndexByBlock.get(event.index);
    if (delta.type === 'input_json_delta' && toolIndex !== undefined && delta.partial_json.length > 0) {
      return this.chunk({ tool_calls: [{ index: toolIndex, function: { arguments: delta.partial_json } }] });
    }
    return ''; // thinking, signature, citations: no OpenAI equivalent
  }

  private onMessageDelta(event: AnthropicMessageDeltaEvent): string {
    if (event.delta.stop_reason) this.state.stopReason = event.delta.stop_reason;
    // Usage here is cumulative: overwrite, never add.
    for (const [key, value] of Object.entries(event.usage ?? {})) {
      if (value !== null && value !== undefined) (this.state.usage as Record<string, unknown>)[key] = value;
    }
    return '';
  }

  private onMessageStop(): string {
    let out = this.ensureStarted();
    const finish: OpenAIFinishReason = anthropicStopToFinish(this.state.stopReason);
    out += this.chunk({}, finish);
    if (this.options.includeUsage) {
      out += this.frame({ ...this.envelope(), choices: [], usage: anthropicUsageToOpenAI(this.state.usage) });
    }
    out += formatSse(OPENAI_STREAM_DONE);
    this.state.finished = true;
    return out;
  }

  private onError(event: AnthropicErrorBody): string {
    this.state.finished = true;
    // The OpenAI SDK throws on a data payload with a top-level `error`; no [DONE] follows.
    return formatSse(JSON.stringify(anthropicErrorToOpenAI(undefined, event).body));
  }

  private ensureStarted(): string {
    if (this.state.started) return '';
    this.state.started = true;
    return this.chunk({ role: 'assistant', content: '', refusal: null });
  }

  private envelope(): Omit<OpenAIChatChunk, 'choices'> {
    return { id: this.state.id, object: 'chat.completion.chunk', created: Math.floor(this.options.now / 1000), model: this.options.model };
  }

  private chunk(delta: OpenAIChunkDelta, finishReason: OpenAIFinishReason | null = null): string {
    return this.frame({ ...this.envelope(), choices: [{ index: 0, delta, logprobs: null, finish_reason: finishReason }] });
  }

  private frame(chunk: OpenAIChatChunk): string {
    return formatSse(JSON.stringify(chunk));
  }
}
