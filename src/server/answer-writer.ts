/**
 * The one place an answer becomes bytes on a socket: the request's `x-spillway-*` headers on
 * every answer, a whole body with its length, a stream written as it comes with backpressure,
 * stopped when the client leaves, and — since after the first byte nothing can be retried — an
 * upstream that breaks mid-stream ends it with the surface's own error event.
 */
import { discard, type Answer } from '../pipeline/answer.js';
import { drained } from './backpressure.js';
import { streamErrorEvent } from '../pipeline/errors.js';
import type { Exchange } from './exchange.js';
import { markFirstByte } from '../pipeline/request-context.js';

export async function writeAnswer(exchange: Exchange, answer: Answer): Promise<void> {
  const { res } = exchange;
  if (res.headersSent || res.destroyed) return discard(answer);
  markFirstByte(exchange);
  const headers = { ...answer.headers, ...exchange.spillwayHeaders };
  const { body } = answer;
  if (Buffer.isBuffer(body)) {
    res.writeHead(answer.status, { ...headers, 'content-length': body.length });
    res.end(body);
    return;
  }
  res.writeHead(answer.status, headers);
  res.flushHeaders();
  try {
    // Leaving the loop early (the client left) lets go of the stream, and with it the upstream.
    for await (const chunk of body) {
      if (!res.write(chunk)) await drained(res);
      if (res.destroyed) break;
    }
    if (!res.destroyed) res.end();
  } catch (error) {
    if (!res.destroyed) {
      const message = `upstream stream failed: ${error instanceof Error ? error.message : String(error)}`;
      res.end(streamErrorEvent(exchange.surface, 'upstream', message));
    }
  }
}
