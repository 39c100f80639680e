import type { IncomingMessage, ServerResponse } from 'node:http';
import type { RequestRecord } from '../observe/observer.js';
import { errorResponse, type GatewayError, type Surface } from './errors.js';

/** One client request and its response, with what spillway has learned about it so far. */
export interface Exchange {
  req: IncomingMessage;
  res: ServerResponse;
  requestId: string;
  surface: Surface;
  /**
   * Who the request acts for: an opaque, stable hash of the client's credential (routes.ts
   * `ownerOf`), '' while the gateway has no client keys. Batches are scoped by it.
   */
  owner: string;
  /** Fires when the client goes away before the answer is complete. */
  signal: AbortSignal;
  /** The `x-spillway-*` headers to put on the answer; filled in along the way. */
  spillwayHeaders: Record<string, string>;
  /** What the observer is told when the exchange ends; filled in along the way. */
  trace: Partial<RequestRecord> & { startedAt: number };
}

/** Note the moment the answer's first byte goes out. */
export function markFirstByte(exchange: Exchange): void {
  exchange.trace.ttfbMs ??= Date.now() - exchange.trace.startedAt;
}

export function sendJson(exchange: Exchange, status: number, body: string, headers: Record<string, string> = {}): void {
  const { res } = exchange;
  if (res.headersSent) return;
  markFirstByte(exchange);
  res.writeHead(status, {
    ...headers,
    ...exchange.spillwayHeaders,
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(body),
  });
  res.end(body);
}

export function sendError(exchange: Exchange, error: GatewayError): void {
  const { status, headers, body } = errorResponse(exchange.surface, error, exchange.requestId);
  sendJson(exchange, status, body, headers);
}
