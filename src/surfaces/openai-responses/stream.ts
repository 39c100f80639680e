/**
 * Pivot stream events (chat.completion.chunk) → the Responses event sequence.
 *
 * One output item is open at a time per kind: reasoning, then the message, then function calls
 * (one item per tool call index). An item opens at its first delta (`output_item.added`, plus
 * `content_part.added` or `reasoning_summary_part.added`) and closes when something else begins or
 * the answer ends (`…done` events, then `output_item.done` carrying the complete item: Codex runs
 * tools from it). The stream ends with `response.completed` (or `response.incomplete` at the
 * length limit); an error event from the pivot, or a stream cut short, ends it with
 * `response.failed`. Every event carries `sequence_number`.
 */
import type { OpenAIChatChunk, OpenAIErrorBody, OpenAIFinishReason, OpenAIToolCallDelta } from '../../protocol/openai.js';
import { formatSse } from '../../protocol/sse.js';
import type { PivotEvent } from '../../pivot/index.js';
import { endingOf, ResponseIds, responseObject, usageOf, type ResponseOptions } from './response.js';
import type { FunctionCallItem, MessageItem, OutputItem, ReasoningItem, ResponseObject, ResponsesUsage } from './wire.js';

type Delta = OpenAIChatChunk['choices'][number]['delta'] & { reasoning_content?: string | null };

interface OpenItem {
  index: number;
  item: OutputItem;
}

export class PivotToResponsesStream {
  private sequence = 0;
  private ids: ResponseIds | undefined;
  private createdAt = 0;
  private readonly output: OutputItem[] = [];
  private reasoning: OpenItem | undefined;
  private message: OpenItem | undefined;
  /** Open function calls by the chunk's tool call index. */
  private readonly calls = new Map<number, OpenItem>();
  private finish: OpenAIFinishReason | null = null;
  private usage: ResponsesUsage | null = null;
  private final: ResponseObject | undefined;

  constructor(
    private readonly options: ResponseOptions,
    private readonly now: () => number = () => Math.floor(Date.now() / 1000),
  ) {}

  /** One pivot event in; the Responses events it makes, as SSE text. */
  push(event: PivotEvent): string {
    if (this.final) return '';
    if (event.data === '[DONE]') return this.complete();
    let parsed: unknown;
    try {
      parsed = JSON.parse(event.data);
    } catch {
      return ''; // not an event of the pivot (a keep-alive or a stray line)
    }
    const body = parsed as Partial<OpenAIChatChunk> & Partial<OpenAIErrorBody>;
    if (body.error) return this.fail(body.error.code ?? body.error.type ?? 'server_error', body.error.message ?? 'upstream error');
    return this.chunk(body as OpenAIChatChunk);
  }

  /** The pivot stream closed: complete the response if it finished, else fail it. */
  end(): string {
    if (this.final) return '';
    if (this.finish !== null) return this.complete();
    return this.fail('stream_interrupted', 'the upstream stream ended before the answer was complete');
  }

  /** The response as it ended (for `previous_response_id`), once it has. */
  result(): ResponseObject | undefined {
    return this.final;
  }

  private chunk(chunk: OpenAIChatChunk): string {
    let out = this.start(chunk);
    if (chunk.usage) this.usage = usageOf(chunk.usage);
    const choice = chunk.choices?.[0];
    if (!choice) return out;
    const delta: Delta = choice.delta ?? {};
    if (delta.reasoning_content) out += this.reasoningDelta(delta.reasoning_content);
    const text = delta.content ?? delta.refusal;
    if (text) out += this.textDelta(text);
    for (const call of delta.tool_calls ?? []) out += this.callDelta(call);
    if (choice.finish_reason) this.finish = choice.finish_reason;
    return out;
  }

  private emit(type: string, fields: Record<string, unknown>): string {
    return formatSse(JSON.stringify({ type, sequence_number: this.sequence++, ...fields }), type);
  }

  private snapshot(state: Parameters<typeof responseObject>[3]): ResponseObject {
    return responseObject(this.ids as ResponseIds, this.createdAt, this.options, state);
  }

  private start(chunk: OpenAIChatChunk): string {
    if (this.ids) return '';
    this.ids = new ResponseIds(chunk.id);
    this.createdAt = chunk.created ?? this.now();
    const response = this.snapshot({ status: 'in_progress', output: [], usage: null });
    return this.emit('response.created', { response }) + this.emit('response.in_progress', { response });
  }

  private open(item: OutputItem): OpenItem {
    const opened = { index: this.output.length, item };
    this.output.push(item);
    return opened;
  }

  private added(opened: OpenItem): string {
    return this.emit('response.output_item.added', { output_index: opened.index, item: structuredClone(opened.item) });
  }

