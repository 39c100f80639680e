/**
 * Claude Code (the real CLI, pinned in devDependencies) pointed at spillway: `claude -p` answers
 * through the gateway with exactly what the simulated provider generated for its request.
 *
 * Between the gateway and the simulator sits a recording tap, so the test can replay the very
 * request the gateway forwarded straight to the simulator and compare answers.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startSimulator } from '../../src/sim/index.js';
import { startGateway } from '../../src/server/gateway.js';
import { SseParser } from '../../src/protocol/sse.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const claudeBin = path.join(repoRoot, 'node_modules', '.bin', 'claude');
const SIM_KEY = 'sk-sim-1';
const GATEWAY_KEY = 'sk-spillway-test';
const CLAUDE_TIMEOUT_MS = 60_000;

interface Recorded {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

interface Tap {
  url: string;
  requests: Recorded[];
  close(): Promise<void>;
}

/** A pass-through HTTP proxy that remembers every request it forwards to `target`. */
function startTap(target: string): Promise<Tap> {
  const requests: Recorded[] = [];
  const upstream = new URL(target);
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      requests.push({ method: req.method ?? 'GET', url: req.url ?? '/', headers: req.headers, body });
      const out = http.request(
        { host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: { ...req.headers, host: upstream.host } },
        (answer) => {
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
        },
      );
      out.on('error', () => res.destroy());
      out.end(body);
    });
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      resolve({
        url: `http://127.0.0.1:${port}`,
        requests,
        close: () =>
          new Promise<void>((done) => {
            server.closeAllConnections();
            server.close(() => done());
          }),
      });
    });
  });
}

interface ClaudeRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * `claude -p PROMPT` with no TTY, a throwaway HOME and config dir (so no onboarding, no user
 * settings, no CLAUDE.md), a clean environment (no real ANTHROPIC_* leaking in) and built-in tools
 * off, so the answer is plain text rather than a tool call the CLI would go on to execute.
 */
