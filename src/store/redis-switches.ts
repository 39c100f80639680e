/**
 * Traffic switches shared by every replica: one Redis hash (`flag:NAME` → 1|0, `canary:ROUTE` →
 * share), written at once by the replica that sets it and read by every replica every
 * REFRESH_MS, so a flip on one replica is obeyed by all well within a second. While Redis is out
 * of reach a replica keeps the last state it read.
 */
import { emptySwitchState, MemorySwitches, type SwitchState } from '../routing/switches.js';
import { Cluster, type Redis } from 'ioredis';
import type { RedisStore } from './redis-store.js';

const REFRESH_MS = 250;

export function parseSwitches(hash: unknown): SwitchState | undefined {
  // HGETALL answers an object; anything else is no reading of the switches.
  if (typeof hash !== 'object' || hash === null || Array.isArray(hash)) return undefined;
  const state = emptySwitchState();
  for (const [field, value] of Object.entries(hash as Record<string, string>)) {
    if (field.startsWith('flag:')) state.flags[field.slice(5)] = value === '1';
    else if (field.startsWith('canary:')) {
      const share = Number(value);
      if (Number.isFinite(share) && share >= 0 && share <= 1) state.canary[field.slice(7)] = share;
    }
  }
  return state;
}

function sameState(a: SwitchState, b: SwitchState): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

export class RedisSwitches extends MemorySwitches {
  private readonly key: string;
  /**
   * A connection of its own, without auto-pipelining: the poll runs four times a second whatever
   * the load, and must neither wait behind nor be batched with admission scripts.
   */
  private readonly client: Redis | Cluster;
  private readonly timer: ReturnType<typeof setInterval>;
  private refreshing: Promise<void> | undefined;
  private closed = false;

  constructor(store: RedisStore) {
    super();
    this.key = store.key('switches');
    this.client = store.client instanceof Cluster ? store.client.duplicate([], { enableAutoPipelining: false }) : store.client.duplicate({ enableAutoPipelining: false });
    this.client.on('error', () => {}); // the shared store reports outages
    this.timer = setInterval(() => void this.refresh(), REFRESH_MS);
    this.timer.unref();
    void this.refresh();
  }

  override async setFlag(name: string, on: boolean): Promise<void> {
    await this.client.hset(this.key, `flag:${name}`, on ? '1' : '0');
    await super.setFlag(name, on);
  }

  override async setCanaryShare(route: string, share: number): Promise<void> {
    await this.client.hset(this.key, `canary:${route}`, String(share));
    await super.setCanaryShare(route, share);
  }

  /** Reads the shared state; a failed read keeps the last one. */
  refresh(): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.refreshing ??= this.read().finally(() => (this.refreshing = undefined));
    return this.refreshing;
  }

  private async read(): Promise<void> {
    try {
      const next = parseSwitches(await this.client.hgetall(this.key));
      if (next && !sameState(next, this.current())) this.replace(next);
    } catch {
      // Redis is out of reach: RedisStore reports the outage; the last state holds meanwhile.
    }
  }

  override async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.timer);
    await this.refreshing;
    this.client.disconnect();
  }
}
