/**
 * Issue 18, automatic rollback: a canary whose candidate starts failing half its requests is
 * rolled back within one window: its share goes to 0 (traffic returns to the primary), an alert
 * names the error rate, and the dashboard shows it. The candidate is a simulator of its own with
 * a 50% server-error fault; the client never sees those failures (the primary takes them over).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import Anthropic from '@anthropic-ai/sdk';
import { startSimulator, type Simulator } from '../../src/sim/index.js';
import { simKeys, startStack, type Stack } from '../support/stack.js';
import { startWebhookSink, type WebhookSink } from '../support/webhook-sink.js';

const WINDOW_MS = 60_000;

describe('automatic rollback of a failing canary', () => {
  let stack: Stack;
  let candidate: Simulator;
  let hook: WebhookSink;

  before(async () => {
    candidate = await startSimulator({ keys: simKeys(1), faults: { serverError: 0.5 }, seed: 7 });
    hook = await startWebhookSink();
    stack = await startStack({
      config: (simUrl, keys) => ({
        usage: { enabled: false },
        cache: { exact: { enabled: false } },
        alerts: { webhooks: [{ url: hook.url, format: 'json' }] },
        providers: {
          anthropic: { type: 'anthropic', base_url: simUrl, keys: [{ id: keys[0]!.id, key: keys[0]!.key, limits: keys[0]!.limits }] },
          vendor: { type: 'anthropic', base_url: candidate.url, keys: [{ id: 'v1', key: simKeys(1)[0]!.key, limits: keys[0]!.limits }] },
        },
        routes: {
          '*': {
            targets: [{ provider: 'anthropic' }],
            canary: { target: { provider: 'vendor' }, share: 0.5, by: 'request', rollback_when: { error_rate: 0.05, min_requests: 20, window: WINDOW_MS } },
          },
        },
      }),
    });
  });
  after(async () => {
    await stack?.close();
    await candidate?.close();
    await hook?.close();
  });

  const share = async () => ((await (await fetch(`${stack.gateway.url}/admin/traffic`)).json()) as { canaries: Array<{ share: number }> }).canaries[0]!.share;

  it('a candidate failing 50% is rolled back within one window, with an alert naming the error rate, shown on the dashboard', async () => {
    const client = new Anthropic({ baseURL: stack.gateway.url, apiKey: 'client', maxRetries: 0 });
    const started = Date.now();
    let sent = 0;
    let failed = 0;
    while ((await share()) > 0 && sent < 400 && Date.now() - started < WINDOW_MS) {
      await Promise.all(
        Array.from({ length: 4 }, async (_, i) => {
          try {
            await client.messages.create({ model: 'claude-sonnet-4-6', max_tokens: 8, messages: [{ role: 'user', content: `rollback ${sent + i}` }] });
          } catch {
            failed += 1;
          }
        }),
      );
      sent += 4;
    }
    const tookMs = Date.now() - started;
    console.log(`rollback: after ${sent} requests, ${tookMs} ms; candidate saw ${candidate.stats().total.requests} attempts`);
    assert.equal(await share(), 0, 'the canary was rolled back');
    assert.ok(tookMs < WINDOW_MS, `rolled back ${tookMs} ms after the candidate started failing`);
    assert.equal(failed, 0, 'no client saw the candidate fail: the primary took those requests over');

    const alert = hook.bodies.find((body) => body.alert === 'canary_rollback');
    assert.ok(alert, `alerted: ${JSON.stringify(hook.bodies)}`);
    assert.match(String(alert.summary), /canary on route \* rolled back to 0%: candidate error rate \d+\.\d% over \d+ attempts vs primary 0\.0%/);
    assert.ok(Number(alert.value) > 0.25 && Number(alert.value) < 0.75, `error rate ${alert.value}`);

    const state = (await (await fetch(`${stack.gateway.url}/admin/state`)).json()) as { alerts: Array<{ kind: string; summary: string }> };
    assert.ok(state.alerts.some((a) => a.kind === 'canary_rollback' && /candidate error rate/.test(a.summary)), 'the dashboard shows the rollback');

    const before = candidate.stats().total.requests;
    for (let i = 0; i < 20; i++) {
      const { response } = await client.messages.create({ model: 'claude-sonnet-4-6', max_tokens: 8, messages: [{ role: 'user', content: `after ${i}` }] }).withResponse();
      assert.equal(response.headers.get('x-spillway-provider'), 'anthropic');
    }
    assert.equal(candidate.stats().total.requests, before, 'nothing goes to the candidate after the rollback');

    // An operator setting the share again ends the alert.
    await fetch(`${stack.gateway.url}/admin/canary/*`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"share":0.1}' });
    const resolved = () => hook.bodies.some((body) => body.alert === 'canary_rollback' && body.status === 'resolved');
    for (let tries = 0; tries < 100 && !resolved(); tries++) await new Promise((resolve) => setTimeout(resolve, 50));
    assert.ok(resolved(), 'the rollback alert resolves');
  });
});
