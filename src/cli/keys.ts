/**
 * `spillway keys create --tenant ci | list | revoke ID`: the admin API's runtime tenant keys
 * (server/admin-keys.ts) from a shell, against a running gateway (--url, --key, or SPILLWAY_URL
 * and SPILLWAY_ADMIN_KEY).
 */
import { callAdmin, type AdminTarget } from './admin-client.js';

export type KeysAction = { action: 'create'; tenant: string } | { action: 'list' } | { action: 'revoke'; id: string };

interface Listed {
  id: string;
  tenant: string;
  createdAt: number;
  revokedAt: number | null;
}

/** Runs one action; the text to print, or throws with the gateway's own message. */
export async function keysCommand(target: AdminTarget, request: KeysAction): Promise<string> {
  const path = request.action === 'revoke' ? `/admin/keys/${encodeURIComponent(request.id)}` : '/admin/keys';
  const method = request.action === 'create' ? 'POST' : request.action === 'revoke' ? 'DELETE' : 'GET';
  const body = (await callAdmin(target, method, path, request.action === 'create' ? { tenant: request.tenant } : undefined)) as Record<string, unknown>;
  switch (request.action) {
    case 'create':
      return `Created ${String(body.id)} for tenant ${String(body.tenant)}. The key is shown this once; store it now:\n${String(body.key)}`;
    case 'revoke':
      return `Revoked ${request.id}.`;
    case 'list': {
      const keys = body.data as Listed[];
      if (keys.length === 0) return 'No runtime keys.';
      return keys
        .map((key) => `${key.id}  ${key.tenant}  created ${new Date(key.createdAt).toISOString()}${key.revokedAt ? `  revoked ${new Date(key.revokedAt).toISOString()}` : ''}`)
        .join('\n');
    }
  }
}
