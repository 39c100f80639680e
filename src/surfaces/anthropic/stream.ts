/**
 * OpenAI chat.completion.chunk frames → Anthropic SSE events, one handler per kind of chunk.
 * Text and each tool call become separate Anthropic content blocks, opened when their first piece
 * arrives and closed when something else starts. Input tokens are unknown until OpenAI's usage
 * chunk, so `message_start` carries 0 and the real, cumulative numbers go in `message_delta`.
 * Tool arguments are forwarded as they arrive (never buffered), even if they turn out not to be JSON.
 */
import type { AnthropicErrorBody, AnthropicStopReason, AnthropicStreamEvent, AnthropicUsage } from '../../protocol/anthropic.js';
import type { OpenAIChatChunk, OpenAIToolCallDelta } from '../../protocol/openai.js';
import { OPENAI_STREAM_DONE } from '../../protocol/openai.js';
import { formatSse, type SseEvent } from '../../protocol/sse.js';
import { openAIErrorToAnthropic } from '../../protocol/anthropic-errors.js';
import { inventToolCallId, toAnthropicMessageId } from '../../protocol/ids.js';
import { finishToAnthropicStop } from '../../protocol/stop-reason.js';
import { openAIUsageToAnthropic } from '../../protocol/usage-shapes.js';

export interface PivotToAnthropicStreamOptions {
  /** The model name the client requested. */
  model: string;
}

type OpenBlock = { kind: 'text'; index: number } | { kind: 'tool'; index: number; toolIndex: number };

interface StreamState {
  messageId: string;
  started: boolean;
  open: OpenBlock | null;
  nextBlockIndex: number;
  /** OpenAI tool call index → Anthropic block index. */
  blockByToolIndex: Map<number, number>;
  stopReason: AnthropicStopReason | null;
  usage: AnthropicUsage | null;
  finished: boolean;
}

export class PivotToAnthropicStream {
  private readonly state: StreamState = {
    messageId: '',
    started: false,
    open: null,
    nextBlockIndex: 0,
    blockByToolIndex: new Map(),
    stopReason: null,
    usage: null,
    finished: false,
  };

  constructor(private readonly options: PivotToAnthropicStreamOptions) {}

  /** One upstream SSE event in, zero or more Anthropic SSE frames out. */
  push(event: SseEvent): string {
    if (this.state.finished) return '';
    if (event.data.trim() === OPENAI_STREAM_DONE) return this.onDone();
    let payload: unknown;
    try {
      payload = JSON.parse(event.data);
    } catch {
      return '';
    }
    if (event.event === 'error' || (payload !== null && typeof payload === 'object' && 'error' in payload)) {
      return this.onError(payload);
    }
    return this.onChunk(payload as OpenAIChatChunk);
  }

  /**
   * The upstream closed. If a finish_reason arrived the answer is whole (only [DONE] or usage is
   * missing), so it is finished normally; otherwise the client gets an error event.
   */
  end(): string {
    if (this.state.finished) return '';
    if (this.state.stopReason !== null) return this.onDone();
    return this.onError({ error: { message: 'upstream stream ended before the message was complete', type: 'server_error', code: null } });
  }

  private onChunk(chunk: OpenAIChatChunk): string {
    let out = this.ensureStarted(chunk.id);
    if (chunk.usage) this.state.usage = openAIUsageToAnthropic(chunk.usage);
    const choice = chunk.choices?.[0];
    if (!choice) return out;
    const delta = choice.delta ?? {};
    const text = (delta.content ?? '') + (delta.refusal ?? '');
    if (text.length > 0) out += this.onText(text);
    for (const call of delta.tool_calls ?? []) out += this.onToolCall(call);
    if (choice.finish_reason) out += this.onFinish(choice.finish_reason);
    return out;
  }

  private onText(text: string): string {
    let out = '';
    if (this.state.open?.kind !== 'text') {
      out += this.closeOpenBlock();
      const index = this.state.nextBlockIndex++;
      this.state.open = { kind: 'text', index };
      out += this.emit({ type: 'content_block_start', index, content_block: { type: 'text', text: '' } });
    }
    return out + this.emit({ type: 'content_block_delta', index: this.state.open!.index, delta: { type: 'text_delta', text } });
  }

  private onToolCall(call: OpenAIToolCallDelta): string {
    let out = '';
    const toolIndex = call.index ?? 0;
    let blockIndex = this.state.blockByToolIndex.get(toolIndex);
    if (blockIndex === undefined) {
      out += this.closeOpenBlock();
      blockIndex = this.state.nextBlockIndex++;
      this.state.blockByToolIndex.set(toolIndex, blockIndex);
      this.state.open = { kind: 'tool', index: blockIndex, toolIndex };
      const id = call.id ?? inventToolCallId(this.state.messageId, toolIndex);
      out += this.emit({ type: 'content_block_start', index: blockIndex, content_block: { type: 'tool_use', id, name: call.function?.name ?? '', input: {} } });
    }
    const args = call.function?.arguments ?? '';
    if (args.length > 0) {
      out += this.emit({ type: 'content_block_delta', index: blockIndex, delta: { type: 'input_json_delta', partial_json: args } });
    }
    return out;
  }

  private onFinish(reason: string): string {
    this.state.stopReason = finishToAnthropicStop(reason);
    // Some compatible servers report "stop" after tool calls.
    if (this.state.stopReason === 'end_turn' && this.state.blockByToolIndex.size > 0) this.state.stopReason = 'tool_use';
    return this.closeOpenBlock();
  }

  private onDone(): string {
    let out = this.ensureStarted(undefined) + this.closeOpenBlock();
    const usage = this.state.usage ?? openAIUsageToAnthropic(null);
    out += this.emit({
      type: 'message_delta',
      delta: { stop_reason: this.state.stopReason ?? 'end_turn', stop_sequence: null },
      usage,
    });
    out += this.emit({ type: 'message_stop' });
    this.state.finished = true;
    return out;
  }

  private onError(payload: unknown): string {
    this.state.finished = true;
    const body: AnthropicErrorBody = openAIErrorToAnthropic(undefined, payload).body;
    return this.emit(body);
  }

  private ensureStarted(chunkId: string | undefined): string {
    if (this.state.started) return '';
    this.state.started = true;
    this.state.messageId = toAnthropicMessageId(chunkId);
    return this.emit({
      type: 'message_start',
      message: {
        id: this.state.messageId,
        type: 'message',
        role: 'assistant',
        model: this.options.model,
        content: [],
        stop_reason: null,
        stop_sequence: null,
        usage: { input_tokens: 0, output_tokens: 0, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 },
      },
    });
  }

  private closeOpenBlock(): string {
    const open = this.state.open;
    if (!open) return '';
    this.state.open = null;
    return this.emit({ type: 'content_block_stop', index: open.index });
  }

  private emit(event: AnthropicStreamEvent): string {
    return formatSse(JSON.stringify(event), event.type);
  }
}
