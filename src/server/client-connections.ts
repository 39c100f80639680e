/**
 * What the edge refuses before a request reaches the pipeline, counted so an operator sees it: one
 * client address may hold only so many connections open (past that, a single client or a
 * slow-loris attack would take every file descriptor and shut everyone else out), and a request
 * that does not arrive within the timeouts, or does not parse, is answered and closed.
 */
import type { Server } from 'node:http';
import type { Socket } from 'node:net';

/** Why the edge closed a connection: over the per-client cap, too slow to send its request, too large headers, or not HTTP. */
export type EdgeRefusal = 'per_client_cap' | 'timeout' | 'headers_too_large' | 'malformed';

/** Node's own answer to a request that failed before it was parsed, and the refusal it counts as. */
function refusalOf(code: string | undefined): { reason: EdgeRefusal; status: string } {
  if (code === 'ERR_HTTP_REQUEST_TIMEOUT') return { reason: 'timeout', status: '408 Request Timeout' };
  if (code === 'HPE_HEADER_OVERFLOW') return { reason: 'headers_too_large', status: '431 Request Header Fields Too Large' };
  if (code === 'HPE_CHUNK_EXTENSIONS_OVERFLOW') return { reason: 'malformed', status: '413 Payload Too Large' };
  return { reason: 'malformed', status: '400 Bad Request' };
}

/**
 * Counts requests that failed before they were parsed, answering them as Node does without a
 * listener (the status, unless the answer has begun, then close). A client that reset its own
 * connection was not refused.
 */
export function countClientErrors(server: Server, refused: (reason: EdgeRefusal) => void): void {
  server.on('clientError', (error: NodeJS.ErrnoException, socket: Socket) => {
    if (error.code !== 'ECONNRESET') {
      const { reason, status } = refusalOf(error.code);
      refused(reason);
      if (socket.writable && socket.bytesWritten === 0) socket.write(`HTTP/1.1 ${status}\r\nConnection: close\r\n\r\n`);
    }
    socket.destroy();
  });
}

/**
 * Refuses connections past `max` per remote address by closing them at once, before a byte is
 * read: answering would mean reading a request that might never finish. 0 leaves it uncapped.
 */
export function capConnectionsPerClient(server: Server, max: number, log: (message: string) => void, refused: (reason: EdgeRefusal) => void): void {
  if (max <= 0) return;
  const open = new Map<string, number>();
  // Clients being refused now: one log line when a client reaches the cap, not one per refusal.
  const refusing = new Set<string>();
  // Ahead of the HTTP server's own listener, so a refused socket never gets a parser.
  server.prependListener('connection', (socket: Socket) => {
    const client = socket.remoteAddress ?? '';
    const count = (open.get(client) ?? 0) + 1;
    if (count > max) {
      socket.destroy();
      refused('per_client_cap');
      if (!refusing.has(client)) {
        refusing.add(client);
        log(`spillway: ${client} holds ${max} connections (server.max_connections_per_client); refusing more until some close`);
      }
      return;
    }
    open.set(client, count);
    socket.once('close', () => {
      const left = (open.get(client) ?? 1) - 1;
      if (left > 0) open.set(client, left);
      else open.delete(client);
      if (left < max) refusing.delete(client);
    });
  });
}
