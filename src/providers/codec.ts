/**
 * A provider protocol's translation to and from the pivot: the request it is sent, and its answer,
 * errors and stream read back, with the provider's own usage on the way (settling needs it).
 */
import type { PivotAnswer, PivotError, PivotEvent, PivotRequest } from '../pivot/index.js';
import type { Protocol } from '../protocol/surface.js';
import type { TokenUsage } from '../protocol/usage.js';

export interface ProviderCodec {
  protocol: Protocol;
  /** Headers the protocol needs that a client of another surface does not send. */
  headers: Record<string, string>;
  /** The body for the provider, and the features it cannot take. `model` is the upstream model. */
  fromPivot(request: PivotRequest, options: { model: string; stream: boolean }): { body: string; dropped: string[] };
  /** A whole upstream answer as a pivot answer, with the upstream's usage. */
  toPivot(text: string, options: { requestedModel: string; now: number }): { answer: PivotAnswer; usage: TokenUsage | undefined };
  errorToPivot(status: number, text: string): PivotError;
  /** Upstream stream bytes in, pivot events out (a usage chunk always included), usage on the side. */
  streamToPivot(options: { requestedModel: string; now: number }): ProviderStream;
}

export interface ProviderStream {
  push(chunk: Uint8Array): PivotEvent[];
  /** The upstream closed: the remaining events (an error event if it was cut short). */
  end(): PivotEvent[];
  usage(): TokenUsage | undefined;
}
