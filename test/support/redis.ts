/**
 * A real redis-server for tests, on a free loopback port, with no persistence: started as a child
 * process, stoppable and restartable on the same port (to play an outage).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { Redis } from 'ioredis';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const CANDIDATES = ['/usr/bin/redis-server', '/usr/local/bin/redis-server'];

export const redisBinary: string | undefined = CANDIDATES.find((path) => existsSync(path));
export const skipWithoutRedis: string | false = redisBinary ? false : `redis-server not found (looked in ${CANDIDATES.join(', ')}); install it to run this test`;

export interface RedisServer {
  port: number;
  url: string;
  /** SIGKILL, as a crash or a lost node would be. */
  stop(): Promise<void>;
  /** Starts again on the same port, empty. */
  start(): Promise<void>;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

function launch(port: number, extra: string[] = []): Promise<ChildProcess> {
  return new Promise((resolve, reject) => {
    const child = spawn(redisBinary!, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', ...extra], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('Ready to accept connections')) {
        child.stdout!.off('data', onData);
        child.stdout!.resume();
        resolve(child);
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.resume();
    child.once('exit', (code) => reject(new Error(`redis-server exited (${code}): ${output.slice(-500)}`)));
    child.once('error', reject);
  });
}

export async function startRedis(): Promise<RedisServer> {
  if (!redisBinary) throw new Error('redis-server not found');
  const port = await freePort();
  let child: ChildProcess | undefined = await launch(port);
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    async stop() {
      const running = child;
      child = undefined;
      if (!running || running.exitCode !== null) return;
      const exited = new Promise((resolve) => running.once('exit', resolve));
      running.kill('SIGKILL');
      await exited;
    },
    async start() {
      if (!child) child = await launch(port);
    },
  };
}

export interface RedisClusterServer {
  /** One `redis://` URL per node (all primaries), as `store.nodes` takes them. */
  urls: string[];
  ports: number[];
  /** SIGKILLs node `index`: its slots go unreachable (the others keep serving theirs). */
  stopNode(index: number): Promise<void>;
  /** Restarts node `index` on its port with its cluster config: it rejoins holding the same slots, empty. */
  startNode(index: number): Promise<void>;
  /** Which node holds `key`'s slot. */
  nodeOf(key: string): Promise<number>;
  stop(): Promise<void>;
}

/** A free port whose cluster bus port (port + 10000) is free too. */
async function freeClusterPort(taken: Set<number>): Promise<number> {
  for (;;) {
    const port = await freePort();
    if (port > 55_000 || taken.has(port) || taken.has(port + 10_000)) continue;
    const bus = await new Promise<boolean>((resolve) => {
      const probe = createServer();
      probe.once('error', () => resolve(false));
      probe.listen(port + 10_000, '127.0.0.1', () => probe.close(() => resolve(true)));
    });
    if (bus) return port;
  }
}

async function run(command: string, args: string[]): Promise<string> {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  if (code !== 0) throw new Error(`${command} ${args.join(' ')} exited ${code}: ${output.slice(-500)}`);
  return output;
}

/**
 * A three-primary Redis Cluster (`redis-server --cluster-enabled yes` ×3, joined with
 * `redis-cli --cluster create`). Full coverage is not required, so while one node is down the
 * others keep serving their slots, as a cluster whose lost primary has no replica does.
 */
export async function startRedisCluster(size = 3): Promise<RedisClusterServer> {
  if (!redisBinary) throw new Error('redis-server not found');
  const dir = mkdtempSync(join(tmpdir(), 'spillway-cluster-'));
  const taken = new Set<number>();
  const ports: number[] = [];
  for (let i = 0; i < size; i++) {
    const port = await freeClusterPort(taken);
    taken.add(port).add(port + 10_000);
    ports.push(port);
  }
  const extra = (port: number) => [
    '--cluster-enabled', 'yes',
    '--cluster-config-file', join(dir, `nodes-${port}.conf`),
    '--cluster-node-timeout', '1000',
    '--cluster-require-full-coverage', 'no',
    '--dir', dir,
  ];
  const children: Array<ChildProcess | undefined> = await Promise.all(ports.map((port) => launch(port, extra(port))));
  const cli = redisBinary.replace(/redis-server$/, 'redis-cli');
  await run(cli, ['--cluster', 'create', ...ports.map((port) => `127.0.0.1:${port}`), '--cluster-yes']);
  await untilClusterOk(ports);
  const stopNode = async (index: number) => {
    const running = children[index];
    children[index] = undefined;
    if (!running || running.exitCode !== null) return;
    const exited = new Promise((resolve) => running.once('exit', resolve));
    running.kill('SIGKILL');
    await exited;
  };
  return {
    urls: ports.map((port) => `redis://127.0.0.1:${port}`),
    ports,
    stopNode,
    async startNode(index) {
      if (!children[index]) children[index] = await launch(ports[index]!, extra(ports[index]!));
      await untilClusterOk(ports);
    },
    async nodeOf(key) {
      // Asked of a node that is up: the slot map as the cluster sees it.
      for (const port of ports) {
        const client = new Redis(port, '127.0.0.1', { maxRetriesPerRequest: 0, retryStrategy: () => null, lazyConnect: true });
        client.on('error', () => {});
        try {
          await client.connect();
          const slot = Number(await client.cluster('KEYSLOT', key));
          const ranges = await client.cluster('SLOTS');
          const owner = ranges.find(([from, to]) => slot >= from && slot <= to)?.[2];
          if (owner) return ports.indexOf(Number(owner[1]));
        } catch {
          // that node is down; ask the next
        } finally {
          client.disconnect();
        }
      }
      throw new Error(`no node holds the slot of ${key}`);
    },
    async stop() {
      await Promise.all(ports.map((_, i) => stopNode(i)));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Until every node answers and says the cluster is ok. */
async function untilClusterOk(ports: number[]): Promise<void> {
  const cli = redisBinary!.replace(/redis-server$/, 'redis-cli');
  const deadline = Date.now() + 60_000;
  for (;;) {
    const states = await Promise.all(ports.map((port) => run(cli, ['-p', String(port), 'cluster', 'info']).catch(() => '')));
    if (states.every((info) => info.includes('cluster_state:ok'))) return;
    if (Date.now() > deadline) throw new Error('the Redis Cluster did not reach cluster_state:ok in 60 s');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
