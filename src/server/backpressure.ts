import type { ServerResponse } from 'node:http';

/**
 * Resolves when the client has taken the buffered bytes (`drain`) or gone (`close`, `error`).
 * Every listener is removed as soon as one fires: a slow client that waits thousands of times on
 * one response must not pile up listeners on it.
 */
export function drained(res: ServerResponse): Promise<void> {
  if (res.destroyed) return Promise.resolve();
  return new Promise<void>((resolve) => {
    const done = () => {
      res.off('drain', done);
      res.off('close', done);
      res.off('error', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
    res.on('error', done);
  });
}
