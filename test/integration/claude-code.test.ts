/**
 * The newest Claude Code (the real binary, from the registry package) pointed at spillway: `claude
 * -p` reads a file through its Read tool and answers with what the file says, whether spillway
 * relays its requests to an Anthropic provider untouched or translates them for an
 * OpenAI-compatible one; six sessions at once on a key with room for two spill over to the other
 * provider without a storm of upstream 429s.
 *
 * Recording taps sit before and after the gateway, so a test can compare what Claude Code sent
 * with what the provider received, byte for byte.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { ConfigInput } from '../../src/config/schema.js';
import { startGateway } from '../../src/server/gateway.js';
import { SseParser } from '../../src/protocol/sse.js';
import { startSimulator, type Simulator } from '../../src/sim/index.js';
import { claudeBin, clientSource, clientVersion } from '../support/clients.js';
import { posts, startTap, type Recorded, type Tap } from '../support/tap.js';

const SIM_KEY = 'sk-sim-1';
const GATEWAY_KEY = 'sk-spillway-test';
const CLAUDE_TIMEOUT_MS = 120_000;
const SECRET = 'tangerine';
const generous = { rpm: 10_000, itpm: 100_000_000, otpm: 10_000_000 };
const version = clientVersion('@anthropic-ai/claude-code');

interface ClaudeRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

interface Workspace {
  dir: string;
  /** A prompt that makes Claude Code read a file the workspace holds. */
  prompt: string;
}

/** A throwaway HOME with a file whose secret only reading it reveals. */
async function workspace(): Promise<Workspace> {
  const dir = await mkdtemp(path.join(tmpdir(), 'spillway-claude-'));
  const file = path.join(dir, 'notes.txt');
  await writeFile(file, `The secret word is ${SECRET}.\n`);
  return { dir, prompt: `Use the Read tool to read ${file} and tell me the secret word.` };
}

/**
 * `claude -p PROMPT` with no TTY, a fresh HOME and config dir (no onboarding, no user settings),
 * a clean environment (no real ANTHROPIC_* leaking in), and only the Read tool allowed.
 */
async function runClaude(baseUrl: string, apiKey: string, prompt: string, options: { home?: string; args?: string[]; env?: Record<string, string> } = {}): Promise<ClaudeRun> {
  const home = options.home ?? (await mkdtemp(path.join(tmpdir(), 'spillway-claude-')));
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
      ...options.env,
    };
    const args = ['-p', prompt, '--max-turns', '4', '--no-session-persistence', ...(options.args ?? ['--allowedTools', 'Read'])];
    const child = spawn(claudeBin, args, { cwd: home, env, stdio: ['ignore', 'pipe', 'pipe'] });
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

function describeRun(run: ClaudeRun): string {
  return `exit ${run.code}\n--- stdout\n${run.stdout}\n--- stderr\n${run.stderr}`;
}

type Message = { role: string; content: unknown };
const messagesOf = (request: Recorded): Message[] => (JSON.parse(request.body.toString('utf8')) as { messages: Message[] }).messages;
/** A system message after the first turn, as the newest Claude Code sends. */
const midSystemIndex = (messages: Message[]): number => messages.findIndex((m, i) => i > 0 && m.role === 'system');

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
  let text = '';
  for (const event of new SseParser().push(raw)) {
    const data = JSON.parse(event.data) as { type: string; delta?: { type: string; text?: string } };
    if (data.type === 'content_block_delta' && data.delta?.type === 'text_delta') text += data.delta.text ?? '';
  }
  return text;
}

