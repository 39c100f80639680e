/**
 * The connection to Redis shared by every Redis-backed pool (and cache) of one gateway process:
 * the scripts, the replica heartbeat, and whether Redis is reachable right now.
 *
 * On one server reachability is one flag for the whole process: a failed command or a closed
 * connection marks Redis down at once (pools then serve from their per-replica fallback); only a
 * heartbeat that succeeds marks it up again, so a flapping connection does not flip state on every
 * command. On a Redis Cluster each hash tag (a pool's `{provider}`) is reachable or not on its own:
 * a lost node sends only the pools whose slots it held to their fallback, and the heartbeat probes
 * each of them until it answers again.
 */
import { createHash, randomBytes } from 'node:crypto';
import { Cluster, Redis } from 'ioredis';
import { SCRIPTS, type ScriptName } from './redis-scripts.js';

export interface RedisStoreOptions {
  /** One Redis server (`store.type: redis`). */
  url?: string;
  /** A Redis Cluster's seed nodes (`store.type: redis-cluster`); the rest are discovered. */
  nodes?: string[];
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

type Listener = (degraded: boolean) => void;

const DEFAULT_HEARTBEAT_MS = 1000;
const DEFAULT_COMMAND_TIMEOUT_MS = 500;
/** A replica that missed this many heartbeats no longer counts. */
const HEARTBEATS_TO_LIVE = 3;
/** The reachability of everything not kept under a hash tag of its own (and, on one server, of everything). */
const WHOLE = '';
/** On a cluster, the hash tag of the keys read together across features (see sharedPrefix). */
const SHARED_TAG = 'shared';

/** host:port of a Redis URL, without credentials, for log lines. */
function whereIs(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.hostname}:${parsed.port || '6379'}`;
  } catch {
    return 'the configured Redis';
  }
}

/** A cluster seed node (`redis://[user:pass@]host:port`) as ioredis's Cluster takes it. */
function seedOf(url: string): { host: string; port: number } {
  const parsed = new URL(url);
  return { host: parsed.hostname, port: Number(parsed.port || 6379) };
}

/** Credentials and TLS come from the first node's URL: a cluster's nodes share them. */
function nodeOptionsOf(url: string): { username?: string; password?: string; tls?: object } {
  const parsed = new URL(url);
  const out: { username?: string; password?: string; tls?: object } = {};
  if (parsed.username) out.username = decodeURIComponent(parsed.username);
  if (parsed.password) out.password = decodeURIComponent(parsed.password);
  if (parsed.protocol === 'rediss:') out.tls = {};
  return out;
}

export class RedisStore {
  readonly client: Redis | Cluster;
  /** True on a Redis Cluster: reachability is per hash tag. */
  readonly clustered: boolean;
  readonly prefix: string;
  readonly replicaId = randomBytes(6).toString('hex');
  private readonly configuredReplicas: number | undefined;
  private seenReplicas: number | undefined;
  /** What is out of reach: WHOLE, or on a cluster also hash tags. */
  private readonly down = new Set<string>();
  private readonly listeners = new Map<string, Set<Listener>>();
  private readonly tickListeners = new Set<() => void>();
  private readonly log: (message: string) => void;
  private readonly where: string;
  private readonly heartbeatMs: number;
  /** The clock replicas' scripts are run with (a fake one in tests). */
  readonly now: () => number;
  private readonly scripts = Object.fromEntries(
    Object.entries(SCRIPTS).map(([name, lua]) => [name, { lua, sha: createHash('sha1').update(lua).digest('hex') }]),
  ) as Record<ScriptName, { lua: string; sha: string }>;
  private timer: ReturnType<typeof setInterval> | undefined;
  private users = 0;
  private closed = false;

