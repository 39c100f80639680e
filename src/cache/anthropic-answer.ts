/**
 * Anthropic Messages answers for the cache: assemble a streamed answer into the Message a
 * non-streaming request would have received, and replay a Message as a valid SSE stream.
 */
import { formatSse, SseParser, type SseEvent } from '../protocol/sse.js';
import type { AnthropicContentBlock, AnthropicMessage } from './entry.js';

type Json = Record<string, unknown>;

/**
 * Folds SSE events into a Message as they pass by (a tee of the stream going to the client).
 * Only a stream that reached `message_stop` without an `error` event yields a message: a cut or
 * failed stream must never be cached.
 */
export class AnthropicStreamAccumulator {
  private message: AnthropicMessage | undefined;
  /** Raw `input_json_delta` text per block index; parsed once at content_block_stop. */
  private readonly partialJson = new Map<number, string>();
  private stopped = false;
  private failed = false;

  push(event: SseEvent): void {
    if (this.failed || this.stopped) return;
    if (event.event === 'error') {
      this.failed = true;
      return;
    }
    let data: Json;
    try {
      data = JSON.parse(event.data) as Json;
    } catch {
      return; // not JSON: a ping with a body we do not know, ignore like the SDKs do
    }
    const type = event.event ?? (typeof data['type'] === 'string' ? data['type'] : undefined);
    switch (type) {
      case 'message_start':
        return this.onMessageStart(data);
      case 'content_block_start':
        return this.onBlockStart(data);
      case 'content_block_delta':
        return this.onBlockDelta(data);
      case 'content_block_stop':
        return this.onBlockStop(data);
      case 'message_delta':
        return this.onMessageDelta(data);
      case 'message_stop':
        if (this.message) this.stopped = true;
        return;
      case 'error':
        this.failed = true;
        return;
      default:
        return; // ping and event types added later
    }
  }

  /** The complete Message, or undefined if the stream did not finish cleanly. */
  result(): AnthropicMessage | undefined {
    return this.stopped && !this.failed ? this.message : undefined;
  }

  private onMessageStart(data: Json): void {
    const message = data['message'];
    if (!isObject(message)) return;
    this.message = { ...(structuredClone(message) as AnthropicMessage), content: [] };
  }

  private onBlockStart(data: Json): void {
    const index = data['index'];
    const block = data['content_block'];
    if (!this.message || typeof index !== 'number' || !isObject(block)) return;
    this.message.content[index] = structuredClone(block) as AnthropicContentBlock;
  }

  private onBlockDelta(data: Json): void {
    const index = data['index'];
    const delta = data['delta'];
    const block = typeof index === 'number' ? this.message?.content[index] : undefined;
    if (!block || typeof index !== 'number' || !isObject(delta)) return;
    switch (delta['type']) {
      case 'text_delta':
        block['text'] = String(block['text'] ?? '') + String(delta['text'] ?? '');
        return;
      case 'thinking_delta':
        block['thinking'] = String(block['thinking'] ?? '') + String(delta['thinking'] ?? '');
        return;
      case 'signature_delta':
        block['signature'] = delta['signature'];
        return;
      case 'citations_delta': {
        const citations = Array.isArray(block['citations']) ? block['citations'] : [];
        block['citations'] = [...citations, delta['citation']];
        return;
      }
      case 'input_json_delta':
        this.partialJson.set(index, (this.partialJson.get(index) ?? '') + String(delta['partial_json'] ?? ''));
        return;
      default:
        return;
    }
  }

  private onBlockStop(data: Json): void {
    const index = data['index'];
    if (typeof index !== 'number') return;
    const json = this.partialJson.get(index);
    const block = this.message?.content[index];
    if (json === undefined || !block) return;
    this.partialJson.delete(index);
    try {
      block['input'] = json.trim() === '' ? {} : JSON.parse(json);
    } catch {
      this.failed = true; // a tool input we cannot reconstruct is not worth caching
    }
  }

  private onMessageDelta(data: Json): void {
    if (!this.message) return;
    const delta = data['delta'];
    if (isObject(delta)) Object.assign(this.message, delta);
    const usage = data['usage'];
    // message_delta usage holds whole-message totals: overwrite, never add.
    if (isObject(usage)) {
      for (const [field, value] of Object.entries(usage)) {
        if (value !== null && value !== undefined) this.message.usage[field] = value;
      }
    }
  }
}