async function runClaude(baseUrl: string, apiKey: string, prompt: string, extraEnv: Record<string, string> = {}): Promise<ClaudeRun> {
  const home = await mkdtemp(path.join(tmpdir(), 'spillway-claude-'));
  try {
    const env: NodeJS.ProcessEnv = {
      PATH: process.env.PATH,
      HOME: home,
      CLAUDE_CONFIG_DIR: path.join(home, '.claude'),
      ANTHROPIC_BASE_URL: baseUrl,
      ANTHROPIC_API_KEY: apiKey,
      CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
      DISABLE_AUTOUPDATER: '1',
      NO_COLOR: '1',
      ...extraEnv,
    };
    const args = [claudeBin, '-p', prompt, '--model', 'claude-sonnet-4-6', '--tools', '', '--max-turns', '1', '--no-session-persistence'];
    const child = spawn(process.execPath, args, { cwd: home, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
    child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
    const timer = setTimeout(() => child.kill('SIGKILL'), CLAUDE_TIMEOUT_MS);
    const code = await new Promise<number | null>((resolve, reject) => {
      child.on('error', reject);
      child.on('close', (exitCode) => resolve(exitCode));
    });
    clearTimeout(timer);
    return { code, stdout, stderr };
  } finally {
    await rm(home, { recursive: true, force: true });
  }
}

/** Sends a recorded request again, straight to the simulator, and returns the text it answers. */
async function replayText(simUrl: string, request: Recorded): Promise<string> {
  const headers = new Headers();
  for (const [name, value] of Object.entries(request.headers)) {
    if (value === undefined || ['host', 'connection', 'content-length', 'accept-encoding', 'transfer-encoding'].includes(name)) continue;
    headers.set(name, Array.isArray(value) ? value.join(', ') : value);
  }
  const response = await fetch(new URL(request.url, simUrl), { method: request.method, headers, body: new Uint8Array(request.body) });
  const raw = await response.text();
  assert.equal(response.status, 200, `direct replay to the simulator failed: ${raw.slice(0, 300)}`);
  const isStream = (response.headers.get('content-type') ?? '').includes('text/event-stream');
  if (!isStream) {
    const message = JSON.parse(raw) as { content: Array<{ type: string; text?: string }> };
    return message.content.map((block) => block.text ?? '').join('');
  }
  const parser = new SseParser();
  let text = '';
  for (const event of [...parser.push(raw), ...parser.end()]) {
    const data = JSON.parse(event.data) as { type: string; delta?: { type: string; text?: string } };
    if (data.type === 'content_block_delta' && data.delta?.type === 'text_delta') text += data.delta.text ?? '';
  }
  return text;
}

function messageRequests(tap: Tap): Recorded[] {
  return tap.requests.filter((r) => r.method === 'POST' && new URL(r.url, 'http://x').pathname === '/v1/messages');
}

function describeRun(run: ClaudeRun): string {
  return `exit ${run.code}\n--- stdout\n${run.stdout}\n--- stderr\n${run.stderr}`;
}

describe('Claude Code through spillway', { timeout: 3 * CLAUDE_TIMEOUT_MS }, () => {
  let sim: Awaited<ReturnType<typeof startSimulator>>;
  let tap: Tap;

  before(async () => {
    assert.ok(existsSync(claudeBin), `Claude Code is not installed at ${claudeBin} (run npm ci)`);
    sim = await startSimulator({ keys: [{ id: 'k1', key: SIM_KEY, limits: { rpm: 1000, itpm: 1_000_000, otpm: 200_000 } }] });
    tap = await startTap(sim.url);
  });

  after(async () => {
    await tap?.close();
    await sim?.close();
  });

  const provider = () => ({
    anthropic: {
      type: 'anthropic' as const,
      base_url: tap.url,
      keys: [{ id: 'k1', key: SIM_KEY, limits: { rpm: 1000, itpm: 1_000_000, otpm: 200_000 } }],
    },
  });

  it('claude -p prints the answer the simulator generates for its request, exit 0', async () => {
    const gateway = await startGateway(
      { providers: provider(), routes: { '*': { targets: [{ provider: 'anthropic' }] } } },
      { port: 0, host: '127.0.0.1', quiet: true },
    );
    try {
      const before = sim.stats().total.ok;
      const seenBefore = messageRequests(tap).length;
      const run = await runClaude(gateway.url, 'sk-dummy-not-checked', 'Name three rivers in Europe.');

      assert.equal(run.code, 0, describeRun(run));
      const forwarded = messageRequests(tap).slice(seenBefore);
      assert.ok(forwarded.length >= 1, `the gateway forwarded no /v1/messages request\n${describeRun(run)}`);
      assert.ok(sim.stats().total.ok > before, 'the simulator answered no request successfully');

      // Same-protocol passthrough keeps Claude Code's beta flags; the provider key replaces the client's.
      const last = forwarded[forwarded.length - 1]!;
      assert.match(String(last.headers['anthropic-beta'] ?? ''), /claude-code-20250219/);
      assert.equal(last.headers['x-api-key'], SIM_KEY);

      const expected = (await replayText(sim.url, last)).trim();
      assert.ok(expected.length > 0, 'the simulator answered empty text');
      assert.equal(run.stdout.trim(), expected);
    } finally {
      await gateway.close();
    }
  });

  it('with gateway auth on, Claude Code authenticates with ANTHROPIC_API_KEY = a gateway key', async () => {
    const gateway = await startGateway(
      { server: { auth: { keys: [GATEWAY_KEY] } }, providers: provider(), routes: { '*': { targets: [{ provider: 'anthropic' }] } } },
      { port: 0, host: '127.0.0.1', quiet: true },
    );
    try {
      const seenBefore = messageRequests(tap).length;
      const run = await runClaude(gateway.url, GATEWAY_KEY, 'What is a spillway?');
      assert.equal(run.code, 0, describeRun(run));
      const forwarded = messageRequests(tap).slice(seenBefore);
      assert.ok(forwarded.length >= 1, describeRun(run));
      const expected = (await replayText(sim.url, forwarded[forwarded.length - 1]!)).trim();
      assert.equal(run.stdout.trim(), expected);

      // A wrong key is refused before any provider is asked. Claude Code retries even a 401 ten
      // times with backoff unless the answer says `x-should-retry: false`, so retries are off here.
      const refused = await runClaude(gateway.url, 'sk-wrong', 'What is a spillway?', { CLAUDE_CODE_MAX_RETRIES: '0' });
      assert.equal(refused.code, 1, describeRun(refused));
      assert.match(refused.stdout + refused.stderr, /401|api key/i);
      assert.equal(messageRequests(tap).length, seenBefore + forwarded.length, 'a refused request reached the provider');
    } finally {
      await gateway.close();
    }
  });
});