  constructor(options: RedisStoreOptions) {
    this.prefix = options.prefix;
    this.configuredReplicas = options.replicas;
    this.log = options.log ?? (() => {});
    this.heartbeatMs = options.heartbeatMs ?? DEFAULT_HEARTBEAT_MS;
    this.now = options.now ?? Date.now;
    const connection = {
      // Commands wait for the first connection, but never longer than the timeout: during an
      // outage the pools stop sending (they serve locally) and only the heartbeat probes.
      commandTimeout: options.commandTimeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS,
      maxRetriesPerRequest: 0,
      connectTimeout: 2000,
    };
    this.clustered = options.nodes !== undefined;
    if (options.nodes) {
      const [first = 'redis://127.0.0.1:6379'] = options.nodes;
      this.where = `the Redis Cluster at ${options.nodes.map(whereIs).join(', ')}`;
      this.client = new Cluster(options.nodes.map(seedOf), {
        redisOptions: { ...connection, ...nodeOptionsOf(first) },
        enableAutoPipelining: true,
        // A lost node's slots fail fast (the pools on them fall back); the map is re-read meanwhile.
        clusterRetryStrategy: () => 250,
        retryDelayOnFailover: 100,
        retryDelayOnClusterDown: 100,
        slotsRefreshTimeout: 1000,
        slotsRefreshInterval: 5000,
      });
    } else {
      const url = options.url ?? 'redis://127.0.0.1:6379';
      this.where = `Redis at ${whereIs(url)}`;
      this.client = new Redis(url, { ...connection, retryStrategy: () => 250, enableAutoPipelining: true, lazyConnect: false });
    }
    this.client.on('error', () => {}); // reported through markDown; ioredis would otherwise print each retry
    let connected = false;
    this.client.on('close', () => {
      // A cluster client closes its first connection while it reads the slot map: no outage.
      if (!this.closed && (connected || !this.clustered)) this.markDown(new Error('connection closed'));
    });
    this.client.on('ready', () => {
      connected = true;
      void this.heartbeat();
    });
    if (this.heartbeatMs > 0) {
      this.timer = setInterval(() => void this.heartbeat(), this.heartbeatMs);
      this.timer.unref();
    }
  }

  /** True while Redis (on a cluster: the slot of the heartbeats and untagged keys) is out of reach. */
  get degraded(): boolean {
    return this.down.has(WHOLE);
  }

