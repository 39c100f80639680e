/**
 * Issue 4: spill-over and fallback across providers.
 */
import assert from 'node:assert/strict';
import Anthropic from '@anthropic-ai/sdk';
import { describe, it } from 'node:test';
import { startGateway } from '../../src/server/gateway.js';
import { startSimulator } from '../../src/sim/index.js';
import { generousLimits } from '../support/stack.js';

const tiny = { rpm: 6 };

describe('spill-over: a tiny Anthropic key plus a large OpenAI-compatible provider', () => {
  it('200 requests at once all succeed, most via the second provider, no client 429', async () => {
    const sim = await startSimulator({
      keys: [
        { id: 'small', key: 'sk-small', limits: tiny },
        { id: 'large', key: 'sk-large', limits: generousLimits },
      ],
      window: 'minute',
    });
    const gateway = await startGateway(
      {
        providers: {
          anthropic: { type: 'anthropic', base_url: sim.url, keys: [{ id: 'small', key: 'sk-small', limits: tiny }] },
          compat: { type: 'openai', base_url: `${sim.url}/v1`, keys: [{ id: 'large', key: 'sk-large', limits: { rpm: 100_000, tpm: 100_000_000 } }] },
        },
        routes: { '*': { strategy: 'spill', targets: [{ provider: 'anthropic' }, { provider: 'compat', model: 'gpt-4o-mini' }] } },
      },
      { port: 0, quiet: true },
    );
    try {
      const client = new Anthropic({ baseURL: gateway.url, apiKey: 'x', maxRetries: 0 });
      const started = Date.now();
      const results = await Promise.all(
        Array.from({ length: 200 }, (_, i) =>
          client.messages
            .create({ model: 'claude-sonnet-4-6', max_tokens: 50, messages: [{ role: 'user', content: `Question ${i}` }] })
            .withResponse()
            .then(({ data, response }) => ({ ok: data.content.length > 0, provider: response.headers.get('x-spillway-provider') })),
        ),
      );
      const makespan = Date.now() - started;
      const byProvider = results.reduce<Record<string, number>>((acc, r) => ({ ...acc, [r.provider ?? '?']: (acc[r.provider ?? '?'] ?? 0) + 1 }), {});
      assert.ok(results.every((r) => r.ok));
      assert.ok((byProvider.compat ?? 0) >= 150, `most via the second provider: ${JSON.stringify(byProvider)}`);
      assert.ok((byProvider.anthropic ?? 0) >= 1, `the first provider is used while it has room: ${JSON.stringify(byProvider)}`);
      const stats = sim.stats();
      assert.equal(stats.total.rateLimited, 0, 'no upstream 429 either');
      assert.ok(makespan < 5000, `makespan ${makespan} ms`);
      console.log(`# spill: 200 requests in ${makespan} ms, ${JSON.stringify(byProvider)}`);
    } finally {
      await gateway.close();
      await sim.close();
    }
  });
});

for (const fault of ['overloaded', 'reset'] as const) {
  describe(`fallback: the first provider ${fault === 'overloaded' ? 'answers 529' : 'resets connections'}`, () => {
    it('every request succeeds through the fallback on its second attempt, with no rest in between', async () => {
      const broken = await startSimulator({ keys: [{ id: 'a', key: 'sk-a', limits: generousLimits }], faults: { [fault]: 1 } });
      const healthy = await startSimulator({ keys: [{ id: 'b', key: 'sk-b', limits: generousLimits }] });
      const gateway = await startGateway(
        {
          providers: {
            anthropic: { type: 'anthropic', base_url: broken.url, keys: [{ id: 'a', key: 'sk-a', limits: { rpm: 100_000 } }] },
            backup: { type: 'openai', base_url: `${healthy.url}/v1`, keys: [{ id: 'b', key: 'sk-b', limits: { rpm: 100_000 } }] },
          },
          routes: { '*': { targets: [{ provider: 'anthropic' }], fallback: [{ provider: 'backup', model: 'gpt-4o-mini' }] } },
        },
        { port: 0, quiet: true },
      );
      try {
        const client = new Anthropic({ baseURL: gateway.url, apiKey: 'x', maxRetries: 0 });
        const results = await Promise.all(
          Array.from({ length: 40 }, async (_, i) => {
            const started = Date.now();
            const { data, response } = await client.messages
              .create({ model: 'claude-sonnet-4-6', max_tokens: 50, messages: [{ role: 'user', content: `Question ${i}` }] })
              .withResponse();
            return { ms: Date.now() - started, attempts: response.headers.get('x-spillway-attempts'), text: data.content[0]?.type === 'text' ? data.content[0].text : '', provider: response.headers.get('x-spillway-provider'), model: response.headers.get('x-spillway-model') };
          }),
        );
        assert.ok(results.every((r) => r.provider === 'backup' && r.model === 'gpt-4o-mini' && r.text.length > 0));
        assert.deepEqual(new Set(results.map((r) => r.attempts)), new Set(['2']), 'one failure, then the fallback');
        // A retry on the failing provider would rest for its backoff or retry-after; a move to the fallback does not.
        const slowest = Math.max(...results.map((r) => r.ms));
        assert.ok(slowest < 2000, `slowest request ${slowest} ms`);
        assert.ok(broken.stats().total.requests >= 40, 'the first provider was tried first');
      } finally {
        await gateway.close();
        await broken.close();
        await healthy.close();
      }
    });
  });
}
