/**
 * Issue 16 across replicas: three spillway processes share one redis-server and one pool of two
 * simulated keys serving 20 requests/s; tenants' ceilings, budgets and weights hold for the fleet,
 * not per replica. Each test has a Redis key prefix of its own.
 */
import Anthropic from '@anthropic-ai/sdk';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { ConfigInput } from '../../src/config/schema.js';
import { skipWithoutRedis, startRedis, type RedisServer } from '../support/redis.js';
import { replicaConfig, spawnGateway, spawnSimulator, type GatewayProcess, type SimulatorProcess } from '../support/replicas.js';
import { simKeys } from '../support/stack.js';
import { fireTenants } from '../support/tenant-load.js';

// Two keys of 600 rpm enforced per second: 20 requests/s together.
const keys = simKeys(2, { rpm: 600, itpm: 10_000_000, otpm: 10_000_000 });

describe('tenants across three replicas sharing Redis', { skip: skipWithoutRedis }, () => {
  let redis: RedisServer;
  let sim: SimulatorProcess;
  let dataDir: string;
  let gateways: GatewayProcess[] = [];
  let urls: string[] = [];

  // One fleet for every test (three gateways take a while to start on a busy machine); each test has tenants of its own.
  const tenants: ConfigInput['tenants'] = {
    paced: { keys: ['sk-paced'], limits: { rpm: 60 } },
    rest: { keys: ['sk-rest'] },
    web: { keys: ['sk-web'], budget: { daily_usd: 0.05 } },
    app: { keys: ['sk-app'], budget: { daily_usd: 0.05 } },
    other: { keys: ['sk-other'] },
    heavy: { keys: ['sk-heavy'], weight: 3 },
    light: { keys: ['sk-light'], weight: 1 },
  };
  // $100 per million tokens either way: a request of a few dozen tokens costs about half a cent.
  const price = { input: 100, output: 100 };

  before(async () => {
    redis = await startRedis();
    sim = await spawnSimulator({ keys, window: 'second', latency: { ttftMs: 20, tokensPerSecond: 2000 } });
    dataDir = mkdtempSync(join(tmpdir(), 'spillway-tenant-replicas-'));
    const prefix = `spillway-tenants-${process.pid}:`;
    gateways = await Promise.all(
      [0, 1, 2].map(() => {
        const config = replicaConfig(sim.url, keys, redis.url, dataDir, prefix);
        // Redis here answers slowly only because the test machine is busy: it is up, and the shares under test are the shared ones.
        const store = { ...(config.store as object), command_timeout: '3s' };
        return spawnGateway({ ...config, store, admin: { keys: ['sk-admin'] }, prices: { 'claude-sonnet-4-6': price }, tenants } as ConfigInput);
      }),
    );
    urls = gateways.map((g) => g.url);
  });
  after(async () => {
    await Promise.all(gateways.map((g) => g.stop()));
    await sim?.stop();
    await redis?.stop();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  async function upstreamSince(before: { requests: number; rateLimited: number; ok: number; inputTokens: number; outputTokens: number }) {
    const now = (await sim.stats()).total;
    return {
      requests: now.requests - before.requests,
      rateLimited: now.rateLimited - before.rateLimited,
      ok: now.ok - before.ok,
      tokens: now.inputTokens + now.outputTokens - before.inputTokens - before.outputTokens,
    };
  }

  it("a tenant ceiling of 60 rpm paces that tenant's burst fleet-wide, with 0 upstream 429s, while another tenant uses the rest of the pool", async () => {
    {
      const before = (await sim.stats()).total;
      // ci: 9 at once, 3 on each replica. One bucket of 60 rpm for the fleet paces them one a second
      // (the last waits about 8 s); a ceiling per replica would let each replica go at that pace (about 2 s).
      const [ci, checkout] = await fireTenants(urls[0]!, [
        { apiKey: 'sk-paced', count: 9, startMs: 0, baseURLs: urls },
        { apiKey: 'sk-rest', count: 150, startMs: 0, baseURLs: urls },
      ]);
      assert.deepEqual(ci!.failures, {});
      assert.deepEqual(checkout!.failures, {});
      const upstream = await upstreamSince(before);
      assert.equal(upstream.ok, 159);
      assert.equal(upstream.rateLimited, 0, 'no upstream 429s');
      const ciSpan = Math.max(...ci!.answeredAt) - Math.min(...ci!.answeredAt);
      assert.ok(ciSpan >= 6000, `ci's 9 answers spread over ${ciSpan} ms (one a second fleet-wide: about 8 s)`);
      // checkout was not held to ci's pace: its 150 took the rest of a 20/s pool.
      const checkoutSpan = Math.max(...checkout!.answeredAt) - Math.min(...checkout!.answeredAt);
      assert.ok(checkoutSpan < 30_000, `checkout's 150 took ${checkoutSpan} ms`);
    }
  });

  it('a 0.05 USD daily budget holds fleet-wide: one at a time across replicas it stops within one request; a burst passes it by no more than what was in flight; all replicas refuse it after', async () => {
    const messages = [{ role: 'user' as const, content: 'Describe a ceramic mug in two sentences.' }];
    const clients = (apiKey: string) => urls.map((baseURL) => new Anthropic({ baseURL, apiKey, maxRetries: 0 }));
    const ask = (client: Anthropic) => client.messages.create({ model: 'claude-sonnet-4-6', max_tokens: 32, messages });
    {
      // One at a time, round robin: a budget per replica would let it spend three times over.
      const web = clients('sk-web');
      let before = (await sim.stats()).total;
      let refusal: unknown;
      let served = 0;
      for (let i = 0; i < 60 && refusal === undefined; i++) await ask(web[i % 3]!).then(() => served++, (e: unknown) => (refusal = e));
      assert.ok(refusal instanceof Anthropic.RateLimitError, String(refusal));
      assert.match((refusal.error as { error: { message: string } }).error.message, /tenant "web" has used its daily budget of \$0\.0500/);
      const webSpend = ((await upstreamSince(before)).tokens * 100) / 1_000_000;
      assert.ok(webSpend >= 0.05 && webSpend <= 0.05 + 0.006, `web spent $${webSpend} over ${served} requests`);
      for (const client of web) await assert.rejects(ask(client), Anthropic.RateLimitError, 'every replica refuses it');

      // A burst of 30 at once across the replicas: spend passes the budget by at most what was in flight.
      const app = clients('sk-app');
      before = (await sim.stats()).total;
      const burst = await Promise.allSettled(Array.from({ length: 30 }, (_, i) => ask(app[i % 3]!)));
      const appServed = burst.filter((r) => r.status === 'fulfilled').length;
      const appSpend = ((await upstreamSince(before)).tokens * 100) / 1_000_000;
      console.log(`budget across replicas: web $${webSpend.toFixed(4)} one at a time (${served} served); app $${appSpend.toFixed(4)} from a burst of 30 (${appServed} served)`);
      assert.ok(appServed > 0 && appServed < 30, `${appServed} of 30 served: the budget stopped the rest`);
      // All 30 were in flight at once, but each was held against the shared budget before it went:
      // the holds stop at the budget, so spend passes it by about one request (three per-replica
      // budgets would have let about three times the budget through).
      assert.ok(appSpend <= 0.05 + 2 * 0.006, `app spent $${appSpend}`);

      // Another tenant is unaffected, on every replica.
      for (const client of clients('sk-other')) await ask(client);
    }
  });

  it('weights hold fleet-wide: a weight-3 tenant on one replica and a weight-1 tenant on the other two, both saturating the pool, get admissions 3:1', async () => {
    {
      const before = (await sim.stats()).total;
      const [checkout, ci] = await fireTenants(urls[0]!, [
        { apiKey: 'sk-heavy', count: 150, startMs: 0, baseURLs: [urls[0]!] },
        { apiKey: 'sk-light', count: 150, startMs: 0, baseURLs: [urls[1]!, urls[2]!] },
      ]);
      assert.deepEqual(checkout!.failures, {});
      assert.deepEqual(ci!.failures, {});
      const upstream = await upstreamSince(before);
      assert.ok(upstream.rateLimited <= upstream.requests * 0.01, `upstream 429s: ${upstream.rateLimited} of ${upstream.requests}`);
      // While both wait (checkout's 150 are done after about 200 answers), counted in answers, after
      // the first second's burst: checkout gets three for each of ci's.
      const answers = [...checkout!.answeredAt.map((t) => ({ t, who: 'checkout' })), ...ci!.answeredAt.map((t) => ({ t, who: 'ci' }))].sort((a, b) => a.t - b.t);
      const window = answers.slice(20, 180);
      const heavy = window.filter((a) => a.who === 'checkout').length;
      const ratio = heavy / (window.length - heavy);
      console.log(`weights across replicas: checkout ${heavy} : ci ${window.length - heavy} (${ratio.toFixed(2)}) in answers 20-180`);
      assert.ok(ratio >= 2.4 && ratio <= 3.6, `checkout:ci = ${ratio.toFixed(2)}, expected 3 ±20%`);
    }
  });
});