describe(`Claude Code ${version} through spillway (${clientSource})`, { timeout: 6 * CLAUDE_TIMEOUT_MS }, () => {
  let sim: Simulator;
  let back: Tap;

  before(async () => {
    assert.ok(existsSync(claudeBin), `Claude Code is not installed at ${claudeBin} (run npm ci)`);
    sim = await startSimulator({ keys: [{ id: 'k1', key: SIM_KEY, limits: generous }] });
    back = await startTap(sim.url);
  });

  after(async () => {
    await back?.close();
    await sim?.close();
  });

  /** A gateway with the given providers (pointing at the back tap) and a front tap before it. */
  async function gatewayWith(config: ConfigInput): Promise<{ url: string; front: Tap; close(): Promise<void> }> {
    const gateway = await startGateway(config, { port: 0, host: '127.0.0.1', quiet: true });
    const front = await startTap(gateway.url);
    return {
      url: front.url,
      front,
      async close() {
        await front.close();
        await gateway.close();
      },
    };
  }

  const anthropicProvider = () => ({ type: 'anthropic' as const, base_url: back.url, keys: [{ id: 'k1', key: SIM_KEY, limits: generous }] });
  const compatProvider = () => ({ type: 'openai' as const, base_url: `${back.url}/v1`, keys: [{ id: 'k1', key: SIM_KEY, limits: generous }] });

  it('claude -p reads a file through its Read tool and answers with its secret; the provider gets its requests byte for byte', async () => {
    const gateway = await gatewayWith({ providers: { anthropic: anthropicProvider() }, routes: { '*': { targets: [{ provider: 'anthropic' }] } } });
    try {
      const seen = posts(back, '/v1/messages').length;
      const { dir, prompt } = await workspace();
      const run = await runClaude(gateway.url, 'sk-dummy-not-checked', prompt, { home: dir });

      assert.equal(run.code, 0, describeRun(run));
      assert.match(run.stdout, new RegExp(SECRET), describeRun(run));
      const forwarded = posts(back, '/v1/messages').slice(seen);
      assert.ok(forwarded.length >= 2, `a tool round trip takes two requests, saw ${forwarded.length}\n${describeRun(run)}`);
      assert.ok(
        forwarded.some((r) => r.body.includes('"tool_result"') && r.body.includes(SECRET)),
        'the file came back to the provider as a Read tool result',
      );
      // Same-protocol passthrough: the bytes Claude Code sent are the bytes the provider got,
      // its mid-conversation system message, betas and thinking settings included.
      const sent = new Set(posts(gateway.front, '/v1/messages').map((r) => r.body.toString('utf8')));
      for (const request of forwarded) assert.ok(sent.has(request.body.toString('utf8')), 'a request was changed on its way');
      assert.ok(forwarded.some((r) => midSystemIndex(messagesOf(r)) > 0), 'Claude Code sent a system message between turns, and it reached the provider');
      assert.match(String(forwarded[0]!.headers['anthropic-beta'] ?? ''), /claude-code-20250219/);
      assert.equal(forwarded[0]!.headers['x-api-key'], SIM_KEY);
    } finally {
      await gateway.close();
    }
  });

  it('routed to an OpenAI-compatible provider, the same prompt is answered from the file; the system message stays a system message', async () => {
    const gateway = await gatewayWith({ providers: { compat: compatProvider() }, routes: { '*': { targets: [{ provider: 'compat', model: 'gpt-5-mini' }] } } });
    try {
      const seen = posts(back, '/v1/chat/completions').length;
      const { dir, prompt } = await workspace();
      const run = await runClaude(gateway.url, 'sk-dummy-not-checked', prompt, { home: dir });

      assert.equal(run.code, 0, describeRun(run));
      assert.match(run.stdout, new RegExp(SECRET), describeRun(run));
      const forwarded = posts(back, '/v1/chat/completions').slice(seen);
      assert.ok(forwarded.length >= 2, `a tool round trip takes two requests, saw ${forwarded.length}`);
      const bodies = forwarded.map((r) => JSON.parse(r.body.toString('utf8')) as { messages: Message[]; reasoning_effort?: string; tools?: unknown[] });
      assert.ok(bodies.some((b) => b.messages.some((m) => m.role === 'tool' && JSON.stringify(m.content).includes(SECRET))), 'the Read result went back as a tool message');
      const withSystem = bodies.find((b) => midSystemIndex(b.messages) > 0);
      assert.ok(withSystem, 'the mid-conversation system message arrived as a system message');
      const systemText = JSON.stringify(withSystem.messages[midSystemIndex(withSystem.messages)]!.content);
      assert.ok(!bodies.some((b) => b.messages.some((m) => m.role === 'user' && JSON.stringify(m.content) === systemText)), 'never as a user message');
      // output_config.effort means reasoning_effort to a reasoning model.
      assert.ok(bodies.every((b) => typeof b.reasoning_effort === 'string'), 'reasoning_effort was sent');
    } finally {
      await gateway.close();
    }
  });

  it('with gateway auth on, Claude Code authenticates with ANTHROPIC_API_KEY = a gateway key; a wrong key is refused at once', async () => {
    const gateway = await gatewayWith({ server: { auth: { keys: [GATEWAY_KEY] } }, providers: { anthropic: anthropicProvider() }, routes: { '*': { targets: [{ provider: 'anthropic' }] } } });
    try {
      const seen = posts(back, '/v1/messages').length;
      const run = await runClaude(gateway.url, GATEWAY_KEY, 'What is a spillway?', { args: ['--tools', '', '--model', 'claude-sonnet-4-6'] });
      assert.equal(run.code, 0, describeRun(run));
      const forwarded = posts(back, '/v1/messages').slice(seen);
      assert.ok(forwarded.length >= 1, describeRun(run));
      const expected = (await replayText(sim.url, forwarded.at(-1)!)).trim();
      assert.ok(expected.length > 0, 'the simulator answered empty text');
      assert.equal(run.stdout.trim(), expected);

      // Claude Code retries even a 401 ten times with backoff unless the answer says
      // `x-should-retry: false`, so retries are off here.
      const refused = await runClaude(gateway.url, 'sk-wrong', 'What is a spillway?', { args: ['--tools', ''], env: { CLAUDE_CODE_MAX_RETRIES: '0' } });
      assert.equal(refused.code, 1, describeRun(refused));
      assert.match(refused.stdout + refused.stderr, /401|api key/i);
      assert.equal(posts(back, '/v1/messages').length, seen + forwarded.length, 'a refused request reached the provider');
    } finally {
      await gateway.close();
    }
  });
});

