/**
 * Anthropic SSE events → pivot events (chat.completion.chunk), one handler per event type.
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
} from '../../protocol/anthropic.js';
import type { OpenAIFinishReason } from '../../protocol/openai.js';
import { PivotChunkWriter } from '../../pivot/chunks.js';
import type { SseEvent } from '../../protocol/sse.js';
import type { PivotEvent } from '../../pivot/index.js';
import { anthropicErrorToOpenAI } from '../../protocol/anthropic-errors.js';
import { toOpenAICompletionId } from '../../protocol/ids.js';
import { anthropicStopToFinish } from '../../protocol/stop-reason.js';
import { anthropicUsageToOpenAI } from '../../protocol/usage-shapes.js';

export interface AnthropicToPivotStreamOptions {
  /** The model name the client requested. */
  model: string;
  /** Current time in ms, for `created`. */
  now: number;
}

interface StreamState {
  started: boolean;
  /** Anthropic block index → OpenAI tool call index, for tool_use blocks only. */
  toolIndexByBlock: Map<number, number>;
  textBlocks: Set<number>;
  stopReason: AnthropicStopReason | null;
  usage: Partial<AnthropicUsage>;
  /** Terminator or error already sent; everything after is ignored. */
  finished: boolean;
}

export class AnthropicToPivotStream {
  private readonly state: StreamState = {
    started: false,
    toolIndexByBlock: new Map(),
    textBlocks: new Set(),
    stopReason: null,
    usage: {},
    finished: false,
  };

  private readonly out: PivotChunkWriter;

  constructor(options: AnthropicToPivotStreamOptions) {
    this.out = new PivotChunkWriter(options.model, options.now);
    this.out.id = toOpenAICompletionId(undefined);
  }

  /** One upstream SSE event in, zero or more pivot events out. */
  push(event: SseEvent): PivotEvent[] {
    if (this.state.finished) return [];
    let payload: { type?: string };
    try {
      payload = JSON.parse(event.data) as { type?: string };
    } catch {
      return []; // not JSON: nothing a client could use
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
        return [];
    }
  }

  /** The upstream closed. Without message_stop (or at least a stop reason) the answer is cut short. */
  end(): PivotEvent[] {
    if (this.state.finished) return [];
    if (this.state.stopReason !== null) return this.onMessageStop();
    return this.onError({ type: 'error', error: { type: 'api_error', message: 'upstream stream ended before the message was complete' } });
  }

  private onMessageStart(event: AnthropicMessageStartEvent): PivotEvent[] {
    this.out.id = toOpenAICompletionId(event.message.id);
    this.state.usage = { ...event.message.usage };
    return this.ensureStarted();
  }

  private onBlockStart(event: AnthropicContentBlockStartEvent): PivotEvent[] {
    const block = event.content_block;
    const out = this.ensureStarted();
    if (block.type === 'text') {
      this.state.textBlocks.add(event.index);
      const text = (block as { text?: string }).text ?? '';
      if (text.length > 0) out.push(this.out.chunk({ content: text }));
    } else if (block.type === 'tool_use') {
      const toolIndex = this.state.toolIndexByBlock.size;
      this.state.toolIndexByBlock.set(event.index, toolIndex);
      const { id, name } = block as { id: string; name: string };
      out.push(this.out.chunk({ tool_calls: [{ index: toolIndex, id, type: 'function', function: { name, arguments: '' } }] }));
    }
    return out;
  }

  private onBlockDelta(event: AnthropicContentBlockDeltaEvent): PivotEvent[] {
    const delta = event.delta;
    if (delta.type === 'text_delta' && this.state.textBlocks.has(event.index)) {
      return delta.text.length > 0 ? [this.out.chunk({ content: delta.text })] : [];
    }
    const toolIndex = this.state.toolIndexByBlock.get(event.index);
    if (delta.type === 'input_json_delta' && toolIndex !== undefined && delta.partial_json.length > 0) {
      return [this.out.chunk({ tool_calls: [{ index: toolIndex, function: { arguments: delta.partial_json } }] })];
    }
    return []; // thinking, signature, citations: no pivot equivalent
  }

  private onMessageDelta(event: AnthropicMessageDeltaEvent): PivotEvent[] {
    if (event.delta.stop_reason) this.state.stopReason = event.delta.stop_reason;
    // Usage here is cumulative: overwrite, never add.
    for (const [key, value] of Object.entries(event.usage ?? {})) {
      if (value !== null && value !== undefined) (this.state.usage as Record<string, unknown>)[key] = value;
    }
    return [];
  }

  private onMessageStop(): PivotEvent[] {
    const out = this.ensureStarted();
    const finish: OpenAIFinishReason = anthropicStopToFinish(this.state.stopReason);
    out.push(this.out.chunk({}, finish));
    out.push(this.out.usage(anthropicUsageToOpenAI(this.state.usage)));
    out.push(this.out.done());
    this.state.finished = true;
    return out;
  }

  private onError(event: AnthropicErrorBody): PivotEvent[] {
    this.state.finished = true;
    // The OpenAI SDK throws on a data payload with a top-level `error`; no [DONE] follows.
    return [{ data: JSON.stringify(anthropicErrorToOpenAI(undefined, event).body) }];
  }

  private ensureStarted(): PivotEvent[] {
    if (this.state.started) return [];
    this.state.started = true;
    return [this.out.chunk({ role: 'assistant', content: '', refusal: null })];
  }



}