  /** True while the keys under hash tag `tag` are out of reach: on one server, while Redis is. */
  degradedFor(tag: string): boolean {
    return this.down.has(this.domainOf(tag));
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

  /**
   * Where keys that scripts read together across features live (heartbeats, batches, the semantic
   * log): the prefix itself on one server; on a cluster the prefix with the hash tag `{shared}`, so
   * they share one slot (the batch scripts read the heartbeats).
   */
  get sharedPrefix(): string {
    return this.clustered ? `${this.prefix}{${SHARED_TAG}}:` : this.prefix;
  }

  sharedKey(...parts: string[]): string {
    return this.sharedPrefix + parts.join(':');
  }

  /** A connection of its own (for blocking reads), with its own command timeout. */
  duplicate(commandTimeoutMs: number): Redis | Cluster {
    return this.client instanceof Cluster
      ? this.client.duplicate([], { redisOptions: { ...this.client.options.redisOptions, commandTimeout: commandTimeoutMs } })
      : this.client.duplicate({ commandTimeout: commandTimeoutMs });
  }

  /** Every server holding keys: the one, or each cluster primary (for scans). */
  primaries(): Redis[] {
    return this.client instanceof Cluster ? this.client.nodes('master') : [this.client];
  }

  /**
   * EVALSHA, and EVAL once when the server does not know the script yet (a new or restarted node).
   * Plain EVALSHA rather than ioredis's defined commands: auto-pipelining on a cluster groups
   * commands by their first key, which it finds in EVALSHA's arguments but not in a defined
   * command's (it would take the key count for a key and mix slots in one pipeline).
   */
  async run(name: ScriptName, keys: string[], args: Array<string | number>): Promise<unknown> {
    try {
      return await this.evalScript(name, keys, args);
    } catch (error) {
      if (!(this.client instanceof Cluster && error instanceof Error && /^(MOVED|ASK) /.test(error.message))) throw error;
      // An auto-pipelined command can come back with the redirection instead of following it (a
      // node that returned, a slot that moved): read the slot map again and send it once more.
      const cluster = this.client;
      await new Promise<void>((resolve) => cluster.refreshSlotsCache(() => resolve()));
      return this.evalScript(name, keys, args);
    }
  }

  private async evalScript(name: ScriptName, keys: string[], args: Array<string | number>): Promise<unknown> {
    const { lua, sha } = this.scripts[name];
    try {
      return await this.client.evalsha(sha, keys.length, ...keys, ...args);
    } catch (error) {
      if (!(error instanceof Error && error.message.startsWith('NOSCRIPT'))) throw error;
      return this.client.eval(lua, keys.length, ...keys, ...args);
    }
  }

  /** Degraded-mode changes (true: down) of hash tag `tag`'s keys; on one server, of Redis. */
  onChange(listener: Listener, tag = WHOLE): () => void {
    const domain = this.domainOf(tag);
    const set = this.listeners.get(domain) ?? new Set<Listener>();
    this.listeners.set(domain, set);
    set.add(listener);
    return () => set.delete(listener);
  }

  /** Each successful heartbeat, for pools that keep a recent picture of the shared state. */
  onHeartbeat(listener: () => void): () => void {
    this.tickListeners.add(listener);
    return () => this.tickListeners.delete(listener);
  }

  /** A command on hash tag `tag`'s keys failed: those keys (on one server, all) are out of reach. */
  markDown(error: unknown, tag = WHOLE): void {
    const domain = this.domainOf(tag);
    if (this.down.has(domain) || this.closed) return;
    this.down.add(domain);
    const reason = error instanceof Error ? error.message : String(error);
    // Redis answering with an error (a failed script, OOM, a read-only replica) is no outage, but
    // shared state cannot be trusted either: serve the same way, and say what Redis said.
    const what = error instanceof Error && error.name === 'ReplyError' ? 'answered with an error' : 'is unreachable';
    const which = domain === WHOLE ? '' : ` for {${domain}}`;
    const scope = domain === WHOLE ? 'each limit' : `each limit of ${domain}`;
    this.log(`spillway: warning: ${this.where}${which} ${what} (${reason}); serving with this replica's share (1/${this.replicas}) of ${scope} until it returns`);
    for (const listener of this.listeners.get(domain) ?? []) listener(true);
  }

  /** A hash tag's reachability on a cluster; on one server everything shares one. */
  private domainOf(tag: string): string {
    return this.clustered ? tag : WHOLE;
  }

  /** The tag is reachable again: listeners replay what they deferred before the flag clears, so it reaches Redis first. */
  private markUp(domain: string): void {
    for (const listener of this.listeners.get(domain) ?? []) listener(false);
    this.down.delete(domain);
    const which = domain === WHOLE ? '' : ` for {${domain}}`;
    const scope = domain === WHOLE ? 'limits are' : `the limits of ${domain} are`;
    this.log(`spillway: ${this.where}${which} is reachable again; ${scope} shared across replicas again`);
  }

  /** On a cluster, each hash tag out of reach is probed on a key of its slot. */
  private async probeTags(): Promise<void> {
    const tags = [...this.down].filter((domain) => domain !== WHOLE);
    await Promise.all(
      tags.map(async (tag) => {
        try {
          await this.client.exists(this.key(`{${tag}}`));
        } catch {
          return;
        }
        if (this.down.has(tag)) this.markUp(tag);
      }),
    );
  }

  /** Registers this replica and counts the live ones; also the probe that ends degraded mode. */
  async heartbeat(): Promise<boolean> {
    if (this.closed) return false;
    if (this.clustered) await this.probeTags();
    try {
      const ttl = Math.max(this.heartbeatMs, DEFAULT_HEARTBEAT_MS) * HEARTBEATS_TO_LIVE;
      const count = Number(await this.run('spillwayHeartbeat', [this.sharedKey('replicas')], [this.now(), this.replicaId, ttl]));
      if (count > 0) this.seenReplicas = count;
    } catch (error) {
      this.markDown(error);
      return false;
    }
    if (this.down.has(WHOLE)) this.markUp(WHOLE);
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
    if (!this.down.has(WHOLE)) {
      await this.run('spillwayHeartbeat', [this.sharedKey('replicas')], [this.now(), this.replicaId, 0]).catch(() => undefined);
    }
    this.closed = true;
    this.client.disconnect();
  }
}
