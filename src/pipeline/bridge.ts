/**
 * A Bridge joins one client surface to one provider protocol that differs from it, through the
 * pivot: the client's SurfaceCodec takes the request to the pivot and the answer back from it; the
 * provider's ProviderCodec takes the pivot to the provider and back. N surfaces and M providers
 * meet here as N + M codecs. Same-protocol traffic never comes here: it is relayed byte for byte.
 */
import type { ProviderCodec } from '../providers/codec.js';
import type { Surface } from '../protocol/surface.js';
import type { TokenUsage } from '../protocol/usage.js';
import { surfaceCodec } from '../surfaces/registry.js';

export interface BridgeOptions {
  surface: Surface;
  provider: ProviderCodec;
  /** The model name the client asked for: answers carry it, not the upstream's. */
  requestedModel: string;
  /** The client's own request body (what it asked of the stream). */
  body: Record<string, unknown>;
}

/** Upstream bytes in, client bytes out, usage on the side. */
export interface StreamBridge {
  push(chunk: Uint8Array): string;
  /** The upstream closed: finish the client's stream (an error event if it was cut short). */
  end(): string;
  /** The upstream's own count, or undefined when it reported none. */
  usage(): TokenUsage | undefined;
}

export interface Bridge {
  /** The body for the provider, and what had no equivalent there. */
  request(model: string, stream: boolean): { body: string; dropped: string[] };
  /** Headers the provider's protocol needs that a client of another surface does not send. */
  headers: Record<string, string>;
  /** A whole upstream answer → the client's shape, with the upstream's usage. */
  response(text: string, now: number): { body: string; usage: TokenUsage | undefined };
  /** An upstream error → the client's shape and the status its SDK expects. */
  error(status: number, text: string): { status: number; body: string };
  stream(now: number): StreamBridge;
}

/** The bridge from a client surface to a provider protocol, or undefined when they are the same. */
export function bridgeFor({ surface, provider, requestedModel, body }: BridgeOptions): Bridge | undefined {
  if (surface === provider.protocol) return undefined;
  const client = surfaceCodec(surface);
  return {
    headers: provider.headers,
    request(model, stream) {
      const pivot = client.toPivot(body, { model });
      const upstream = provider.fromPivot(pivot.request, { model, stream });
      return { body: upstream.body, dropped: [...new Set([...pivot.dropped, ...upstream.dropped])] };
    },
    response(text, now) {
      const { answer, usage } = provider.toPivot(text, { requestedModel, now });
      return { body: JSON.stringify(client.fromPivot(answer, { requestedModel, now })), usage };
    },
    error(status, text) {
      const pivot = provider.errorToPivot(status, text);
      return client.errorFromPivot(pivot.status, pivot.body);
    },
    stream(now) {
      const upstream = provider.streamToPivot({ requestedModel, now });
      const sink = client.streamFromPivot({ requestedModel, now, body });
      return {
        push: (chunk) => upstream.push(chunk).map((event) => sink.push(event)).join(''),
        end: () => upstream.end().map((event) => sink.push(event)).join('') + sink.end(),
        usage: () => upstream.usage(),
      };
    },
  };
}
