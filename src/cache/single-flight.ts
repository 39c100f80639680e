/**
 * Identical requests in flight share one upstream call.
 *
 * Design: the first request for a key is the leader and runs the call; later ones are followers
 * and wait for the leader's result. For streaming that result is the completed cache entry: the
 * leader streams to its own client while it accumulates, resolves with the entry at the end, and
 * each follower (streaming or not) serves it from there, replaying it as SSE if it asked to
 * stream. Followers therefore see their first byte when the leader's answer is complete.
 *
 * A failure is never shared as a result: the flight is forgotten the moment the leader fails, and
 * its followers join again, so one of them becomes the new leader with its own `run` (its own
 * deadline, key choice and retries) and the rest follow it. After `maxRejoins` failed leaders a
 * follower gets the last error.
 */

export type FlightRole = 'leader' | 'follower';

export interface Flight<T> {
  role: FlightRole;
  result: Promise<T>;
}

export interface SingleFlightOptions {
  /** How many failed leaders a follower outlives before giving up (default 1). */
  maxRejoins?: number;
}

export class SingleFlight<T> {
  private readonly flights = new Map<string, Promise<T>>();
  private readonly maxRejoins: number;

  constructor(options: SingleFlightOptions = {}) {
    this.maxRejoins = options.maxRejoins ?? 1;
  }

  /** The shared result; `run` is called only if this caller ends up leading. */
  join(key: string, run: () => Promise<T>): Promise<T> {
    return this.enter(key, run).result;
  }

  /**
   * Like join, and says whether this caller leads (and must stream to its client itself) or
   * follows (and will serve the leader's result). A follower whose leader fails may be promoted:
   * `result` then settles with its own run.
   */
  enter(key: string, run: () => Promise<T>, rejoinsLeft: number = this.maxRejoins): Flight<T> {
    const current = this.flights.get(key);
    if (current) {
      const result = current.catch((error: unknown) => {
        if (rejoinsLeft <= 0) throw error;
        return this.enter(key, run, rejoinsLeft - 1).result;
      });
      return { role: 'follower', result };
    }
    const result = Promise.resolve().then(run);
    this.flights.set(key, result);
    // Forget the flight once it settles, so neither a result nor a failure outlives it here
    // (successful results live in the cache store, with its TTL).
    const forget = (): void => {
      if (this.flights.get(key) === result) this.flights.delete(key);
    };
    result.then(forget, forget);
    return { role: 'leader', result };
  }

  inFlight(key: string): boolean {
    return this.flights.has(key);
  }

  get size(): number {
    return this.flights.size;
  }
}
