import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { activeConditions, transition, webhookBody, type AlertInputs, type AlertThresholds } from '../../src/observe/alerts.js';
import { keyUtilisation } from '../../src/observe/utilisation.js';
import { SlottedSeries } from '../../src/observe/window.js';
import type { KeySnapshot } from '../../src/quota/types.js';

const thresholds: AlertThresholds = { rpm_utilisation: 0.8, daily_utilisation: 0.9, upstream_429_per_minute: 3, queue_depth: 1000, fallback_rate: 0.2 };

const quiet: AlertInputs = {
  keys: [{ provider: 'anthropic', keyId: 'a', healthy: true, utilisation: { rpm: 0.5, rpd: 0.1 } }],
  upstream429LastMinute: 0,
  queueDepth: 0,
  recentRequests: 100,
  recentFallbacks: 0,
};

const kinds = (inputs: AlertInputs) => activeConditions(inputs, thresholds).map((c) => c.id).sort();

describe('alert conditions', () => {
  it('a quiet gateway raises nothing', () => assert.deepEqual(kinds(quiet), []));

  const cases: Array<[string, Partial<AlertInputs>, string[]]> = [
    ['RPM utilisation above 80%', { keys: [{ provider: 'anthropic', keyId: 'a', healthy: true, utilisation: { rpm: 0.81 } }] }, ['rpm_utilisation:anthropic/a']],
    ['RPM utilisation at exactly 80% is fine', { keys: [{ provider: 'anthropic', keyId: 'a', healthy: true, utilisation: { rpm: 0.8 } }] }, []],
    ['daily quota above 90%', { keys: [{ provider: 'anthropic', keyId: 'a', healthy: true, utilisation: { rpd: 0.95 } }] }, ['daily_utilisation:anthropic/a']],
    ['more than 3 upstream 429s a minute', { upstream429LastMinute: 4 }, ['upstream_429']],
    ['3 upstream 429s a minute is fine', { upstream429LastMinute: 3 }, []],
    ['queue depth at 1000', { queueDepth: 1000 }, ['queue_depth']],
    ['a key out of service (and nothing else about it)', { keys: [{ provider: 'openai', keyId: 'm', healthy: false, disabledReason: '401', utilisation: { rpm: 0.99 } }] }, ['key_disabled:openai/m']],
    ['fallback rate above 20%', { recentRequests: 50, recentFallbacks: 11 }, ['fallback_rate']],
    ['fallback rate over too few requests says nothing', { recentRequests: 3, recentFallbacks: 3 }, []],
  ];
  for (const [name, change, expected] of cases) {
    it(name, () => assert.deepEqual(kinds({ ...quiet, ...change }), expected));
  }
});

describe('alert de-duplication', () => {
  it('fires once while a condition lasts and resolves once when it clears', () => {
    const hot = activeConditions({ ...quiet, upstream429LastMinute: 5 }, thresholds);
    let state = transition(new Map(), hot, 1000);
    assert.deepEqual(state.events.map((e) => e.status), ['firing']);
    state = transition(state.firing, activeConditions({ ...quiet, upstream429LastMinute: 9 }, thresholds), 2000);
    assert.deepEqual(state.events, [], 'still firing: no new message');
    state = transition(state.firing, activeConditions(quiet, thresholds), 3000);
    assert.deepEqual(state.events.map((e) => [e.status, e.condition.kind, e.at]), [['resolved', 'upstream_429', 3000]]);
    state = transition(state.firing, activeConditions(quiet, thresholds), 4000);
    assert.deepEqual(state.events, []);
  });

  it('formats Slack and generic JSON webhooks', () => {
    const [condition] = activeConditions({ ...quiet, queueDepth: 1500 }, thresholds);
    const slack = webhookBody({ status: 'firing', condition: condition!, at: 0 }, 'slack');
    assert.match(String(slack.text), /1500 requests are waiting/);
    const json = webhookBody({ status: 'resolved', condition: condition!, at: 0 }, 'json');
    assert.equal(json.status, 'resolved');
    assert.equal(json.alert, 'queue_depth');
    assert.equal(json.value, 1500);
    assert.equal(json.at, '1970-01-01T00:00:00.000Z');
  });
});

describe('utilisation and windows', () => {
  it('per-minute limits by the trailing minute, daily by the bucket, concurrency by in-flight', () => {
    const key: KeySnapshot = {
      id: 'a',
      healthy: true,
      coolingUntil: 0,
      inFlight: 2,
      learning: false,
      predictionMisses: 0,
      dimensions: {
        rpm: { limit: 100, capacity: 2, remaining: 2 },
        rpd: { limit: 1000, capacity: 1000, remaining: 250 },
        tpm: { limit: 10_000, capacity: 200, remaining: 10 },
        concurrency: { limit: 4, capacity: 4, remaining: 2 },
      },
    };
    assert.deepEqual(keyUtilisation(key, { requests: 85, inputTokens: 3000, outputTokens: 1000 }), { rpm: 0.85, rpd: 0.75, tpm: 0.4, concurrency: 0.5 });
  });

  it('slotted series forget what is older than their span', () => {
    const series = new SlottedSeries(['n'] as const, 1000, 61);
    series.add('n', 500);
    series.add('n', 30_500, 2);
    assert.equal(series.sum(30_600, 60_000).n, 3);
    assert.equal(series.sum(61_000, 60_000).n, 2, 'the first is more than a minute old');
    series.add('n', 200_000);
    assert.equal(series.sum(200_000, 60_000).n, 1, 'a slot reused after wrapping starts from zero');
    const points = series.points(200_000);
    assert.equal(points.length, 61);
    assert.deepEqual(points.at(-1), { t: 200_000, n: 1 });
  });
});
