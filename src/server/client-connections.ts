/**
 * One client address may hold only so many connections open: past that, a single client (or a
 * slow-loris attack) would take every file descriptor and shut everyone else out.
 */
import type { Server } from 'node:http';
import type { Socket } from 'node:net';

/**
 * Refuses connections past `max` per remote address by closing them at once, before a byte is
 * read: answering would mean reading a request that might never finish. 0 leaves it uncapped.
 */
export function capConnectionsPerClient(server: Server, max: number, log: (message: string) => void): void {
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
