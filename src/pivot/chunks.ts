import type { OpenAIChatChunk, OpenAIChunkDelta, OpenAIFinishReason, OpenAIUsage } from '../protocol/openai.js';
import { OPENAI_STREAM_DONE } from '../protocol/openai.js';
import type { PivotEvent } from './index.js';

/** The pivot events of one streamed answer: each provider's stream translator writes through one. */
export class PivotChunkWriter {
  /** The completion id every chunk carries; a translator sets it once the upstream names its answer. */
  id = '';
  private readonly created: number;

  /** `model` is the name the client asked for; `now` in ms, for `created`. */
  constructor(private readonly model: string, now: number) {
    this.created = Math.floor(now / 1000);
  }

  chunk(delta: OpenAIChunkDelta, finishReason: OpenAIFinishReason | null = null): PivotEvent {
    return this.event({ ...this.envelope(), choices: [{ index: 0, delta, logprobs: null, finish_reason: finishReason }] });
  }

  /** The usage chunk: empty choices, as OpenAI sends it last. */
  usage(usage: OpenAIUsage): PivotEvent {
    return this.event({ ...this.envelope(), choices: [], usage });
  }

  done(): PivotEvent {
    return { data: OPENAI_STREAM_DONE };
  }

  private envelope(): Omit<OpenAIChatChunk, 'choices'> {
    return { id: this.id, object: 'chat.completion.chunk', created: this.created, model: this.model };
  }

  private event(chunk: OpenAIChatChunk): PivotEvent {
    return { data: JSON.stringify(chunk) };
  }
}
