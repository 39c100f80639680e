/**
 * Issue 18, the canary: at 0.3 by user, 30% ± 5% of 100 users are served by the candidate, each
 * user on the same side for all its requests across two replicas; raised to 0.7 on one replica,
 * both follow within a second and only users who were on the primary move. Real SDK clients,
 * real Redis, the simulator behind two providers.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import type { ConfigInput } from '../../src/config/schema.js';
import { startGateway, type RunningGateway } from '../../src/server/gateway.js';
import { startSimulator, type Simulator } from '../../src/sim/index.js';
import { skipWithoutRedis, startRedis, type RedisServer } from '../support/redis.js';
import { simKeys } from '../support/stack.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const USERS = 100;
const REQUESTS = 1000;

function config(simUrl: string, redisUrl: string, dataDir: string): ConfigInput {
  const [k1, k2] = simKeys(2);
  return {
    store: { type: 'redis', url: redisUrl, prefix: 'canary-test:' },
    data_dir: dataDir,
    usage: { enabled: false },
    // Each request must reach a provider: no answer from the cache.
    cache: { exact: { enabled: false } },
    providers: {
      anthropic: { type: 'anthropic', base_url: simUrl, keys: [{ id: k1!.id, key: k1!.key, limits: k1!.limits }] },
      vendor: { type: 'anthropic', base_url: simUrl, keys: [{ id: k2!.id, key: k2!.key, limits: k2!.limits }] },
    },
    routes: {
      '*': {
        targets: [{ provider: 'anthropic' }],
        canary: { target: { provider: 'vendor', model: 'vendor-large' }, share: 0.3, steps: [0.1, 0.3, 0.7, 1], by: 'user' },
      },
    },
  };
}

/** Each user's side, from x-spillway-provider, over `count` requests spread over the replicas (Anthropic metadata.user_id, OpenAI user by turns). */
async function sides(urls: string[], count: number): Promise<Map<number, Set<string>>> {
  const anthropic = urls.map((baseURL) => new Anthropic({ baseURL, apiKey: 'client', maxRetries: 0 }));
  const openai = urls.map((baseURL) => new OpenAI({ baseURL: `${baseURL}/v1`, apiKey: 'client', maxRetries: 0 }));
  const seen = new Map<number, Set<string>>();
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < count; i = next++) {
      const user = i % USERS;
      const replica = i % urls.length;
      let provider: string | null;
      if (i % 2 === 0) {
        const { response } = await anthropic[replica]!.messages
          .create({ model: 'claude-sonnet-4-6', max_tokens: 8, metadata: { user_id: `user-${user}` }, messages: [{ role: 'user', content: `hi ${i}` }] })
          .withResponse();
        provider = response.headers.get('x-spillway-provider');
      } else {
        const { response } = await openai[replica]!.chat.completions
          .create({ model: 'claude-sonnet-4-6', max_tokens: 8, user: `user-${user}`, messages: [{ role: 'user', content: `hi ${i}` }] })
          .withResponse();
        provider = response.headers.get('x-spillway-provider');
      }
      if (!seen.has(user)) seen.set(user, new Set());
      seen.get(user)!.add(provider ?? '');
    }
  };
  await Promise.all(Array.from({ length: 16 }, worker));
  return seen;
}

function onCandidate(seen: Map<number, Set<string>>): Set<number> {
  for (const [user, providers] of seen) assert.equal(providers.size, 1, `user ${user} was served by ${[...providers].join(' and ')}`);
  return new Set([...seen].filter(([, providers]) => providers.has('vendor')).map(([user]) => user));
}

function runCli(args: string[]): Promise<{ code: number | null; output: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  return new Promise((resolve) => child.on('exit', (code) => resolve({ code, output })));
}

describe('a canary by user across two replicas', { skip: skipWithoutRedis }, () => {
  let redis: RedisServer;
  let sim: Simulator;
  let gateways: RunningGateway[] = [];
  let dataDir: string;

  before(async () => {
    redis = await startRedis();
    sim = await startSimulator({ keys: simKeys(2) });
    dataDir = mkdtempSync(join(tmpdir(), 'spillway-canary-'));
    gateways = await Promise.all([0, 1].map(() => startGateway(config(sim.url, redis.url, dataDir), { port: 0, quiet: true })));
  });
  after(async () => {
    await Promise.all(gateways.map((g) => g.close()));
    await sim?.close();
    await redis?.stop();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it(`0.3 by user: 30% ± 5% of ${USERS} users on the candidate, each always on one side over ${REQUESTS} requests; raised to 0.7, only primary users move`, async () => {
    const urls = gateways.map((g) => g.url);
    const at03 = onCandidate(await sides(urls, REQUESTS));
    console.log(`canary 0.3: ${at03.size} of ${USERS} users on the candidate`);
    assert.ok(Math.abs(at03.size - 30) <= 5, `${at03.size} users on the candidate`);
    assert.equal(sim.stats().keys.k2!.ok, [...Array(REQUESTS).keys()].filter((i) => at03.has(i % USERS)).length, 'the candidate served exactly its users’ requests');

    const raised = await fetch(`${urls[0]}/admin/canary/${encodeURIComponent('*')}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"share":0.7}' });
    assert.equal(raised.status, 200);
    assert.equal(((await raised.json()) as { share: number }).share, 0.7);
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const status = (await (await fetch(`${urls[1]}/admin/traffic`)).json()) as { canaries: Array<{ route: string; share: number }> };
    assert.deepEqual(status.canaries.map((c) => [c.route, c.share]), [['*', 0.7]], 'the other replica has the new share within a second');

    const at07 = onCandidate(await sides(urls, REQUESTS));
    console.log(`canary 0.7: ${at07.size} of ${USERS} users on the candidate`);
    assert.ok(Math.abs(at07.size - 70) <= 5, `${at07.size} users on the candidate`);
    for (const user of at03) assert.ok(at07.has(user), `user ${user} stayed on the candidate`);
  });

  it('spillway canary promote moves the share to the next step; demote and set go back', async () => {
    const url = gateways[1]!.url;
    const promote = await runCli(['canary', 'promote', '*', '--url', url]);
    assert.equal(promote.code, 0, promote.output);
    assert.match(promote.output, /"share": 1/);
    const demote = await fetch(`${url}/admin/canary/*`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"demote":true}' });
    assert.equal(((await demote.json()) as { share: number }).share, 0.7);
    const bad = await fetch(`${url}/admin/canary/*`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"share":3}' });
    assert.equal(bad.status, 400);
    const unknown = await fetch(`${url}/admin/canary/no-such-route`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"promote":true}' });
    assert.equal(unknown.status, 404);
  });
});
