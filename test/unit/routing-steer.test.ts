/**
 * Issue 18: kill-switch flags and canary shares steer a plan. Pure functions, no clock.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { canaryIdentity, canaryPoint, canarySide, demoted, promoted, userOf } from '../../src/routing/canary.js';
import { MemoryCanaryPoints } from '../../src/routing/canary-points.js';
import type { Plan } from '../../src/routing/plan.js';
import { steerPlan, type SteerInput } from '../../src/routing/steer.js';

const plan: Plan = {
  strategy: 'spill',
  primary: [{ provider: 'anthropic', model: 'claude-sonnet-4-6', fallback: false }],
  fallback: [{ provider: 'local', model: 'qwen', fallback: true }],
};

const base: SteerInput = {
  routeName: 'claude-sonnet-4-6',
  model: 'claude-sonnet-4-6',
  flags: { 'claude-only': { route: '*', force: { provider: 'anthropic' }, on: false }, 'cheap-coder': { route: 'coder', force: { provider: 'local', model: 'qwen' }, on: false } },
  flagOn: () => false,
  canary: { target: { provider: 'vendor', model: 'v-large' }, share: 0.3, steps: [0.1, 0.3, 0.7, 1], by: 'user' },
  canaryShare: 0.3,
  point: 0.5,
};

describe('kill-switch flags', () => {
  it('a flag that is on for every route sends the request to its target only: no canary, no fallback', () => {
    const steered = steerPlan(plan, { ...base, flagOn: (name) => name === 'claude-only', canaryShare: 1 });
    assert.equal(steered.flag, 'claude-only');
    assert.deepEqual(steered.plan.primary, [{ provider: 'anthropic', model: 'claude-sonnet-4-6', fallback: false }]);
    assert.deepEqual(steered.plan.fallback, []);
    assert.equal(steered.canary, undefined);
  });

  it('a flag for another route leaves this one alone; an off flag changes nothing', () => {
    assert.equal(steerPlan(plan, { ...base, flagOn: (name) => name === 'cheap-coder', canaryShare: 0 }).plan, plan);
    assert.equal(steerPlan(plan, { ...base, canaryShare: 0 }).plan, plan);
    const coder = steerPlan(plan, { ...base, routeName: 'coder', flagOn: (name) => name === 'cheap-coder' });
    assert.deepEqual(coder.plan.primary, [{ provider: 'local', model: 'qwen', fallback: false }]);
  });
});

describe('canary', () => {
  it('0.3 by user over 100 users: 30% ± 5% of users on the candidate, each always on the same side over 1,000 requests', async () => {
    const points = new MemoryCanaryPoints();
    const pointOf = new Map<number, number>();
    // Users arrive in a shuffled order: the split does not depend on who comes first.
    const users = Array.from({ length: 100 }, (_, i) => i).sort(() => Math.random() - 0.5);
    for (const user of users) pointOf.set(user, await points.pointOf('route', `user:u${user}`));
    const sideOf = (user: number, share: number) => steerPlan(plan, { ...base, canaryShare: share, point: pointOf.get(user)! }).canary;
    const candidates = users.filter((u) => sideOf(u, 0.3) === 'candidate');
    assert.ok(Math.abs(candidates.length - 30) <= 5, `${candidates.length} of 100 users on the candidate`);
    for (let request = 0; request < 1000; request++) {
      const user = request % 100;
      assert.equal(await points.pointOf('route', `user:u${user}`), pointOf.get(user), 'a user keeps its point');
      assert.equal(sideOf(user, 0.3), candidates.includes(user) ? 'candidate' : 'primary', `user ${user}, request ${request}`);
    }
    const at07 = users.filter((u) => sideOf(u, 0.7) === 'candidate');
    for (const user of candidates) assert.ok(at07.includes(user), `user ${user} stays on the candidate when the share rises`);
    assert.ok(Math.abs(at07.length - 70) <= 5, `${at07.length} of 100 users at 0.7`);
  });

  it('raising the share, step by step over 1,000 users, only ever moves users from the primary to the candidate (hashed points too)', () => {
    let onCandidate = new Set<number>();
    for (const share of [0, 0.1, 0.3, 0.7, 1]) {
      const now = new Set(Array.from({ length: 1000 }, (_, i) => i).filter((u) => canarySide(canaryPoint('route', `user:${u}`), share) === 'candidate'));
      for (const user of onCandidate) assert.ok(now.has(user), `user ${user} moved back at ${share}`);
      onCandidate = now;
    }
    assert.equal(onCandidate.size, 1000);
  });

  it('on the candidate side, the candidate goes first and the route’s own targets follow as fallbacks', () => {
    const steered = steerPlan(plan, { ...base, point: 0.1 });
    assert.equal(steered.canary, 'candidate');
    assert.deepEqual(steered.plan.primary, [{ provider: 'vendor', model: 'v-large', fallback: false }]);
    assert.deepEqual(
      steered.plan.fallback.map((c) => `${c.provider}/${c.model}/${c.fallback}`),
      ['anthropic/claude-sonnet-4-6/true', 'local/qwen/true'],
    );
    assert.equal(steerPlan(plan, { ...base, point: 0.9 }).plan, plan);
  });

  it('a plan a rule chose is left alone by the canary', () => {
    const ruled: Plan = { ...plan, rule: 'rule 0' };
    assert.deepEqual(steerPlan(ruled, { ...base, point: 0 }), { plan: ruled });
  });

  it('the user is x-spillway-user, else Anthropic metadata.user_id, else OpenAI user; without one, the tenant', () => {
    assert.equal(userOf({ metadata: { user_id: 'a' }, user: 'b' }, { 'x-spillway-user': 'h' }), 'h');
    assert.equal(userOf({ metadata: { user_id: 'a' }, user: 'b' }, {}), 'a');
    assert.equal(userOf({ user: 'b' }, {}), 'b');
    assert.equal(canaryIdentity('user', {}, {}, 'team-x'), 'tenant:team-x');
    assert.equal(canaryIdentity('tenant', { user: 'b' }, {}, 'team-x'), 'tenant:team-x');
    assert.equal(canaryIdentity('request', { user: 'b' }, {}, 'team-x'), undefined);
  });

  it('promote walks up the steps and stops at the top; demote walks down to 0', () => {
    const steps = [0.1, 0.3, 0.7, 1];
    assert.deepEqual([0, 0.1, 0.2, 0.3, 0.7, 1].map((s) => promoted(steps, s)), [0.1, 0.3, 0.3, 0.7, 1, 1]);
    assert.deepEqual([1, 0.7, 0.5, 0.1, 0].map((s) => demoted(steps, s)), [0.7, 0.3, 0.3, 0, 0]);
  });
});
