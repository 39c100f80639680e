/**
 * Issue 18, shadow with `store: redis` and a judge: two replicas (two gateways, each with its own
 * Redis connection and its own data_dir, so nothing but Redis can join their pairs) shadow every
 * request to a candidate and have each pair graded by a judge model. The report on either replica
 * holds the pairs of both; every pair carries the judge's verdict, which the simulator gives
 * exactly (equivalent when the two answers are the same words), so the test knows what it must be.
 *
 * The candidate is a simulator that always answers 30 words; the primary answers 12 to 48 words
 * capped at max_tokens 30. So a pair agrees when the primary's answer reached 30 words and differs
 * otherwise: both kinds occur, and the judge must tell them apart.
 *
 * Prompt capture is on too: a replay asked of one replica resends what both captured (Redis).
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import Anthropic from '@anthropic-ai/sdk';
import type { ConfigInput } from '../../src/config/schema.js';
import type { ReplayReport } from '../../src/pipeline/replay.js';
import type { ShadowPair, ShadowReport } from '../../src/routing/shadow-report.js';
import { startGateway, type RunningGateway } from '../../src/server/gateway.js';
import { startSimulator, type Simulator } from '../../src/sim/index.js';
import { skipWithoutRedis, startRedis, type RedisServer } from '../support/redis.js';
import { simKeys } from '../support/stack.js';

const PER_REPLICA = 10;
const words = (text: string) => (text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? []).join(' ');

function config(primaryUrl: string, candidateUrl: string, redisUrl: string, prefix: string, dataDir: string): ConfigInput {
  const [k1, k2] = simKeys(2);
  return {
    store: { type: 'redis', url: redisUrl, prefix },
    data_dir: dataDir,
    usage: { enabled: false, capture: { prompts: true, ttl: '1h' } },
    cache: { exact: { enabled: false } },
    providers: {
      anthropic: { type: 'anthropic', base_url: primaryUrl, keys: [{ id: k1!.id, key: k1!.key, limits: k1!.limits }] },
      vendor: { type: 'anthropic', base_url: candidateUrl, keys: [{ id: k2!.id, key: k2!.key, limits: k2!.limits }] },
      grader: { type: 'anthropic', base_url: primaryUrl, keys: [{ id: k2!.id, key: k2!.key, limits: k2!.limits }] },
    },
    routes: {
      '*': {
        targets: [{ provider: 'anthropic' }],
        shadow: { target: { provider: 'vendor', model: 'vendor-large' }, share: 1, judge: { provider: 'grader', model: 'judge-small' } },
      },
    },
  };
}

async function reportOf(url: string): Promise<ShadowReport> {
  return (await (await fetch(`${url}/admin/shadow?route=*&since=1h`)).json()) as ShadowReport;
}

describe('shadow pairs and captured prompts in Redis, shared by two replicas, graded by a judge', { skip: skipWithoutRedis }, () => {
  let redis: RedisServer;
  let primary: Simulator;
  let candidate: Simulator;
  const replicas: RunningGateway[] = [];
  const dirs: string[] = [];

  before(async () => {
    redis = await startRedis();
    primary = await startSimulator({ keys: simKeys(2) });
    candidate = await startSimulator({ keys: simKeys(2), outputTokens: 30 });
    const prefix = `shadow-${randomUUID()}:`;
    for (let i = 0; i < 2; i++) {
      const dir = mkdtempSync(join(tmpdir(), 'spillway-shadow-replica-'));
      dirs.push(dir);
      replicas.push(await startGateway(config(primary.url, candidate.url, redis.url, prefix, dir), { port: 0, quiet: true }));
    }
  });
  after(async () => {
    await Promise.all(replicas.map((g) => g.close()));
    await primary?.close();
    await candidate?.close();
    await redis?.stop();
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  it(`${PER_REPLICA} requests on each replica: either replica reports all ${2 * PER_REPLICA} pairs, each judged as its texts say`, async () => {
    const answers = new Set<string>();
    await Promise.all(
      replicas.flatMap((replica, r) =>
        Array.from({ length: PER_REPLICA }, async (_, i) => {
          const client = new Anthropic({ baseURL: replica.url, apiKey: 'client', maxRetries: 0 });
          const { data, response } = await client.messages
            .create({ model: 'claude-sonnet-4-6', max_tokens: 30, messages: [{ role: 'user', content: `replica ${r} question ${i}` }] })
            .withResponse();
          assert.equal(response.headers.get('x-spillway-provider'), 'anthropic', 'the client is answered by the primary');
          answers.add(data.content.map((b) => (b.type === 'text' ? b.text : '')).join(''));
        }),
      ),
    );

    let reports: ShadowReport[] = [];
    for (let tries = 0; tries < 300; tries++) {
      reports = await Promise.all(replicas.map((g) => reportOf(g.url)));
      if (reports.every((report) => report.pairs >= 2 * PER_REPLICA)) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    for (const report of reports) assert.equal(report.pairs, 2 * PER_REPLICA, 'each replica reports the pairs of both');

    // Every pair, with its judge's verdict, read from one replica.
    const all: ShadowPair[] = await replicas[0]!.gateway.shadow.list('*', 0, 1000);
    assert.equal(all.length, 2 * PER_REPLICA);
    assert.equal(new Set(all.map((pair) => pair.requestId)).size, 2 * PER_REPLICA, 'one pair per request');
    let same = 0;
    for (const pair of all) {
      assert.ok(pair.judge, `pair ${pair.requestId} was judged`);
      assert.equal(pair.judge.judge, 'grader/judge-small');
      const equal = words(pair.primary.text) === words(pair.candidate.text);
      assert.equal(pair.judge.equivalent, equal, `the judge's verdict on ${pair.requestId} follows its texts`);
      assert.equal(pair.score.exact, equal);
      assert.ok(pair.judge.score >= 0 && pair.judge.score <= 1 && (!equal || pair.judge.score === 1));
      if (equal) same++;
      assert.ok(answers.has(pair.primary.text), 'the pair holds an answer a client got');
    }
    assert.ok(same > 0 && same < all.length, `both equivalent and different pairs occur (${same} of ${all.length} the same)`);

    const judge = reports[1]!.judge;
    assert.ok(judge, 'the report summarises the judge');
    assert.equal(judge.judged, 2 * PER_REPLICA);
    assert.equal(judge.equivalent, same);
    // A 25-word prefix of a 30-word answer is "similar" to the scores but not equivalent to this judge.
    assert.equal(judge.concordance, all.filter((pair) => pair.judge!.equivalent === pair.score.agree).length / all.length);
    assert.ok(judge.interval[0] <= judge.agreement && judge.agreement <= judge.interval[1]);
    console.log(`shadow on 2 replicas: ${reports[1]!.pairs} pairs, judge: ${judge.equivalent}/${judge.judged} equivalent`);

    // The judge's requests went to the grader's key on the primary's simulator, one per pair.
    const graded = primary.stats().keys.k2!.ok;
    assert.equal(graded, 2 * PER_REPLICA, 'one judge request per pair');

    // Replay, asked of the second replica, finds the prompts both captured and judges them too, once
    // they are in Redis (each replica sends its captures within 250 ms).
    for (let tries = 0; tries < 50; tries++) {
      if ((await replicas[1]!.gateway.capture.prompts().list('*', 0, 1000)).length >= 2 * PER_REPLICA) break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const copies = candidate.stats().keys.k2!.ok;
    const replayed = (await (
      await fetch(`${replicas[1]!.url}/admin/replay`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ route: '*', since: '1h', candidate: 'vendor/vendor-large' }) })
    ).json()) as ReplayReport;
    assert.equal(replayed.prompts, 2 * PER_REPLICA, 'the prompts of both replicas');
    assert.equal(replayed.pairs, 2 * PER_REPLICA);
    assert.equal(candidate.stats().keys.k2!.ok - copies, 2 * PER_REPLICA);
    assert.equal(replayed.exactMatches, same, 'the same candidate answers the same prompts as in the shadow');
    assert.equal(replayed.judge?.judged, 2 * PER_REPLICA);
    assert.equal(replayed.judge?.equivalent, same);
  });
});
