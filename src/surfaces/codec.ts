/**
 * A client surface's translation to and from the pivot. Used only when the provider that serves a
 * request speaks another protocol; same-protocol traffic is relayed untouched.
 */
import type { PivotAnswer, PivotEvent, PivotRequest } from '../pivot/index.js';
import type { Surface } from '../protocol/surface.js';

export interface SurfaceCodec {
  surface: Surface;
  /**
   * The client's request body in the pivot's shape, and the features that had no equivalent.
   * `model` is the upstream model: where what the pivot can carry depends on it (reasoning effort),
   * the surface decides, so what is left out is named in the client's own terms.
   */
  toPivot(body: Record<string, unknown>, options: { model: string }): { request: PivotRequest; dropped: string[] };
  /** A whole pivot answer as the client's body. `requestedModel` is the model the client named. */
  fromPivot(answer: PivotAnswer, options: { requestedModel: string; now: number }): unknown;
  /** A pivot (OpenAI-shaped) error as the client's error body and the status its SDK expects. */
  errorFromPivot(status: number, body: unknown): { status: number; body: string };
  /** Pivot stream events in, the client's stream bytes (as text) out. */
  streamFromPivot(options: PivotStreamOptions): PivotStreamSink;
}

export interface PivotStreamOptions {
  requestedModel: string;
  now: number;
  /** The client's own request body, for what it asked of the stream (OpenAI's include_usage). */
  body: Record<string, unknown>;
}

export interface PivotStreamSink {
  push(event: PivotEvent): string;
  /** The pivot stream ended: close the client's stream (an error event if it was cut short). */
  end(): string;
}
