/**
 * Tenants at runtime, for admin keys only: GET /admin/tenants lists every tenant with its settings,
 * its queue, its share of recent admissions and its spend against its budgets; GET
 * /admin/tenants/{name} shows one; PATCH /admin/tenants/{name} changes its limits, budget, weight,
 * priority or longest wait without a restart, for every replica sharing the store (a JSON merge
 * patch: `null` puts a setting back to what config says). `spillway tenants` drives the same endpoints.
 */
import type { Exchange } from './exchange.js';
import type { Gateway } from './gateway.js';
import { authorized } from './admin.js';
import { readJsonBody } from './request-body.js';
import { tenantPatchSchema } from '../tenants/overrides.js';

export const ADMIN_TENANTS_PATH = '/admin/tenants';

function send(exchange: Exchange, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  exchange.res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store' });
  exchange.res.end(text);
}

const fault = (type: string, message: string) => ({ error: { type, message } });

/** Each tenant as the dashboard shows it, with what was changed at runtime. */
function rows(gw: Gateway, name?: string) {
  return gw.observability
    .tenants()
    .filter((tenant) => name === undefined || tenant.name === name)
    .map((tenant) => ({ ...tenant, override: gw.tenants.overrideOf(tenant.name) }));
}

export async function serveAdminTenants(gw: Gateway, exchange: Exchange, method: string, path: string): Promise<void> {
  if (!authorized(gw, exchange.req, new URLSearchParams())) return send(exchange, 401, fault('authentication_error', 'an admin key is needed (admin.keys)'));
  if (path === ADMIN_TENANTS_PATH && method === 'GET') return send(exchange, 200, { data: rows(gw) });
  const name = decodeURIComponent(path.slice(ADMIN_TENANTS_PATH.length + 1));
  if (name === '' || name.includes('/')) return send(exchange, 404, fault('not_found_error', `${method} ${path} is not an admin endpoint`));
  if (!gw.tenants.get(name)) {
    const known = gw.tenants.list().map((tenant) => tenant.name);
    return send(exchange, 404, fault('not_found_error', `no tenant "${name}" (tenants: ${known.join(', ') || 'none'})`));
  }
  if (method === 'GET') return send(exchange, 200, rows(gw, name)[0]);
  if (method === 'PATCH') {
    let body: unknown;
    try {
      body = JSON.parse((await readJsonBody(exchange.req, 64 * 1024)).toString('utf8'));
    } catch {
      return send(exchange, 400, fault('invalid_request_error', 'the body is not JSON: expected {"limits": {...}, "budget": {...}, "weight": n, "priority": "interactive"|"batch", "max_wait": "30s"}'));
    }
    const parsed = tenantPatchSchema.safeParse(body);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      return send(exchange, 400, fault('invalid_request_error', `${issue.path.join('.') || 'body'}: ${issue.message}`));
    }
    try {
      await gw.tenants.patch(name, parsed.data);
    } catch (error) {
      gw.log(`spillway: could not change tenant ${name}: ${error instanceof Error ? error.message : String(error)}`);
      return send(exchange, 503, fault('overloaded_error', 'the tenant store is unreachable right now; retry shortly'));
    }
    return send(exchange, 200, rows(gw, name)[0]);
  }
  return send(exchange, 405, fault('invalid_request_error', `${method} is not allowed on ${path}: GET or PATCH`));
}
