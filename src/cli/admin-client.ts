/**
 * The CLI's side of the admin API: `spillway flag`, `canary`, `shadow report`, `replay`, `keys` and
 * `tenants` talk to a running gateway (every replica shares what one is told, with Redis).
 */
export interface AdminTarget {
  /** The gateway's base URL. */
  url: string;
  /** An admin key (admin.keys, else one of server.auth.keys). */
  key?: string | undefined;
}

export const DEFAULT_ADMIN_URL = 'http://127.0.0.1:4000';

/** Sends one admin call; a refusal becomes an Error carrying the gateway's own message. */
export async function callAdmin(target: AdminTarget, method: 'GET' | 'POST' | 'PATCH' | 'DELETE', path: string, body?: unknown): Promise<unknown> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (target.key) headers.authorization = `Bearer ${target.key}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  let response: Response;
  try {
    response = await fetch(new URL(path, target.url), { method, headers, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
  } catch (error) {
    throw new Error(`could not reach spillway at ${target.url} (${error instanceof Error ? error.message : String(error)}); pass --url`);
  }
  const text = await response.text();
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = text;
  }
  if (!response.ok) {
    const message = (parsed as { error?: { message?: string } }).error?.message ?? text;
    throw new Error(`${method} ${path}: ${response.status} ${message}`);
  }
  return parsed;
}

export function flagPath(name: string): string {
  return `/admin/flags/${encodeURIComponent(name)}`;
}

export function canaryPath(route: string): string {
  return `/admin/canary/${encodeURIComponent(route)}`;
}
