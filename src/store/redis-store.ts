/**
 * The connection to Redis shared by every Redis-backed pool (and cache) of one gateway process:
 * the scripts, the replica heartbeat, and whether Redis is reachable right now.
 *
 * Reachability is one flag for the whole process: a failed command or a closed connection marks
 * Redis down at once (pools then serve from their per-replica fallback); only a heartbeat that
 * succeeds marks it up again, so a flapping connection does not flip state on every command.
 */
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { SCRIPTS, type ScriptName } from './redis-scripts.js';

export interface RedisStoreOptions {
  url: string;
  /** Prepended to every Redis key, so several gateways can share one server. */
  prefix: string;
  /** Configured replica count; else the count seen in Redis while it was up. */
  replicas?: number;
  /** How often to heartbeat (and probe Redis while it is down); 0: never (tests drive it). */
  heartbeatMs?: number;
  /** A command slower than this counts as Redis being down. */
  commandTimeoutMs?: number;
  log?: (message: string) => void;
  now?: () => number;
}

type ScriptCall = (...args: Array<string | number>) => Promise<unknown>;
type Listener = (degraded: boolean) => void;

const DEFAULT_HEARTBEAT_MS = 1000;
const DEFAULT_COMMAND_TIMEOUT_MS = 500;
/** A replica that missed this many heartbeats no longer counts. */
const HEARTBEATS_TO_LIVE = 3;

/** host:port of a Redis URL, without credentials, for log lines. */
function whereIs(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.hostname}:${parsed.port || '6379'}`;
  } catch {
    return 'the configured Redis';
  }
}

export class RedisStore {
  readonly client: Redis;
  readonly prefix: string;
  readonly replicaId = randomBytes(6).toString('hex');
  private readonly configuredReplicas: number | undefined;
  private seenReplicas: number | undefined;
  private down = false;
  private readonly listeners = new Set<Listener>();
  private readonly tickListeners = new Set<() => void>();
  private readonly log: (message: string) => void;
  private readonly where: string;
  private readonly heartbeatMs: number;
  /** The clock replicas' scripts are run with (a fake one in tests). */
  readonly now: () => number;
  private timer: ReturnType<typeof setInterval> | undefined;
  private users = 0;
  private closed = false;

  constructor(options: RedisStoreOptions) {
    this.prefix = options.prefix;
    this.configuredReplicas = options.replicas;
    this.log = options.log ?? (() => {});
    this.where = whereIs(options.url);
    this.heartbeatMs = options.heartbeatMs ?? DEFAULT_HEARTBEAT_MS;
    this.now = options.now ?? Date.now;
    this.client = new Redis(options.url, {
      // Commands wait for the first connection, but never longer than the timeout: during an
      // outage the pools stop sending (they serve locally) and only the heartbeat probes.
      commandTimeout: options.commandTimeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS,
      maxRetriesPerRequest: 0,
      retryStrategy: () => 250,
      connectTimeout: 2000,
      enableAutoPipelining: true,
      lazyConnect: false,
    });
    for (const [name, lua] of Object.entries(SCRIPTS)) this.client.defineCommand(name, { lua });
    this.client.on('error', () => {}); // reported through markDown; ioredis would otherwise print each retry
    this.client.on('close', () => {
      if (!this.closed) this.markDown(new Error('connection closed'));
    });
    this.client.on('ready', () => void this.heartbeat());
    if (this.heartbeatMs > 0) {
      this.timer = setInterval(() => void this.heartbeat(), this.heartbeatMs);
      this.timer.unref();
    }
  }

  /** True while Redis is out of reach and pools serve this replica's share of each limit. */
  get degraded(): boolean {
    return this.down;
  }

  /** How many replicas share the limits: configured, else last seen in Redis, else 1. */
  get replicas(): number {
    return this.configuredReplicas ?? this.seenReplicas ?? 1;
  }

  /** How many replicas the heartbeats last counted (undefined before the first). */
  get liveReplicas(): number | undefined {
    return this.seenReplicas;
  }

  /** A Redis key of this deployment. */
  key(...parts: string[]): string {
    return this.prefix + parts.join(':');
  }

  run(name: ScriptName, keys: string[], args: Array<string | number>): Promise<unknown> {
    const call = (this.client as unknown as Record<string, ScriptCall>)[name]!;
    return call.call(this.client, keys.length, ...keys, ...args);
  }

  /** Degraded-mode changes (true: Redis down). */
  onChange(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Each successful heartbeat, for pools that keep a recent picture of the shared state. */
  onHeartbeat(listener: () => void): () => void {
    this.tickListeners.add(listener);
    return () => this.tickListeners.delete(listener);
  }

  markDown(error: unknown): void {
    if (this.down || this.closed) return;
    this.down = true;
    const reason = error instanceof Error ? error.message : String(error);
    // Redis answering with an error (a failed script, OOM, a read-only replica) is no outage, but
    // shared state cannot be trusted either: serve the same way, and say what Redis said.
    const what = error instanceof Error && error.name === 'ReplyError' ? 'answered with an error' : 'is unreachable';
    this.log(`spillway: warning: Redis at ${this.where} ${what} (${reason}); serving with this replica's share (1/${this.replicas}) of each limit until it returns`);
    for (const listener of this.listeners) listener(true);
  }

  /** Registers this replica and counts the live ones; also the probe that ends degraded mode. */
  async heartbeat(): Promise<boolean> {
    if (this.closed) return false;
    try {
      const ttl = Math.max(this.heartbeatMs, DEFAULT_HEARTBEAT_MS) * HEARTBEATS_TO_LIVE;
      const count = Number(await this.run('spillwayHeartbeat', [this.key('replicas')], [this.now(), this.replicaId, ttl]));
      if (count > 0) this.seenReplicas = count;
    } catch (error) {
      this.markDown(error);
      return false;
    }
    if (this.down) {
      // Listeners replay what they deferred before the flag clears, so it reaches Redis first.
      for (const listener of this.listeners) listener(false);
      this.down = false;
      this.log(`spillway: Redis at ${this.where} is reachable again; limits are shared across replicas again`);
    }
    for (const listener of this.tickListeners) listener();
    return true;
  }

  /** Pools and caches hold the store; the last one to let go closes the connection. */
  retain(): void {
    this.users++;
  }

  async release(): Promise<void> {
    this.users--;
    if (this.users <= 0) await this.close();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    if (this.timer) clearInterval(this.timer);
    if (!this.down) {
      await this.run('spillwayHeartbeat', [this.key('replicas')], [this.now(), this.replicaId, 0]).catch(() => undefined);
    }
    this.closed = true;
    this.client.disconnect();
  }
}
