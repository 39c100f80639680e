import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { routeSchema } from '../../src/config/schema.js';
import { featuresOf, isClaudeCodeBackground, type RequestFeatures } from '../../src/routing/features.js';
import { planRequest } from '../../src/routing/plan.js';
import { ruleMatches } from '../../src/routing/rules.js';
import { chooseTier, remainingShare } from '../../src/routing/tiers.js';
import { weightedOrder } from '../../src/routing/weighted.js';
import type { KeySnapshot } from '../../src/quota/types.js';

const features = (over: Partial<RequestFeatures> = {}): RequestFeatures => ({
  surface: 'anthropic',
  model: 'claude-sonnet-4-6',
  inputTokens: 1000,
  maxTokens: 4096,
  hasTools: true,
  hasThinking: false,
  headers: {},
  ...over,
});

describe('rules: data in config, evaluated in order, first match wins', () => {
  const route = routeSchema.parse({
    targets: [{ provider: 'anthropic' }],
    fallback: [{ provider: 'local', model: 'qwen' }],
    rules: [
      { when: { header: { 'x-spillway-tier': 'simple' } }, target: { provider: 'openai', model: 'gpt-4o-mini' } },
      { when: { claude_code_background: true }, target: { provider: 'local', model: 'qwen' } },
      { when: { max_input_tokens: 200, has_tools: false }, target: { provider: 'openai', model: 'gpt-4o-mini' } },
    ],
  });
  const plan = (f: RequestFeatures) => planRequest(route, f.model, { features: f, remainingShare: () => 1 });

  for (const [name, f, expected] of [
    ['a header tag', features({ headers: { 'x-spillway-tier': 'simple' } }), 'openai/gpt-4o-mini'],
    ['a Claude Code background request (haiku, no tools)', features({ model: 'claude-haiku-4-5', hasTools: false }), 'local/qwen'],
    // Not haiku and max_tokens 4096: not background, so the size rule decides.
    ['a small prompt without tools', features({ model: 'x', inputTokens: 100, hasTools: false }), 'openai/gpt-4o-mini'],
    ['an agent turn with tools', features(), 'anthropic/claude-sonnet-4-6'],
  ] as const) {
    it(name, () => {
      const first = plan(f).primary[0]!;
      const got = `${first.provider}/${first.model}`;
      assert.equal(got, expected);
      assert.deepEqual(plan(f).fallback.map((c) => c.provider), ['local']);
    });
  }

  it('every condition a rule states must hold', () => {
    assert.equal(ruleMatches({ min_input_tokens: 500, has_thinking: true }, features({ hasThinking: true })), true);
    assert.equal(ruleMatches({ min_input_tokens: 5000, has_thinking: true }, features({ hasThinking: true })), false);
    assert.equal(ruleMatches({}, features()), true);
  });

  it('Claude Code background: no tools and haiku or max_tokens ≤ 512', () => {
    assert.equal(isClaudeCodeBackground(features({ hasTools: false, maxTokens: 512, model: 'claude-sonnet-4-6' })), true);
    assert.equal(isClaudeCodeBackground(features({ hasTools: true, model: 'claude-haiku-4-5' })), false);
    assert.equal(isClaudeCodeBackground(features({ surface: 'openai', hasTools: false, model: 'claude-haiku-4-5' })), false);
  });

  it('features read thinking and tools from the body', () => {
    const f = featuresOf('anthropic', { model: 'm', thinking: { type: 'adaptive' }, tools: [{ name: 't' }] }, { 'X-Spillway-Tier': 'simple' }, { inputTokens: 5, maxTokens: 10 });
    assert.equal(f.hasThinking, true);
    assert.equal(f.hasTools, true);
    assert.equal(f.headers['x-spillway-tier'], 'simple');
  });
});

describe('tiering by remaining quota', () => {
  const tiers = routeSchema.parse({
    targets: [{ provider: 'anthropic' }],
    tiers: [
      { model: 'claude-opus-4-8', min_remaining: 0.7 },
      { model: 'claude-sonnet-4-6', min_remaining: 0.3 },
      { model: 'claude-haiku-4-5' },
    ],
  });
  for (const [share, model] of [[1, 'claude-opus-4-8'], [0.7, 'claude-opus-4-8'], [0.5, 'claude-sonnet-4-6'], [0.29, 'claude-haiku-4-5'], [0, 'claude-haiku-4-5']] as const) {
    it(`${share * 100}% left → ${model}`, () => {
      assert.equal(chooseTier(tiers.tiers, share)?.model, model);
      const plan = planRequest(tiers, 'claude-opus-4-8', { features: features(), remainingShare: () => share });
      assert.equal(plan.primary[0]!.model, model);
    });
  }

  const key = (remaining: number, over: Partial<KeySnapshot> = {}): KeySnapshot => ({
    id: 'k',
    healthy: true,
    coolingUntil: 0,
    inFlight: 0,
    learning: false,
    predictionMisses: 0,
    dimensions: { rpm: { limit: 100, capacity: 100, remaining }, itpm: { limit: 1000, capacity: 1000, remaining: 1000 } },
    ...over,
  });
  it('a pool share is each key\'s tightest dimension, averaged; cooling or disabled keys count as empty', () => {
    assert.equal(remainingShare([key(50)], 0), 0.5);
    assert.equal(remainingShare([key(100), key(100, { healthy: false })], 0), 0.5);
    assert.equal(remainingShare([key(100, { coolingUntil: 10 })], 5), 0);
    assert.equal(remainingShare([], 0), 1);
  });
  it('a full per-minute bucket that holds a sixtieth of its limit (no burst learned yet) counts as full, not 2% left', () => {
    const full = key(100, { dimensions: { tpm: { limit: 6000, capacity: 100, remaining: 100 }, rpd: { limit: 300, capacity: 300, remaining: 150 } } });
    assert.equal(remainingShare([full], 0), 0.5);
  });
});

describe('weighted: split by weight among targets with room', () => {
  it('draws by weight', () => {
    const weights = [40, 30, 20, 10];
    const counts = [0, 0, 0, 0];
    let seed = 1;
    const random = () => ((seed = (seed * 16807) % 2147483647) - 1) / 2147483646;
    for (let i = 0; i < 10_000; i++) counts[weightedOrder(weights, [true, true, true, true], random)[0]!]! += 1;
    counts.forEach((count, i) => assert.ok(Math.abs(count / 10_000 - weights[i]! / 100) < 0.02, `target ${i}: ${count}`));
  });
  it('targets without room are never drawn, and come last in config order', () => {
    assert.deepEqual(weightedOrder([40, 30, 20], [false, true, false], () => 0), [1, 0, 2]);
    assert.deepEqual(weightedOrder([40, 30, 20], [false, false, false], () => 0.5), [0, 1, 2]);
  });
});
