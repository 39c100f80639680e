/**
 * Issue 6: alerts reach webhooks (Slack-compatible and generic JSON) once when a condition starts,
 * stay quiet while it lasts, and send a recovery message when it clears. A fake clock drives time;
 * the webhook receiver is a real HTTP server on loopback.
 */
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { parseConfig } from '../../src/config/load.js';
import { createObservability, type Observability } from '../../src/observe/index.js';
import type { PoolView } from '../../src/observe/view.js';
import type { KeySnapshot } from '../../src/quota/types.js';

interface Delivery {
  path: string;
  body: Record<string, unknown>;
  raw: string;
  signature: string | undefined;
}

const SECRET = 'whsec-alerts-test';

function key(id: string, healthy = true): KeySnapshot {
  return {
    id,
    healthy,
    ...(healthy ? {} : { disabledReason: 'the provider answered 401' }),
    coolingUntil: 0,
    inFlight: 0,
    learning: false,
    predictionMisses: 0,
    dimensions: { rpm: { limit: 100, capacity: 2, remaining: 2 } },
  };
}

describe('alert webhooks', () => {
  let server: Server;
  let url: string;
  const deliveries: Delivery[] = [];
  let now = Date.UTC(2025, 5, 1, 12, 0, 0);
  let pools: PoolView[] = [{ provider: 'anthropic', keys: [key('team-a')] }];
  let queueDepth = 0;
  let obs: Observability;

  before(async () => {
    server = createServer((req, res) => {
      let data = '';
      req.on('data', (chunk: Buffer) => (data += chunk));
      req.on('end', () => {
        deliveries.push({ path: req.url ?? '', body: JSON.parse(data) as Record<string, unknown>, raw: data, signature: req.headers['x-spillway-signature'] as string | undefined });
        res.end('ok');
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const config = parseConfig(
      {
        providers: { anthropic: { type: 'anthropic', keys: [{ id: 'team-a', key: 'sk-a' }] } },
        usage: { enabled: false },
        alerts: { webhooks: [{ url: `${url}/slack`, format: 'slack' }, { url: `${url}/json`, format: 'json', secret: SECRET }], queue_depth: 50 },
      },
      'test',
    );
    obs = createObservability(config, { pools: async () => pools, queueDepth: () => queueDepth }, { clock: { now: () => now }, startAlerts: false });
  });
  after(async () => {
    obs.close();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  const take = () => deliveries.splice(0, deliveries.length);
  const upstream429 = () => obs.observer.upstream({ provider: 'anthropic', keyId: 'team-a', model: 'claude-haiku-4-5', status: 429, latencyMs: 5 });

  it('a quiet gateway sends nothing', async () => {
    assert.deepEqual(await obs.alerts.evaluate(), []);
    assert.deepEqual(take(), []);
  });

  it('more than 3 upstream 429s in a minute fire once to each webhook, in each form', async () => {
    for (let i = 0; i < 4; i++) upstream429();
    await obs.alerts.evaluate();
    const sent = take();
    assert.equal(sent.length, 2);
    const slack = sent.find((d) => d.path === '/slack')!;
    const json = sent.find((d) => d.path === '/json')!;
    assert.match(String(slack.body.text), /spillway alert.*4 upstream 429s in the last minute/);
    assert.equal(json.body.status, 'firing');
    assert.equal(json.body.alert, 'upstream_429');
    assert.equal(json.body.value, 4);
    assert.equal(json.body.at, new Date(now).toISOString());
    // The hook with a secret is signed (HMAC-SHA256 over "<t>.<body>"); the other is not.
    const [, t, mac] = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(json.signature ?? '') ?? [];
    assert.equal(mac, createHmac('sha256', SECRET).update(`${t}.${json.raw}`).digest('hex'), `signature ${json.signature}`);
    assert.equal(slack.signature, undefined);
  });

  it('stays quiet while the condition lasts', async () => {
    now += 20_000;
    upstream429();
    await obs.alerts.evaluate();
    now += 20_000;
    await obs.alerts.evaluate();
    assert.deepEqual(take(), []);
    assert.deepEqual(obs.alerts.firing().map((c) => c.kind), ['upstream_429']);
  });

  it('sends a recovery message when it clears, once', async () => {
    now += 61_000;
    await obs.alerts.evaluate();
    const sent = take();
    assert.equal(sent.length, 2);
    assert.match(String(sent.find((d) => d.path === '/slack')!.body.text), /recovered.*upstream 429/);
    assert.equal(sent.find((d) => d.path === '/json')!.body.status, 'resolved');
    await obs.alerts.evaluate();
    assert.deepEqual(take(), []);
  });

  it('a key taken out of service is announced at once, and its return too', async () => {
    pools = [{ provider: 'anthropic', keys: [key('team-a', false)] }];
    obs.observer.keyDisabled('anthropic', 'team-a', 'the provider answered 401');
    // keyDisabled evaluates immediately; wait for that delivery without advancing the clock.
    for (let i = 0; i < 50 && deliveries.length < 2; i++) await new Promise((resolve) => setTimeout(resolve, 10));
    const sent = take();
    assert.equal(sent.length, 2);
    assert.match(String(sent.find((d) => d.path === '/slack')!.body.text), /key anthropic\/team-a is out of service: the provider answered 401/);
    pools = [{ provider: 'anthropic', keys: [key('team-a')] }];
    await obs.alerts.evaluate();
    const recovered = take();
    assert.equal(recovered.length, 2);
    assert.equal(recovered.find((d) => d.path === '/json')!.body.status, 'resolved');
    assert.equal(recovered.find((d) => d.path === '/json')!.body.alert, 'key_disabled');
  });

  it('queue depth at the threshold fires and recovers', async () => {
    queueDepth = 50;
    await obs.alerts.evaluate();
    assert.deepEqual(take().map((d) => d.path).sort(), ['/json', '/slack']);
    queueDepth = 49;
    const events = await obs.alerts.evaluate();
    assert.deepEqual(events.map((e) => [e.status, e.condition.kind]), [['resolved', 'queue_depth']]);
    take();
  });
});
