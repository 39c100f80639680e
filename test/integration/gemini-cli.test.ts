/**
 * Issue 15: the newest Gemini CLI (the registry package's binary), pointed at spillway with
 * GOOGLE_GEMINI_BASE_URL, answers `gemini -p` from an Anthropic provider (the simulator): its
 * streamed calls, tools offered and a tool call run, go through spillway.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { simProvider, type Stack, startStack } from '../support/stack.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const geminiBin = path.join(process.env.SPILLWAY_CLIENTS_DIR ? path.resolve(process.env.SPILLWAY_CLIENTS_DIR) : repoRoot, 'node_modules', '.bin', 'gemini');
const GATEWAY_KEY = 'sk-spillway-gemini-cli';

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** `gemini -p PROMPT` with a scratch HOME whose settings pick API-key auth, and a clean environment. */
async function runGemini(baseUrl: string, prompt: string): Promise<Run> {
  const home = await mkdtemp(path.join(tmpdir(), 'spillway-gemini-'));
  try {
    await mkdir(path.join(home, '.gemini'));
    await writeFile(path.join(home, '.gemini', 'settings.json'), JSON.stringify({ security: { auth: { selectedType: 'gemini-api-key' } } }));
    const env: NodeJS.ProcessEnv = {
      PATH: process.env.PATH,
      HOME: home,
      GOOGLE_GEMINI_BASE_URL: baseUrl,
      GEMINI_API_KEY: GATEWAY_KEY,
      GEMINI_CLI_TRUST_WORKSPACE: 'true',
      NO_COLOR: '1',
    };
    // A named model skips the CLI's model router, whose classifier asks for JSON by schema, which
    // the simulated Anthropic provider does not produce (each failure costs the CLI's retry backoff).
    const child = spawn(geminiBin, ['-p', prompt, '-m', 'gemini-2.5-flash'], { cwd: home, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 240_000);
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    clearTimeout(timer);
    return { code, stdout, stderr };
  } finally {
    await rm(home, { recursive: true, force: true });
  }
}

describe('Gemini CLI through spillway onto an Anthropic provider', () => {
  let stack: Stack;
  before(async () => {
    stack = await startStack({
      clientKey: GATEWAY_KEY,
      config: (simUrl, keys) => ({
        server: { auth: { keys: [GATEWAY_KEY] } },
        providers: { anthropic: simProvider('anthropic', simUrl, keys) },
        routes: { '*': { targets: [{ provider: 'anthropic', model: 'claude-sonnet-4-5' }] } },
      }),
    });
  });
  after(() => stack.close());

  it('gateway keys are taken as x-goog-api-key or ?key=; a missing one is 401 UNAUTHENTICATED in Google\'s shape', async () => {
    const list = (query: string, headers: Record<string, string> = {}) => fetch(`${stack.gateway.url}/v1beta/models${query}`, { headers });
    const listed = await list(`?key=${GATEWAY_KEY}`);
    assert.equal(listed.status, 200);
    // Only a `*` route here: the list is what the provider behind it serves, as Gemini names models.
    const { models } = (await listed.json()) as { models: Array<{ name: string; supportedGenerationMethods: string[] }> };
    assert.ok(models.some((model) => /^models\/claude-/.test(model.name) && model.supportedGenerationMethods.includes('generateContent')), JSON.stringify(models.map((m) => m.name)));
    assert.equal((await list('', { 'x-goog-api-key': GATEWAY_KEY })).status, 200);
    const refused = await list('');
    assert.equal(refused.status, 401);
    assert.equal(((await refused.json()) as { error: { status: string } }).error.status, 'UNAUTHENTICATED');
  });

  it('gemini -p answers, and every call it made went through spillway to the provider', async () => {
    const run = await runGemini(stack.gateway.url, 'Say hello in one short sentence.');
    assert.equal(run.code, 0, `exit ${run.code}\nstdout: ${run.stdout}\nstderr: ${run.stderr.slice(-2000)}`);
    assert.ok(run.stdout.trim().length > 0, 'an answer on stdout');
    const upstream = stack.sim.stats().total;
    assert.ok(upstream.ok >= 1, `${upstream.ok} answers from the provider`);
    assert.equal(upstream.rateLimited, 0);
  });
});
