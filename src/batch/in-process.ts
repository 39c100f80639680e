/**
 * An Exchange with no client socket, so batch requests go through exactly the request path that
 * interactive requests take (plan, admission at batch priority, dispatch, retries, translation).
 *
 * The request path writes its answer with writeHead/write/end and reads headersSent, statusCode,
 * destroyed and writableFinished. A stream.Writable already has the write/end/finish/drain/destroy
 * semantics; CapturedResponse adds the few ServerResponse members on top and keeps the bytes.
 * That is simpler and more predictable than a real ServerResponse over a fake socket, whose
 * buffering and 'finish' depend on socket internals.
 */
import { IncomingMessage, type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import { Socket } from 'node:net';
import { Writable } from 'node:stream';
import { answerHeaders } from '../server/answer-headers.js';
import type { Exchange } from '../server/exchange.js';

export class CapturedResponse extends Writable {
  statusCode = 200;
  headersSent = false;
  readonly headers: Record<string, unknown> = {};
  private readonly chunks: Buffer[] = [];

  writeHead(status: number, headers: Record<string, unknown> = {}): this {
    this.statusCode = status;
    Object.assign(this.headers, headers);
    this.headersSent = true;
    return this;
  }

  flushHeaders(): void {
    this.headersSent = true;
  }

  setHeader(name: string, value: unknown): this {
    this.headers[name.toLowerCase()] = value;
    return this;
  }

  override _write(chunk: Buffer | string, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.headersSent = true;
    this.chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
    callback();
  }

  /** The whole answer, once `end` was called. */
  body(): string {
    return Buffer.concat(this.chunks).toString('utf8');
  }
}

export interface InProcessExchange {
  exchange: Exchange;
  response: CapturedResponse;
}

/** `owner`: the batch's, so each request acts for the client that created the batch. */
export function inProcessExchange(requestId: string, owner: string, headers: IncomingHttpHeaders, signal: AbortSignal): InProcessExchange {
  // A real IncomingMessage (headers, url, method) on a socket that is never connected.
  const req = new IncomingMessage(new Socket());
  req.method = 'POST';
  req.url = '/v1/messages';
  req.headers = headers;
  const response = new CapturedResponse();
  const exchange: Exchange = {
    req,
    // The one place CapturedResponse stands in for ServerResponse: it has every member the request path uses.
    res: response as unknown as ServerResponse,
    requestId,
    surface: 'anthropic',
    owner,
    signal,
    spillwayHeaders: answerHeaders(),
    trace: { startedAt: Date.now() },
  };
  return { exchange, response };
}
