/**
 * Issue 2: `spillway start` runs in demo mode with no config and no keys, proxies to the providers
 * whose keys are in the environment, and refuses an invalid config with a message that says where.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import Anthropic from '@anthropic-ai/sdk';
import { startSimulator } from '../../src/sim/index.js';

const CLI = ['--import', 'tsx', 'src/cli/main.ts'];

/** Environment without provider keys, so the CLI sees a fresh machine. */
function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env = { ...process.env, ...extra };
  if (!extra.ANTHROPIC_API_KEY) delete env.ANTHROPIC_API_KEY;
  if (!extra.OPENAI_API_KEY) delete env.OPENAI_API_KEY;
  return env;
}

/** Starts the CLI and resolves with its URL once it says where it listens. */
function startCli(args: string[], env: NodeJS.ProcessEnv): Promise<{ url: string; output: () => string; stop: () => void }> {
  const child = spawn(process.execPath, [...CLI, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  return new Promise((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const match = /listening on (http:\/\/\S+)[^]*Try it/.exec(output);
      if (match) resolve({ url: match[1]!, output: () => output, stop: () => child.kill('SIGTERM') });
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('exit', (code) => reject(new Error(`exited with ${code}: ${output}`)));
  });
}

function runCli(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number | null; output: string }> {
  const child = spawn(process.execPath, [...CLI, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  return new Promise((resolve) => child.on('exit', (code) => resolve({ code, output })));
}

describe('spillway start', () => {
  it('with no config and no keys runs in demo mode and answers', async () => {
    const cli = await startCli(['start', '--port', '0'], cleanEnv());
    try {
      assert.match(cli.output(), /demo mode/);
      assert.match(cli.output(), /ANTHROPIC_BASE_URL=http/);
      const client = new Anthropic({ baseURL: cli.url, apiKey: 'anything', maxRetries: 0 });
      const answer = await client.messages.create({ model: 'claude-haiku-4-5', max_tokens: 20, messages: [{ role: 'user', content: 'Hello' }] });
      assert.equal(answer.type, 'message');
    } finally {
      cli.stop();
    }
  });

  it('with ANTHROPIC_API_KEY set and no config proxies to that provider and says loudly that demo mode is off', async () => {
    const sim = await startSimulator({ keys: [{ id: 'real', key: 'sk-real-key', limits: { rpm: 1000 } }] });
    const cli = await startCli(['start', '--port', '0'], cleanEnv({ ANTHROPIC_API_KEY: 'sk-real-key', ANTHROPIC_UPSTREAM_URL: sim.url }));
    try {
      assert.match(cli.output(), /Demo mode is OFF: ANTHROPIC_API_KEY is set in this shell/, 'the banner says loudly why this is not demo mode');
      assert.match(cli.output(), /ANTHROPIC_API_KEY -> http:\/\/127\.0\.0\.1/, 'and where the key sends requests');
      assert.match(cli.output(), /env -u ANTHROPIC_API_KEY -u OPENAI_API_KEY npm start/, 'and how to get demo mode back');
      const client = new Anthropic({ baseURL: cli.url, apiKey: 'client', maxRetries: 0 });
      await client.messages.create({ model: 'claude-haiku-4-5', max_tokens: 20, messages: [{ role: 'user', content: 'Hello' }] });
      assert.equal(sim.stats().keys.real?.ok, 1);
      assert.doesNotMatch(cli.output(), /sk-real-key/, 'the key is never printed');
    } finally {
      cli.stop();
      await sim.close();
    }
  });

  it('refuses an invalid config, naming the file, the path inside it and what is wrong', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'spillway-cli-'));
    const file = join(dir, 'bad.yaml');
    writeFileSync(
      file,
      ['providers:', '  anthropic:', '    type: anthropic', '    keys:', '      - { key: abc, limits: { rpm: -5 } }', 'routes:', '  "*": { targets: [ { provider: nope } ] }'].join('\n'),
    );
    const { code, output } = await runCli(['start', '--config', file], cleanEnv());
    assert.equal(code, 1);
    assert.match(output, new RegExp(`invalid config in ${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
    assert.match(output, /providers\.anthropic\.keys\.0\.limits\.rpm: /);
    assert.match(output, /routes\.\*\.targets\.0\.provider: unknown provider "nope"/);
  });

  it('names a missing environment variable behind an empty key', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'spillway-cli-'));
    const file = join(dir, 'env.yaml');
    writeFileSync(file, 'providers:\n  a:\n    type: anthropic\n    keys: [ { key: "${SPILLWAY_TEST_UNSET_KEY}" } ]\n');
    const { code, output } = await runCli(['start', '--config', file], cleanEnv());
    assert.equal(code, 1);
    assert.match(output, /providers\.a\.keys\.0\.key: the key is empty/);
    assert.match(output, /SPILLWAY_TEST_UNSET_KEY/);
  });
});