  private reasoningDelta(text: string): string {
    let out = '';
    if (!this.reasoning) {
      out += this.closeAll();
      const item: ReasoningItem = { type: 'reasoning', id: this.ids!.item('rs', this.output.length), summary: [] };
      this.reasoning = this.open(item);
      out += this.added(this.reasoning);
      item.summary.push({ type: 'summary_text', text: '' });
      out += this.emit('response.reasoning_summary_part.added', { item_id: item.id, output_index: this.reasoning.index, summary_index: 0, part: { type: 'summary_text', text: '' } });
    }
    const item = this.reasoning.item as ReasoningItem;
    item.summary[0]!.text += text;
    return out + this.emit('response.reasoning_summary_text.delta', { item_id: item.id, output_index: this.reasoning.index, summary_index: 0, delta: text });
  }

  private textDelta(text: string): string {
    let out = '';
    if (!this.message) {
      out += this.closeAll();
      const item: MessageItem = { type: 'message', id: this.ids!.item('msg', this.output.length), role: 'assistant', status: 'in_progress', content: [] };
      this.message = this.open(item);
      out += this.added(this.message);
      item.content.push({ type: 'output_text', text: '', annotations: [] });
      out += this.emit('response.content_part.added', { item_id: item.id, output_index: this.message.index, content_index: 0, part: { type: 'output_text', text: '', annotations: [] } });
    }
    const item = this.message.item as MessageItem;
    item.content[0]!.text += text;
    return out + this.emit('response.output_text.delta', { item_id: item.id, output_index: this.message.index, content_index: 0, delta: text, logprobs: [] });
  }

  private callDelta(delta: OpenAIToolCallDelta): string {
    let out = '';
    let opened = this.calls.get(delta.index);
    if (!opened) {
      // Text and thinking come before the calls they lead to; calls stay open beside each other.
      out += this.closeReasoning() + this.closeMessage();
      const item: FunctionCallItem = {
        type: 'function_call',
        id: this.ids!.item('fc', this.output.length),
        call_id: delta.id ?? `call_${this.ids!.item('fc', this.output.length)}`,
        name: delta.function?.name ?? '',
        arguments: '',
        status: 'in_progress',
      };
      opened = this.open(item);
      this.calls.set(delta.index, opened);
      out += this.added(opened);
    }
    const item = opened.item as FunctionCallItem;
    const piece = delta.function?.arguments;
    if (!piece) return out;
    item.arguments += piece;
    return out + this.emit('response.function_call_arguments.delta', { item_id: item.id, output_index: opened.index, delta: piece });
  }

  private closeReasoning(): string {
    const opened = this.reasoning;
    if (!opened) return '';
    this.reasoning = undefined;
    const item = opened.item as ReasoningItem;
    const part = item.summary[0]!;
    return (
      this.emit('response.reasoning_summary_text.done', { item_id: item.id, output_index: opened.index, summary_index: 0, text: part.text }) +
      this.emit('response.reasoning_summary_part.done', { item_id: item.id, output_index: opened.index, summary_index: 0, part }) +
      this.emit('response.output_item.done', { output_index: opened.index, item })
    );
  }

  private closeMessage(status: MessageItem['status'] = 'completed'): string {
    const opened = this.message;
    if (!opened) return '';
    this.message = undefined;
    const item = opened.item as MessageItem;
    item.status = status;
    const part = item.content[0]!;
    return (
      this.emit('response.output_text.done', { item_id: item.id, output_index: opened.index, content_index: 0, text: part.text, logprobs: [] }) +
      this.emit('response.content_part.done', { item_id: item.id, output_index: opened.index, content_index: 0, part }) +
      this.emit('response.output_item.done', { output_index: opened.index, item })
    );
  }

  private closeCalls(): string {
    let out = '';
    for (const opened of this.calls.values()) {
      const item = opened.item as FunctionCallItem;
      item.status = 'completed';
      out += this.emit('response.function_call_arguments.done', { item_id: item.id, output_index: opened.index, name: item.name, arguments: item.arguments });
      out += this.emit('response.output_item.done', { output_index: opened.index, item });
    }
    this.calls.clear();
    return out;
  }

  private closeAll(messageStatus: MessageItem['status'] = 'completed'): string {
    return this.closeReasoning() + this.closeMessage(messageStatus) + this.closeCalls();
  }

  private complete(): string {
    if (!this.ids) return this.fail('stream_interrupted', 'the upstream stream ended before it began');
    const ending = endingOf(this.finish);
    const out = this.closeAll(ending.status === 'incomplete' ? 'incomplete' : 'completed');
    this.final = this.snapshot({ ...ending, output: this.output, usage: this.usage });
    const type = ending.status === 'incomplete' ? 'response.incomplete' : 'response.completed';
    return out + this.emit(type, { response: this.final });
  }

  private fail(code: string, message: string): string {
    if (!this.ids) {
      this.ids = new ResponseIds(undefined);
      this.createdAt = this.now();
    }
    this.final = this.snapshot({ status: 'failed', output: this.output, usage: this.usage, error: { code, message } });
    return this.emit('response.failed', { response: this.final });
  }
}