describe(`six Claude Code ${version} sessions at once on a key with room for two`, { timeout: 3 * CLAUDE_TIMEOUT_MS }, () => {
  // Each request of a session is ~12k input tokens: 30k a minute holds two at a time.
  const tight = { itpm: 30_000 };
  let sim: Simulator;
  before(async () => {
    sim = await startSimulator({
      keys: [
        { id: 'tight', key: 'sk-sim-tight', limits: tight },
        { id: 'roomy', key: 'sk-sim-roomy', limits: generous },
      ],
    });
  });
  after(() => sim?.close());

  it('all six read their file and answer; the rest spill to the other provider, with no storm of upstream 429s', async () => {
    const gateway = await startGateway(
      {
        providers: {
          anthropic: { type: 'anthropic', base_url: sim.url, keys: [{ id: 'tight', key: 'sk-sim-tight', limits: tight }] },
          compat: { type: 'openai', base_url: `${sim.url}/v1`, keys: [{ id: 'roomy', key: 'sk-sim-roomy', limits: generous }] },
        },
        routes: { '*': { strategy: 'spill', targets: [{ provider: 'anthropic' }, { provider: 'compat', model: 'gpt-4o-mini' }] } },
      },
      { port: 0, host: '127.0.0.1', quiet: true },
    );
    try {
      const runs = await Promise.all(
        Array.from({ length: 6 }, async () => {
          const { dir, prompt } = await workspace();
          return runClaude(gateway.url, 'sk-dummy', prompt, { home: dir });
        }),
      );
      for (const run of runs) {
        assert.equal(run.code, 0, describeRun(run));
        assert.match(run.stdout, new RegExp(SECRET), describeRun(run));
      }
      const stats = sim.stats();
      const tightStats = stats.keys.tight!;
      const roomyStats = stats.keys.roomy!;
      console.log(`# six sessions: tight key ${tightStats.ok} ok / ${tightStats.rateLimited} 429, other provider ${roomyStats.ok} ok`);
      assert.ok(tightStats.ok >= 2, 'the tight key served its share');
      assert.ok(roomyStats.ok >= 2, 'sessions spilled to the other provider');
      assert.ok(tightStats.rateLimited <= 1, `upstream 429s on the tight key: ${tightStats.rateLimited}`);
    } finally {
      await gateway.close();
    }
  });
});
