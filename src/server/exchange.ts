import type { IncomingMessage, ServerResponse } from 'node:http';
import { markFirstByte, type RequestContext } from '../pipeline/request-context.js';
import { errorResponse, type GatewayError } from '../pipeline/errors.js';

/** One client request and its response, with what spillway has learned about it so far. */
export interface Exchange extends RequestContext {
  req: IncomingMessage;
  res: ServerResponse;
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