export function assembleAnthropicStream(events: Iterable<SseEvent>): AnthropicMessage {
  const accumulator = new AnthropicStreamAccumulator();
  for (const event of events) accumulator.push(event);
  const message = accumulator.result();
  if (!message) throw new Error('the Anthropic stream did not complete (no message_stop, or an error event)');
  return message;
}

/** Convenience for tests and tools: parse SSE text and assemble it. */
export function assembleAnthropicSse(text: string): AnthropicMessage {
  const parser = new SseParser();
  return assembleAnthropicStream([...parser.push(text), ...parser.end()]);
}

export interface ReplayOptions {
  /** Split text deltas into pieces of at most this many characters (default: one delta per block). */
  chunkChars?: number;
}

/**
 * A Message as the SSE stream the API would have sent: message_start, per block
 * content_block_start / delta(s) / stop, message_delta with the cumulative usage, message_stop.
 */
export function replayAnthropic(message: AnthropicMessage, options: ReplayOptions = {}): string {
  const frames: string[] = [];
  const emit = (type: string, payload: Json): void => {
    frames.push(formatSse(JSON.stringify({ type, ...payload }), type));
  };

  const { content, stop_reason, stop_sequence, stop_details, usage, ...rest } = message;
  emit('message_start', {
    message: { ...rest, content: [], stop_reason: null, stop_sequence: null, usage: { ...usage, output_tokens: 0 } },
  });

  content.forEach((block, index) => {
    for (const [type, payload] of blockEvents(block, index, options.chunkChars)) emit(type, payload);
  });

  const delta: Json = { stop_reason, stop_sequence };
  if (stop_details !== undefined) delta['stop_details'] = stop_details;
  emit('message_delta', { delta, usage });
  emit('message_stop', {});
  return frames.join('');
}

function blockEvents(block: AnthropicContentBlock, index: number, chunkChars?: number): Array<[string, Json]> {
  const events: Array<[string, Json]> = [];
  const start = (contentBlock: Json): void => {
    events.push(['content_block_start', { index, content_block: contentBlock }]);
  };
  const delta = (payload: Json): void => {
    events.push(['content_block_delta', { index, delta: payload }]);
  };

  if (block.type === 'text' && typeof block['text'] === 'string') {
    const citations = block['citations'];
    start({ ...block, text: '', ...(Array.isArray(citations) ? { citations: [] } : {}) });
    if (Array.isArray(citations)) for (const citation of citations) delta({ type: 'citations_delta', citation });
    for (const piece of pieces(block['text'], chunkChars)) delta({ type: 'text_delta', text: piece });
  } else if (block.type === 'thinking' && typeof block['thinking'] === 'string') {
    start({ ...block, thinking: '', signature: '' });
    for (const piece of pieces(block['thinking'], chunkChars)) delta({ type: 'thinking_delta', thinking: piece });
    if (typeof block['signature'] === 'string') delta({ type: 'signature_delta', signature: block['signature'] });
  } else if (isObject(block['input'])) {
    // tool_use, server_tool_use, mcp_tool_use: the input travels as JSON text
    start({ ...block, input: {} });
    for (const piece of pieces(JSON.stringify(block['input']), chunkChars)) {
      delta({ type: 'input_json_delta', partial_json: piece });
    }
  } else {
    start(block); // redacted_thinking, tool results …: complete in content_block_start
  }
  events.push(['content_block_stop', { index }]);
  return events;
}

/** Text in pieces of at most `size` UTF-16 units, never splitting a surrogate pair; ≥ 1 piece. */
export function pieces(text: string, size?: number): string[] {
  if (!size || size <= 0 || text.length <= size) return [text];
  const out: string[] = [];
  let start = 0;
  while (start < text.length) {
    let end = Math.min(start + size, text.length);
    const code = text.charCodeAt(end - 1);
    if (end < text.length && code >= 0xd800 && code <= 0xdbff) end -= 1;
    if (end <= start) end = start + 2;
    out.push(text.slice(start, end));
    start = end;
  }
  return out;
}

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
