/**
 * Issue 6: GET /metrics in Prometheus format, behind the admin key, with every metric the deploy/
 * Grafana dashboard and alert rules name, and figures that match the traffic that went through.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import Anthropic from '@anthropic-ai/sdk';
import { generousLimits, startStack, type Stack } from '../support/stack.js';

const CLIENT_KEY = 'client-key';
const ADMIN_KEY = 'admin-secret';

/** Metric names in a deploy file, histogram series mapped to their family. */
function metricNames(file: string): Set<string> {
  const text = readFileSync(new URL(`../../deploy/${file}`, import.meta.url), 'utf8');
  return new Set([...text.matchAll(/\bspillway_[a-z0-9_]+/g)].map(([name]) => name.replace(/_(bucket|sum|count)$/, '')));
}

function sample(metrics: string, name: string, labels: Record<string, string>): number | undefined {
  for (const line of metrics.split('\n')) {
    if (!line.startsWith(`${name}{`)) continue;
    const labelText = line.slice(name.length + 1, line.lastIndexOf('}'));
    if (Object.entries(labels).every(([k, v]) => labelText.includes(`${k}="${v}"`))) return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return undefined;
}

describe('GET /metrics', () => {
  let stack: Stack;
  let dataDir: string;
  let metrics: string;

  before(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'spillway-metrics-'));
    stack = await startStack({
      sim: {
        // Per-second buckets: the provider's headers then say what spillway assumes (one request a
        // second), so an early answer cannot make room for a second request of the burst.
        window: 'second',
        latency: { ttftMs: 5 },
        keys: [
          { id: 'k1', key: 'sk-sim-1', limits: { rpm: 60, itpm: 1_000_000, otpm: 1_000_000 } },
          { id: 'k2', key: 'sk-sim-2', limits: generousLimits },
        ],
      },
      config: (simUrl, keys) => ({
        server: { auth: { keys: [CLIENT_KEY] } },
        admin: { keys: [ADMIN_KEY] },
        data_dir: dataDir,
        providers: {
          // One request per second, so a burst with no patience is refused by spillway itself.
          anthropic: { type: 'anthropic', base_url: simUrl, keys: [{ id: 'team-a', key: keys[0]!.key, limits: { rpm: 60 } }] },
          openai: { type: 'openai', base_url: `${simUrl}/v1`, keys: [{ id: 'main', key: keys[1]!.key, limits: { rpm: 6000, tpm: 10_000_000 } }] },
        },
        routes: { 'gpt-*': { targets: [{ provider: 'openai' }] }, '*': { targets: [{ provider: 'anthropic' }] } },
      }),
    });
    for (let i = 0; i < 3; i++) {
      await stack.openai.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: `hello ${i}` }] });
    }
    const stream = await stack.openai.chat.completions.create({ model: 'gpt-4o-mini', stream: true, messages: [{ role: 'user', content: 'stream please' }] });
    for await (const _ of stream) void _;
    const impatient = new Anthropic({ baseURL: stack.gateway.url, apiKey: CLIENT_KEY, maxRetries: 0, defaultHeaders: { 'x-spillway-max-wait': '0' } });
    const results = await Promise.allSettled(
      [0, 1, 2].map((i) => impatient.messages.create({ model: 'claude-haiku-4-5', max_tokens: 16, messages: [{ role: 'user', content: `now ${i}` }] })),
    );
    assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1, 'one fits in the first second, two are refused');
    const response = await fetch(`${stack.gateway.url}/metrics`, { headers: { authorization: `Bearer ${ADMIN_KEY}` } });
    assert.equal(response.status, 200);
    assert.match(response.headers.get('content-type') ?? '', /text\/plain/);
    metrics = await response.text();
  });
  after(async () => {
    await stack.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('needs the admin key: none and a client key are refused', async () => {
    assert.equal((await fetch(`${stack.gateway.url}/metrics`)).status, 401);
    assert.equal((await fetch(`${stack.gateway.url}/metrics`, { headers: { 'x-api-key': CLIENT_KEY } })).status, 401);
  });

  it('has every metric the Grafana dashboard and the Prometheus alert rules use', () => {
    const names = new Set([...metricNames('grafana/spillway-dashboard.json'), ...metricNames('prometheus/spillway-alerts.yaml')]);
    assert.ok(names.size >= 15, `deploy files name ${names.size} metrics`);
    const missing = [...names].filter((name) => !metrics.includes(`# TYPE ${name} `));
    assert.deepEqual(missing, []);
  });

  it('documents every metric it exports in the README', () => {
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    const exported = [...metrics.matchAll(/^# TYPE (spillway_\w+) /gm)].map(([, name]) => name!);
    assert.ok(exported.length >= 20);
    assert.deepEqual(exported.filter((name) => !readme.includes(`\`${name}\``)), []);
  });

  it('counts requests by surface, provider, model and status, and upstream answers by key', () => {
    assert.equal(sample(metrics, 'spillway_requests_total', { surface: 'openai', provider: 'openai', model: 'gpt-4o-mini', status: '200' }), 4);
    assert.equal(sample(metrics, 'spillway_requests_total', { surface: 'anthropic', provider: 'anthropic', status: '200' }), 1);
    assert.equal(sample(metrics, 'spillway_upstream_requests_total', { provider: 'openai', key: 'main', status: '200' }), 4);
    assert.equal(sample(metrics, 'spillway_request_duration_seconds_count', { surface: 'openai', stream: 'true' }), 1);
    assert.ok(sample(metrics, 'spillway_tokens_total', { provider: 'openai', direction: 'output' })! > 0);
    // Cost is per client key: its position in server.auth.keys.
    assert.ok(sample(metrics, 'spillway_cost_usd_total', { provider: 'openai', model: 'gpt-4o-mini', client: 'client-0' })! > 0);
  });

  it("tells spillway's own 429s from upstream 429s", () => {
    assert.equal(sample(metrics, 'spillway_client_429_total', { surface: 'anthropic', reason: 'deadline' }), 2);
    assert.equal(sample(metrics, 'spillway_rejections_total', { surface: 'anthropic', reason: 'deadline' }), 2);
    assert.equal(sample(metrics, 'spillway_upstream_429_total', {}), undefined, 'no upstream 429 happened');
  });

  it('shows per-key quota, health and the queue', () => {
    assert.equal(sample(metrics, 'spillway_quota_limit', { provider: 'anthropic', key: 'team-a', dimension: 'rpm' }), 60);
    assert.equal(sample(metrics, 'spillway_quota_utilisation', { provider: 'anthropic', key: 'team-a', dimension: 'rpm' }), 1 / 60);
    assert.ok(sample(metrics, 'spillway_quota_remaining', { provider: 'openai', key: 'main', dimension: 'tpm' }) !== undefined);
    assert.equal(sample(metrics, 'spillway_key_healthy', { provider: 'openai', key: 'main' }), 1);
    assert.match(metrics, /^spillway_queue_depth 0$/m);
    assert.ok(sample(metrics, 'spillway_time_to_first_token_seconds_count', { surface: 'openai' })! >= 4);
    assert.ok(sample(metrics, 'spillway_gateway_overhead_seconds_count', { surface: 'openai' })! >= 4);
  });
});
