/**
 * Issue 12, item 4: clients that stall cannot hold the gateway. Headers that never finish and
 * bodies that never end are closed within the configured timeouts, memory and file descriptors
 * come back, one client address cannot take every connection, and neither a stranger nor a bad
 * batch makes the gateway read a large body.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync, mkdtempSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { stringify } from 'yaml';
import { startSimulator, type Simulator } from '../../src/sim/index.js';
import { defaultConfig, simKeys, startStack, type Stack } from '../support/stack.js';

const HEADERS_TIMEOUT_MS = 1000;
const BODY_TIMEOUT_MS = 2000;
/** Node checks the timeouts on an interval (a quarter of the header timeout here); the rest is for a loaded machine (4,000 sockets in this process too). */
const SLACK_MS = 3000;

function rssBytes(pid: number): number {
  const line = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(line![1]) * 1024;
}

const openFds = (pid: number): number => readdirSync(`/proc/${pid}/fd`).length;

/** A raw connection that sends `text` and then nothing more; resolves when the server closes it. */
function stall(port: number, text: string): Promise<{ socket: Socket; closed: Promise<{ afterMs: number; reply: string }> }> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let reply = '';
    socket.on('data', (chunk: Buffer) => (reply += chunk.toString('latin1')));
    socket.once('error', () => {});
    socket.once('connect', () => {
      const sentAt = Date.now();
      socket.write(text);
      const closed = new Promise<{ afterMs: number; reply: string }>((done) => socket.once('close', () => done({ afterMs: Date.now() - sentAt, reply })));
      resolve({ socket, closed });
    });
    socket.once('error', reject);
  });
}

/** `spillway_edge_refusals_total{reason}` as /metrics shows it. */
async function edgeRefusals(url: string, reason: string, headers: Record<string, string> = {}): Promise<number> {
  const text = await (await fetch(`${url}/metrics`, { headers })).text();
  const line = new RegExp(`^spillway_edge_refusals_total\\{reason="${reason}"\\} (\\d+)$`, 'm').exec(text);
  return line ? Number(line[1]) : 0;
}

async function waitFor(check: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('timed out waiting');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

const message = JSON.stringify({ model: 'claude-haiku-4-5', max_tokens: 8, messages: [{ role: 'user', content: 'hi' }] });

async function ask(url: string, headers: Record<string, string> = {}): Promise<number> {
  const response = await fetch(`${url}/v1/messages`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: message });
  await response.arrayBuffer();
  return response.status;
}

describe('slow-loris and half-open connections against a gateway process', () => {
  let sim: Simulator;
  let child: ChildProcess;
  let url: string;
  let port: number;

  before(async () => {
    sim = await startSimulator({ keys: simKeys(1) });
    const dir = mkdtempSync(join(tmpdir(), 'spillway-slow-'));
    const file = join(dir, 'spillway.yaml');
    writeFileSync(
      file,
      stringify({
        ...defaultConfig(sim.url, simKeys(1)),
        data_dir: dir,
        server: { port: 0, timeouts: { headers: `${HEADERS_TIMEOUT_MS}ms`, body: `${BODY_TIMEOUT_MS}ms` }, max_connections_per_client: 10_000 },
      }),
    );
    child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'start', '--config', file], { stdio: ['ignore', 'pipe', 'pipe'] });
    url = await new Promise<string>((resolve, reject) => {
      let output = '';
      const onData = (chunk: Buffer) => {
        output += chunk.toString();
        const match = /listening on (http:\/\/\S+)/.exec(output);
        if (match) resolve(match[1]!);
      };
      child.stdout!.on('data', onData);
      child.stderr!.on('data', onData);
      child.once('exit', (code) => reject(new Error(`the gateway exited with ${code}: ${output}`)));
    });
    port = Number(new URL(url).port);
  });
  after(async () => {
    child.kill('SIGTERM');
    await sim.close();
  });

  it('4,000 stalled connections are all closed within the timeouts; RSS stays within 50 MB of idle and every fd is released', { timeout: 60_000 }, async (t) => {
    // Warm up, so idle means a gateway that has served.
    for (let i = 0; i < 20; i++) assert.equal(await ask(url), 200);
    await new Promise((resolve) => setTimeout(resolve, 300));
    const idleRss = rssBytes(child.pid!);
    const idleFds = openFds(child.pid!);

    const headersNeverEnd = 'POST /v1/messages HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\nx-slow: ';
    const bodyNeverEnds = `POST /v1/messages HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\ncontent-length: 100000\r\n\r\n{"model":"claude-haiku-4-5","messages":[`;
    const closings: Array<Promise<{ afterMs: number; reply: string }>> = [];
    const sockets: Socket[] = [];
    for (let wave = 0; wave < 20; wave++) {
      const opened = await Promise.all(Array.from({ length: 200 }, (_, i) => stall(port, i % 2 === 0 ? headersNeverEnd : bodyNeverEnds)));
      for (const { socket, closed } of opened) {
        sockets.push(socket);
        closings.push(closed);
      }
    }
    assert.equal(closings.length, 4000);
    const peakFds = openFds(child.pid!);

    const closed = await Promise.all(closings);
    const slowest = Math.max(...closed.map(({ afterMs }) => afterMs));
    assert.ok(slowest <= BODY_TIMEOUT_MS + SLACK_MS, `every stalled connection closed within ${BODY_TIMEOUT_MS + SLACK_MS} ms (slowest ${slowest} ms)`);
    const timedOut = closed.filter(({ reply }) => reply.startsWith('HTTP/1.1 408')).length;
    assert.ok(timedOut >= 2000, `the stalled headers at least were answered 408 Request Timeout (${timedOut})`);
    assert.ok((await edgeRefusals(url, 'timeout')) >= timedOut, 'each 408 is counted in /metrics');

    await waitFor(() => openFds(child.pid!) <= idleFds + 5, 5000);
    const rss = rssBytes(child.pid!);
    const grownMb = (rss - idleRss) / 1024 / 1024;
    t.diagnostic(`idle RSS ${(idleRss / 1024 / 1024).toFixed(1)} MB, after ${(rss / 1024 / 1024).toFixed(1)} MB; fds idle ${idleFds}, peak ${peakFds}; slowest close ${slowest} ms`);
    assert.ok(grownMb < 50, `RSS grew ${grownMb.toFixed(1)} MB over idle`);
    assert.ok(peakFds > idleFds + 100, 'the connections really were held open on the gateway');
    assert.equal(await ask(url), 200, 'a legitimate request is served afterwards');
    for (const socket of sockets) socket.destroy();
  });
});

