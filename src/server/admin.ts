/**
 * The operator's side of the gateway: Prometheus metrics, the live dashboard and its feed. Behind
 * admin.keys, or server.auth.keys when those are not set; open only when neither is (and then
 * spillway listens on loopback). A browser cannot put a header on a page load or an EventSource,
 * so the key may also come as `?key=`.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { findKey } from '../config/client-keys.js';
import { isTrafficPath, serveTraffic } from './admin-traffic.js';
import type { Gateway } from './gateway.js';

const WEB_DIR = fileURLToPath(new URL('../../web/', import.meta.url));

/** The dashboard's files; they hold no data, so they need no key. */
const ASSETS: Record<string, { file: string; type: string }> = {
  '/dashboard/app.js': { file: 'app.js', type: 'text/javascript; charset=utf-8' },
  '/dashboard/style.css': { file: 'style.css', type: 'text/css; charset=utf-8' },
  '/favicon.ico': { file: 'favicon.svg', type: 'image/svg+xml' },
};

const FEED_INTERVAL_MS = 1_000;

export function isAdminPath(path: string): boolean {
  return path === '/' || path === '/metrics' || path === '/admin/state' || path === '/admin/events' || path in ASSETS || isTrafficPath(path);
}

const fileCache = new Map<string, Buffer>();
function webFile(name: string): Buffer {
  let data = fileCache.get(name);
  if (!data) {
    data = readFileSync(WEB_DIR + name);
    fileCache.set(name, data);
  }
  return data;
}

function credentialOf(req: IncomingMessage, query: URLSearchParams): string | undefined {
  const apiKey = req.headers['x-api-key'];
  if (typeof apiKey === 'string' && apiKey !== '') return apiKey;
  const authorization = req.headers.authorization;
  if (authorization?.startsWith('Bearer ')) return authorization.slice(7).trim();
  return query.get('key') ?? undefined;
}

/** Admin keys, else the client keys; an empty list means no auth. */
export function adminKeys(gw: Gateway): string[] {
  return gw.config.admin.keys.length > 0 ? gw.config.admin.keys : gw.config.server.auth.keys;
}

function authorized(gw: Gateway, req: IncomingMessage, query: URLSearchParams): boolean {
  const keys = adminKeys(gw);
  if (keys.length === 0) return true;
  const credential = credentialOf(req, query);
  return credential !== undefined && findKey(keys, credential) >= 0;
}

function send(res: ServerResponse, status: number, type: string, body: string | Buffer, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body), 'cache-control': 'no-store', ...headers });
  res.end(body);
}

const LOGIN_PAGE = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>spillway · sign in</title>
<link rel="stylesheet" href="/dashboard/style.css"></head><body class="login"><form method="get" action="/">
<h1>spillway</h1><p>This dashboard needs an admin key.</p><input type="password" name="key" placeholder="admin key" autofocus>
<button type="submit">Open dashboard</button></form></body></html>`;

export async function serveAdmin(gw: Gateway, req: IncomingMessage, res: ServerResponse, path: string, query: URLSearchParams, method = 'GET'): Promise<void> {
  const asset = ASSETS[path];
  if (asset) return send(res, 200, asset.type, webFile(asset.file), { 'cache-control': 'no-cache' });
  if (!authorized(gw, req, query)) {
    if (path === '/') return send(res, 401, 'text/html; charset=utf-8', LOGIN_PAGE);
    const body = JSON.stringify({ error: { type: 'authentication_error', message: 'an admin key is needed: send it as x-api-key, Authorization: Bearer, or ?key=' } });
    return send(res, 401, 'application/json', body, { 'www-authenticate': 'Bearer realm="spillway admin"' });
  }
  if (isTrafficPath(path)) return serveTraffic(gw, req, res, method, path, query);
  const { observability } = gw;
  switch (path) {
    case '/':
      return send(res, 200, 'text/html; charset=utf-8', webFile('index.html'));
    case '/metrics':
      return send(res, 200, observability.metrics.contentType, await observability.metrics.text());
    case '/admin/state':
      return send(res, 200, 'application/json', JSON.stringify(await observability.dashboard()));
    case '/admin/events':
      return streamState(gw, req, res);
  }
}

/** Server-sent events: the dashboard's state now and then every second until the page goes away. */
function streamState(gw: Gateway, req: IncomingMessage, res: ServerResponse): void {
  res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', connection: 'keep-alive' });
  let busy = false;
  const push = async () => {
    // A slow store must not pile up snapshots.
    if (busy) return;
    busy = true;
    try {
      const state = await gw.observability.dashboard();
      if (!res.destroyed) res.write(`event: state\ndata: ${JSON.stringify(state)}\n\n`);
    } catch (error) {
      gw.log(`spillway: dashboard feed failed: ${error instanceof Error ? error.message : String(error)}`);
    } finally {
      busy = false;
    }
  };
  void push();
  const timer = setInterval(() => void push(), FEED_INTERVAL_MS);
  const stop = () => clearInterval(timer);
  req.on('close', stop);
  res.on('close', stop);
}
