/**
 * The kept side of the Responses surface: GET and DELETE /v1/responses/{id}, and the answer to
 * Codex's WebSocket attempt on /v1/responses (426, which makes it fall back to HTTP streaming at
 * once; a 404 or 405 costs several reconnects first).
 */
import { GatewayError } from '../pipeline/errors.js';
import { sendJson, type Exchange } from './exchange.js';
import type { Gateway } from './gateway.js';

export const RESPONSES_PATH = '/v1/responses';

export async function serveKeptResponses(gw: Gateway, exchange: Exchange, method: string, path: string): Promise<void> {
  if (path === RESPONSES_PATH) {
    if (method === 'GET' && exchange.req.headers.upgrade !== undefined) {
      const error = { message: 'spillway serves the Responses API over HTTP (streaming with stream: true), not WebSocket.', type: 'invalid_request_error', param: null, code: 'upgrade_required' };
      return sendJson(exchange, 426, JSON.stringify({ error }), { connection: 'close' });
    }
    throw new GatewayError('not_found', `${method} ${path} is not a spillway endpoint`);
  }
  const id = decodeURIComponent(path.slice(RESPONSES_PATH.length + 1));
  const now = Date.now();
  const notFound = () => new GatewayError('not_found', `Response with id '${id}' not found.`, { param: 'response_id' });
  if (method === 'GET') {
    const kept = await gw.responses.get(id, exchange.owner, now);
    if (!kept) throw notFound();
    return sendJson(exchange, 200, JSON.stringify(kept.response));
  }
  if (method === 'DELETE') {
    if (!(await gw.responses.delete(id, exchange.owner, now))) throw notFound();
    return sendJson(exchange, 200, JSON.stringify({ id, object: 'response', deleted: true }));
  }
  throw new GatewayError('not_found', `${method} ${path} is not a spillway endpoint`);
}
