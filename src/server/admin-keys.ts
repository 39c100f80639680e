/**
 * Tenant keys at runtime, for admin keys only: POST /admin/keys {"tenant": "ci"} makes a key (shown
 * in this answer and never again), GET /admin/keys lists them (ids, tenants, dates; never a key),
 * DELETE /admin/keys/{id} revokes one. `spillway keys` drives the same endpoints.
 */
import type { Exchange } from './exchange.js';
import type { Gateway } from './gateway.js';
import { authorized } from './admin.js';
import { readJsonBody } from './request-body.js';

export const ADMIN_KEYS_PATH = '/admin/keys';

function send(exchange: Exchange, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  exchange.res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store' });
  exchange.res.end(text);
}

const fault = (type: string, message: string) => ({ error: { type, message } });

export async function serveAdminKeys(gw: Gateway, exchange: Exchange, method: string, path: string): Promise<void> {
  if (!authorized(gw, exchange.req, new URLSearchParams())) return send(exchange, 401, fault('authentication_error', 'an admin key is needed (admin.keys)'));
  const store = gw.tenants.keyStore;
  if (!store) return send(exchange, 404, fault('not_found_error', 'runtime keys need tenants in config'));
  if (path === ADMIN_KEYS_PATH && method === 'GET') return send(exchange, 200, { data: store.list() });
  if (path === ADMIN_KEYS_PATH && method === 'POST') {
    let body: { tenant?: unknown } | null = null;
    try {
      body = JSON.parse((await readJsonBody(exchange.req, 64 * 1024)).toString('utf8')) as { tenant?: unknown } | null;
    } catch {
      // Answered below as a missing tenant.
    }
    const tenant = typeof body?.tenant === 'string' ? body.tenant : undefined;
    if (tenant === undefined || !gw.tenants.get(tenant) || tenant.startsWith('client-')) {
      const known = gw.tenants.list().filter((t) => !t.name.startsWith('client-')).map((t) => t.name);
      return send(exchange, 400, fault('invalid_request_error', `tenant: expected one of the configured tenants (${known.join(', ')}), got ${JSON.stringify(body?.tenant ?? null)}`));
    }
    const created = store.create(tenant);
    gw.tenants.refresh();
    return send(exchange, 201, created);
  }
  const id = path.slice(ADMIN_KEYS_PATH.length + 1);
  if (method === 'DELETE' && id !== '' && !id.includes('/')) {
    if (!store.revoke(id)) return send(exchange, 404, fault('not_found_error', `no key in service with id ${id}`));
    gw.tenants.refresh();
    return send(exchange, 200, { id, revoked: true });
  }
  return send(exchange, 404, fault('not_found_error', `${method} ${path} is not an admin endpoint`));
}
