/**
 * Issue 14: the clients that speak only the Responses API — the Vercel AI SDK's default OpenAI
 * provider, the OpenAI Agents SDK and the Codex CLI (the real binary from the registry package) —
 * get their answers through spillway, tool loops included, from an Anthropic provider and from a
 * chat-completions-only one.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { clientSource, clientVersion, codexBin, loadAgents, loadAI, loadAISDKOpenAI, loadOpenAI } from '../support/clients.js';
import { simProvider, type Stack, startStack } from '../support/stack.js';

const SECRET = 'tangerine';
const versions = ['ai', '@ai-sdk/openai', '@openai/agents', '@openai/codex'].map((name) => `${name} ${clientVersion(name)}`).join(', ');
const readInput = { type: 'object', properties: { file_path: { type: 'string', description: 'Absolute path' } }, required: ['file_path'], additionalProperties: false };
const prompt = 'Use the read tool to read /srv/notes.txt and tell me the secret word.';
const models = [
  ['an Anthropic provider', 'via-claude', 'anthropic'],
  ['a chat-completions-only provider', 'via-chat', 'chatonly'],
] as const;

describe(`Responses clients through spillway: ${versions} (${clientSource})`, () => {
  let stack: Stack;
  /** Which provider served each /v1/responses request, in order. */
  const served: string[] = [];
  before(async () => {
    stack = await startStack({
      config: (simUrl, keys) => {
        return {
          providers: {
            anthropic: simProvider('anthropic', simUrl, keys),
            chatonly: simProvider('openai', simUrl, keys),
          },
          routes: {
            'via-claude': { targets: [{ provider: 'anthropic', model: 'claude-sonnet-4-6' }] },
            'via-chat': { targets: [{ provider: 'chatonly', model: 'gpt-4o-mini' }] },
          },
        };
      },
    });
    // Listen in on what the usage log and metrics are told.
    const { observer } = stack.gateway.gateway;
    const record = observer.request.bind(observer);
    observer.request = (request) => {
      if (request.surface === 'responses') served.push(request.provider ?? 'none');
      record(request);
    };
  });
  after(() => stack.close());

  for (const [name, model] of models) {
    it(`Vercel AI SDK default provider openai(model), ${name}: generateText, streamText and a two-step tool loop`, async () => {
      const { generateText, streamText, jsonSchema, stepCountIs, tool } = await loadAI();
      const { createOpenAI } = await loadAISDKOpenAI();
      const openai = createOpenAI({ baseURL: `${stack.gateway.url}/v1`, apiKey: 'client' });

      const plain = await generateText({ model: openai(model), maxRetries: 0, prompt: 'Write a haiku about rivers.' });
      assert.ok(plain.text.length > 0);
      assert.equal(plain.finishReason, 'stop');
      assert.ok((plain.usage.outputTokens ?? 0) > 0);

      const streamed = streamText({ model: openai(model), maxRetries: 0, prompt: 'Write a haiku about rivers.' });
      assert.equal(await streamed.text, plain.text, 'the simulator answers the same prompt the same way');

      const calls: unknown[] = [];
      const looped = await generateText({
        model: openai(model),
        maxRetries: 0,
        stopWhen: stepCountIs(3),
        tools: {
          read: tool({
            description: 'Read a file',
            inputSchema: jsonSchema<{ file_path: string }>(readInput as Parameters<typeof jsonSchema>[0]),
            execute: async (input: { file_path: string }) => {
              calls.push(input);
              return `The secret word is ${SECRET}.`;
            },
          }),
        },
        prompt,
      });
      assert.deepEqual(calls, [{ file_path: '/srv/notes.txt' }]);
      assert.match(looped.text, new RegExp(SECRET));
    });

    it(`OpenAI Agents SDK (default settings), ${name}: an agent with a function tool runs to its final output`, async () => {
      const { Agent, Runner, tool, setTracingDisabled, OpenAIProvider } = await loadAgents();
      const OpenAI = await loadOpenAI();
      setTracingDisabled(true);
      const client = new OpenAI({ baseURL: `${stack.gateway.url}/v1`, apiKey: 'client', maxRetries: 0 });
      const calls: unknown[] = [];
      const read = tool({
        name: 'read',
        description: 'Read a file',
        parameters: readInput as never,
        strict: true,
        execute: async (input: unknown) => {
          calls.push(input);
          return `The secret word is ${SECRET}.`;
        },
      });
      const agent = new Agent({ name: 'Reader', instructions: 'Answer from the files you read.', tools: [read], model });
      const runner = new Runner({ modelProvider: new OpenAIProvider({ openAIClient: client as never }), tracingDisabled: true });
      const result = await runner.run(agent, prompt);
      assert.deepEqual(calls.map((input) => (typeof input === 'string' ? JSON.parse(input) : input)), [{ file_path: '/srv/notes.txt' }]);
      assert.match(String(result.finalOutput), new RegExp(SECRET));
    });
  }

  for (const [name, model, provider] of models) {
    it(`Codex CLI \`codex exec\` (wire_api = "responses"), ${name}: runs a tool and answers`, async () => {
      const home = await mkdtemp(path.join(tmpdir(), 'spillway-codex-'));
      try {
        await writeFile(
          path.join(home, 'config.toml'),
          [
            `model = "${model}"`,
            'model_provider = "spillway"',
            '[model_providers.spillway]',
            'name = "spillway"',
            `base_url = "${stack.gateway.url}/v1"`,
            'env_key = "SPILLWAY_KEY"',
            'wire_api = "responses"',
            'request_max_retries = 0',
            'stream_max_retries = 0',
            '',
          ].join('\n'),
        );
        const before = served.length;
        const run = await runCodex(home, ['exec', '--skip-git-repo-check', '--sandbox', 'read-only', '--color', 'never', 'Say hello, then stop.']);
        assert.equal(run.code, 0, `codex exec failed:\n${run.stderr.slice(-3000)}`);
        assert.ok(run.stdout.trim().length > 0, `codex printed no answer:\n${run.stderr.slice(-3000)}`);
        const mine = served.slice(before);
        assert.ok(mine.length >= 2, `a tool round trip is at least two requests (saw ${mine.length})`);
        assert.ok(mine.every((name) => name === provider), `served by ${provider}: ${mine.join(', ')}`);
      } finally {
        await rm(home, { recursive: true, force: true });
      }
    });
  }
});

async function runCodex(home: string, args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(codexBin, args, {
    cwd: home,
    env: { PATH: process.env.PATH, HOME: home, CODEX_HOME: home, SPILLWAY_KEY: 'client', RUST_LOG: 'warn', NO_COLOR: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  clearTimeout(timer);
  return { code, stdout, stderr };
}