describe('connections per client and unauthenticated bodies', () => {
  let stack: Stack;
  before(async () => {
    stack = await startStack({
      clientKey: 'gw-key',
      config: (simUrl, keys) => ({ ...defaultConfig(simUrl, keys), server: { auth: { keys: ['gw-key'] }, max_connections_per_client: 5 } }),
    });
  });
  after(() => stack.close());

  it('a client holding 5 connections (the cap) has the 6th refused, and is served again once one closes', { timeout: 10_000 }, async () => {
    const held = await Promise.all(Array.from({ length: 5 }, () => stall(stack.gateway.port, '')));
    const refused = await stall(stack.gateway.port, '');
    const { afterMs } = await refused.closed;
    assert.ok(afterMs < 1000, 'the connection past the cap is closed at once');
    held[0]!.socket.destroy();
    await held[0]!.closed;
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal(await ask(stack.gateway.url, { 'x-api-key': 'gw-key' }), 200);
    for (const { socket } of held) socket.destroy();
    await Promise.all(held.map(({ closed }) => closed));
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal(await edgeRefusals(stack.gateway.url, 'per_client_cap', { 'x-api-key': 'gw-key' }), 1, 'the refusal is counted in /metrics');
  });

  it('a batch upload whose first request is bad is answered 400 at once, without waiting for the rest of its 50 MB', { timeout: 10_000 }, async () => {
    const start = '{"requests":[{"custom_id":"a","params":{"model":"claude-haiku-4-5","messages":[{"role":"user","content":"hi"}]}},';
    const { socket, closed } = await stall(
      stack.gateway.port,
      `POST /v1/messages/batches HTTP/1.1\r\nhost: 127.0.0.1\r\nx-api-key: gw-key\r\ncontent-type: application/json\r\ncontent-length: 50000000\r\n\r\n${start}`,
    );
    const { afterMs, reply } = await closed;
    assert.match(reply, /^HTTP\/1\.1 400 /);
    assert.match(reply, /requests\.0\.params\.max_tokens: Field required/);
    assert.ok(afterMs < 1000, `answered and closed after ${afterMs} ms`);
    socket.destroy();
  });

  it('an unauthenticated request is refused 401 before its body is read, and its connection is closed', { timeout: 10_000 }, async () => {
    const { socket, closed } = await stall(
      stack.gateway.port,
      'POST /v1/messages HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\ncontent-length: 10000000\r\n\r\n{"model":',
    );
    const { afterMs, reply } = await closed;
    assert.match(reply, /^HTTP\/1\.1 401 /);
    assert.match(reply, /authentication_error/);
    assert.ok(afterMs < 1000, `closed after ${afterMs} ms, without waiting for the 10 MB body`);
    socket.destroy();
  });
});
