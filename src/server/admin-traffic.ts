/**
 * The admin API's traffic levers: `POST /admin/flags/{name}` ({"on": true}), `POST
 * /admin/canary/{route}` ({"share": 0.3}, {"promote": true} or {"demote": true}), `GET
 * /admin/traffic` (every flag and canary as they stand) and `GET /admin/shadow?route=X&since=1d`
 * (the shadow report), and `POST /admin/replay` ({"route": "X", "since": "1d", "candidate":
 * "provider/model", "limit": 200}: captured prompts resent to a candidate, answered with the same
 * report as shadow). Called by admin.ts once the admin key has been checked.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { parseSince } from '../observe/span.js';
import { UnknownSwitch, type CanaryChange } from '../routing/traffic-control.js';
import { replay, ReplayError, type ReplayRequest } from '../pipeline/replay.js';
import type { Gateway } from './gateway.js';
import { readJsonBody } from './request-body.js';

const ADMIN_BODY_LIMIT = 64 * 1024;

export function isTrafficPath(path: string): boolean {
  return path === '/admin/traffic' || path === '/admin/shadow' || path === '/admin/replay' || path.startsWith('/admin/flags/') || path.startsWith('/admin/canary/');
}

class BadRequest extends Error {}

function reply(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store' });
  res.end(text);
}

function errorBody(type: string, message: string) {
  return { error: { type, message } };
}

async function readObject(req: IncomingMessage): Promise<Record<string, unknown>> {
  let parsed: unknown;
  try {
    parsed = JSON.parse((await readJsonBody(req, ADMIN_BODY_LIMIT)).toString('utf8') || '{}');
  } catch {
    throw new BadRequest('the body must be a JSON object');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new BadRequest('the body must be a JSON object');
  return parsed as Record<string, unknown>;
}

export function flagChange(body: Record<string, unknown>): boolean {
  if (typeof body.on !== 'boolean') throw new BadRequest('on: expected true or false, as in {"on": true}');
  return body.on;
}

export function canaryChange(body: Record<string, unknown>): CanaryChange {
  if (body.promote === true) return { promote: true };
  if (body.demote === true) return { demote: true };
  if (typeof body.share === 'number' && body.share >= 0 && body.share <= 1) return { share: body.share };
  throw new BadRequest('expected {"share": 0..1}, {"promote": true} or {"demote": true}');
}

const MAX_REPLAY = 10_000;

export function replayRequest(body: Record<string, unknown>, now: number): Omit<ReplayRequest, 'signal'> {
  const candidate = typeof body.candidate === 'string' ? /^([^/\s]+)\/(.+)$/.exec(body.candidate) : null;
  if (!candidate) throw new BadRequest('candidate: expected "provider/model", as in {"candidate": "vendor/vendor-large"}');
  if (body.route !== undefined && (typeof body.route !== 'string' || body.route === '')) throw new BadRequest('route: expected a route name');
  let since: number;
  try {
    since = parseSince(typeof body.since === 'string' ? body.since : '1d', now);
  } catch {
    throw new BadRequest('since: expected a span like 7d, 24h or 30m, or "all"');
  }
  const limit = body.limit ?? 200;
  if (typeof limit !== 'number' || !Number.isInteger(limit) || limit < 1 || limit > MAX_REPLAY) throw new BadRequest(`limit: expected an integer from 1 to ${MAX_REPLAY}`);
  const concurrency = body.concurrency ?? 4;
  if (typeof concurrency !== 'number' || !Number.isInteger(concurrency) || concurrency < 1 || concurrency > 64) throw new BadRequest('concurrency: expected an integer from 1 to 64');
  return { route: body.route as string | undefined, since, candidate: { provider: candidate[1]!, model: candidate[2]! }, limit, concurrency };
}

/** The part of the path after `prefix`, decoded (a route may be named "*"). */
function nameAfter(path: string, prefix: string): string {
  try {
    return decodeURIComponent(path.slice(prefix.length));
  } catch {
    throw new BadRequest(`${path}: not a valid name`);
  }
}

export async function serveTraffic(gw: Gateway, req: IncomingMessage, res: ServerResponse, method: string, path: string, query: URLSearchParams): Promise<void> {
  try {
    if (path === '/admin/shadow') {
      if (method !== 'GET') return reply(res, 405, errorBody('invalid_request_error', `${method} ${path}: use GET`));
      let since: number;
      try {
        since = parseSince(query.get('since') ?? 'all', Date.now());
      } catch {
        throw new BadRequest('since: expected a span like 7d, 24h or 30m, or "all"');
      }
      return reply(res, 200, await gw.shadow.report(query.get('route') ?? undefined, since));
    }
    if (path === '/admin/replay') {
      if (method !== 'POST') return reply(res, 405, errorBody('invalid_request_error', `${method} ${path}: use POST`));
      const request = replayRequest(await readObject(req), Date.now());
      const gone = new AbortController();
      // The client that asked gave up: so does the replay.
      res.once('close', () => gone.abort());
      return reply(res, 200, await replay(gw, { ...request, signal: gone.signal }));
    }
    if (path === '/admin/traffic') {
      if (method !== 'GET') return reply(res, 405, errorBody('invalid_request_error', `${method} ${path}: use GET`));
      return reply(res, 200, gw.traffic.status());
    }
    if (method !== 'POST') return reply(res, 405, errorBody('invalid_request_error', `${method} ${path}: use POST`));
    if (path.startsWith('/admin/flags/')) {
      return reply(res, 200, await gw.traffic.flip(nameAfter(path, '/admin/flags/'), flagChange(await readObject(req))));
    }
    return reply(res, 200, await gw.traffic.changeCanary(nameAfter(path, '/admin/canary/'), canaryChange(await readObject(req))));
  } catch (error) {
    if (error instanceof BadRequest || error instanceof ReplayError) return reply(res, 400, errorBody('invalid_request_error', error.message));
    if (error instanceof UnknownSwitch) return reply(res, 404, errorBody('not_found_error', error.message));
    throw error;
  }
}
