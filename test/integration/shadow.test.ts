/**
 * Issue 18, shadow: at share 1.0, 20 requests through the gateway (streamed and not) are all
 * answered by the primary, the candidate receives 20 copies after the answers, and the report
 * (admin API and `spillway shadow report`) holds 20 scored pairs.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import type { ShadowReport } from '../../src/routing/shadow-report.js';
import { simKeys, startStack, type Stack } from '../support/stack.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const COUNT = 20;

function runCli(args: string[]): Promise<{ code: number | null; output: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  return new Promise((resolve) => child.on('exit', (code) => resolve({ code, output })));
}

describe('shadow at share 1.0', () => {
  let stack: Stack;

  before(async () => {
    stack = await startStack({
      sim: { keys: simKeys(2) },
      config: (simUrl, keys) => ({
        usage: { enabled: false },
        cache: { exact: { enabled: false } },
        providers: {
          anthropic: { type: 'anthropic', base_url: simUrl, keys: [{ id: keys[0]!.id, key: keys[0]!.key, limits: keys[0]!.limits }] },
          vendor: { type: 'anthropic', base_url: simUrl, keys: [{ id: keys[1]!.id, key: keys[1]!.key, limits: keys[1]!.limits }] },
        },
        routes: { '*': { targets: [{ provider: 'anthropic' }], shadow: { target: { provider: 'vendor', model: 'vendor-large' }, share: 1 } } },
      }),
    });
  });
  after(() => stack?.close());

  it(`${COUNT} requests: every answer from the primary, ${COUNT} copies to the candidate, ${COUNT} scored pairs in the report`, async () => {
    await Promise.all(
      Array.from({ length: COUNT }, async (_, i) => {
        const params = { model: 'claude-sonnet-4-6', max_tokens: 32, messages: [{ role: 'user' as const, content: `shadow question ${i}` }] };
        if (i % 2 === 0) {
          const { response } = await stack.anthropic.messages.create(params).withResponse();
          assert.equal(response.headers.get('x-spillway-provider'), 'anthropic');
        } else {
          const { data, response } = await stack.anthropic.messages.create({ ...params, stream: true }).withResponse();
          assert.equal(response.headers.get('x-spillway-provider'), 'anthropic');
          for await (const event of data) void event;
        }
      }),
    );
    // The copies go out after the answers, at batch priority: wait for them.
    let report: ShadowReport | undefined;
    for (let tries = 0; tries < 200; tries++) {
      report = (await (await fetch(`${stack.gateway.url}/admin/shadow?route=*`)).json()) as ShadowReport;
      if (report.pairs >= COUNT) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const stats = stack.sim.stats();
    assert.equal(stats.keys.k1!.ok, COUNT, 'the primary answered every request');
    assert.equal(stats.keys.k2!.ok, COUNT, 'the candidate received every request once');
    assert.equal(report!.pairs, COUNT);
    assert.equal(report!.agreement !== undefined && report!.interval !== undefined, true);
    assert.ok(report!.interval![0] <= report!.agreement! && report!.agreement! <= report!.interval![1]);
    assert.ok(report!.latency && report!.latency.primaryMeanMs >= 0 && report!.latency.candidateMeanMs >= 0);
    console.log(`shadow: ${report!.pairs} pairs, agreement ${report!.agreement} in [${report!.interval!.map((x) => x.toFixed(3)).join(', ')}], mean similarity ${report!.meanSimilarity?.toFixed(3)}`);

    const cli = await runCli(['shadow', 'report', '--route', '*', '--url', stack.gateway.url]);
    assert.equal(cli.code, 0, cli.output);
    assert.match(cli.output, new RegExp(`Shadow pairs for route \\*: ${COUNT}`));
    assert.match(cli.output, /agreement +\d+(\.\d)?% \(\d+\/20; 95% interval/);
  });
});
