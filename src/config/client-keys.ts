/**
 * Client keys (server.auth.keys and admin.keys): which configured key a credential is, compared in
 * constant time, and the names a key goes by where the key itself must never appear.
 */
import { createHash, timingSafeEqual } from 'node:crypto';

const digest = (value: string): Buffer => createHash('sha256').update(value).digest();

/**
 * The position of `credential` in `keys`, or -1. Digests are compared in constant time and every
 * key is looked at, so the time taken says nothing about how much of a key was guessed, or which.
 */
export function findKey(keys: readonly string[], credential: string): number {
  const given = digest(credential);
  let found = -1;
  keys.forEach((key, i) => {
    if (timingSafeEqual(given, digest(key)) && found < 0) found = i;
  });
  return found;
}

/** Usage and cost name a client by its key's position, never by the key itself. */
export function clientKeyId(index: number): string {
  return `client-${index}`;
}

/**
 * The owner id of a client credential: a hash, so nothing secret is stored with a batch, and of the
 * key itself rather than its position, so reordering server.auth.keys changes no one's batches.
 */
export function ownerOf(credential: string): string {
  return createHash('sha256').update(`spillway-owner:${credential}`).digest('hex').slice(0, 16);
}

/** The client key id of an owner (a batch keeps only its owner), or undefined if its key is no longer configured. */
export function clientKeyIdOfOwner(keys: readonly string[], owner: string): string | undefined {
  const index = keys.findIndex((key) => ownerOf(key) === owner);
  return index < 0 ? undefined : clientKeyId(index);
}
