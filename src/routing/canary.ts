/**
 * Which side of a canary a request is on. Each identity (a tenant, a user) has a fixed point in
 * [0, 1) per route, and is on the candidate's side while that point is below the share. Raising
 * the share therefore only moves identities from the primary to the candidate, and lowering it
 * only moves them back: nobody flips back and forth between steps.
 *
 * The points: the n-th identity a route sees gets frac(n / φ) (canary-points.ts keeps who is n,
 * shared across replicas). That sequence spreads evenly at every prefix, so 0.3 puts 30 of the
 * first 100 users on the candidate (independent hashes would put 30 ± 9 there, 95% of the time).
 * Where the registry cannot be read, the identity's hash stands in.
 */
import { createHash } from 'node:crypto';
import type { CanaryConfig } from '../config/schema.js';

export type CanarySide = 'primary' | 'candidate';

const INVERSE_GOLDEN = (Math.sqrt(5) - 1) / 2;

/** The point of the n-th identity (n ≥ 1) of a route: frac(n / φ), even at every prefix. */
export function sequencePoint(n: number): number {
  return (n * INVERSE_GOLDEN) % 1;
}

/** The identity's hashed point in [0, 1) on this route: uniform, but only as even as chance. */
export function canaryPoint(route: string, identity: string): number {
  const digest = createHash('sha256').update(route).update('\0').update(identity).digest();
  return digest.readUInt32BE(0) / 2 ** 32;
}

export function canarySide(point: number, share: number): CanarySide {
  return point < share ? 'candidate' : 'primary';
}

type HeaderValue = string | string[] | undefined;

const first = (value: HeaderValue): string | undefined => (Array.isArray(value) ? value[0] : value);

/** The user a request is for: `x-spillway-user`, else Anthropic's `metadata.user_id`, else OpenAI's `user`. */
export function userOf(body: Record<string, unknown>, headers: Record<string, HeaderValue>): string | undefined {
  const header = first(headers['x-spillway-user']);
  if (header) return header;
  const metadata = body.metadata as { user_id?: unknown } | undefined;
  if (metadata && typeof metadata.user_id === 'string' && metadata.user_id !== '') return metadata.user_id;
  return typeof body.user === 'string' && body.user !== '' ? body.user : undefined;
}

/**
 * What keeps a request on one side: its tenant (the client key's owner id), its user, or nothing
 * (undefined: the request is its own identity). A request without a user falls to its tenant.
 */
export function canaryIdentity(by: CanaryConfig['by'], body: Record<string, unknown>, headers: Record<string, HeaderValue>, tenant: string): string | undefined {
  if (by === 'request') return undefined;
  if (by === 'user') {
    const user = userOf(body, headers);
    if (user !== undefined) return `user:${user}`;
  }
  return `tenant:${tenant}`;
}

/** The share after a promotion: the first step above the current share (the last step at the top). */
export function promoted(steps: readonly number[], share: number): number {
  const sorted = [...steps].sort((a, b) => a - b);
  return sorted.find((step) => step > share) ?? sorted[sorted.length - 1] ?? share;
}

/** The share after a demotion: the last step below the current share, else 0. */
export function demoted(steps: readonly number[], share: number): number {
  const sorted = [...steps].sort((a, b) => b - a);
  return sorted.find((step) => step < share) ?? 0;
}
