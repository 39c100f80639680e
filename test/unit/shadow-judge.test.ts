/**
 * Issue 18, the judge: the prompt carries both answers (tool calls included) where a model can
 * tell them apart, the verdict is read from a model's JSON (prose around it tolerated, out-of-range
 * scores clamped, anything else refused), and the simulator answers a judge prompt exactly.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseConfig } from '../../src/config/load.js';
import { judgePrompt, JUDGE_MARK, parseVerdict } from '../../src/routing/shadow-judge.js';
import { judgeVerdict } from '../../src/sim/judge.js';

describe('the shadow judge', () => {
  it('the prompt holds the request and both answers, tool calls as text', () => {
    const prompt = judgePrompt('[{"role":"user","content":"weather in Paris?"}]', { text: 'Sunny.', tools: [] }, { text: '', tools: [{ name: 'weather', input: { city: 'Paris' } }] });
    assert.ok(prompt.startsWith(JUDGE_MARK));
    assert.match(prompt, /<request>\n\[\{"role":"user","content":"weather in Paris\?"\}\]\n<\/request>/);
    assert.match(prompt, /<answer_a>\nSunny\.\n<\/answer_a>/);
    assert.match(prompt, /<answer_b>\n\[tool weather \{"city":"Paris"\}\]\n<\/answer_b>/);
  });

  it('reads a verdict out of a model answer, or says there is none', () => {
    assert.deepEqual(parseVerdict('Here you go: {"equivalent": true, "score": 0.9, "reason": "same"} thanks'), { equivalent: true, score: 0.9, reason: 'same' });
    assert.deepEqual(parseVerdict('{"equivalent": false, "score": 7}'), { equivalent: false, score: 1, reason: '' });
    assert.deepEqual(parseVerdict('{"equivalent": false}'), { equivalent: false, score: 0, reason: '' });
    assert.equal(parseVerdict('{"equivalent": "yes", "score": 1}'), undefined);
    assert.equal(parseVerdict('they are the same'), undefined);
    assert.equal(parseVerdict('{not json}'), undefined);
  });

  it('the simulator judges exactly: the same words are equivalent, others scored by overlap', () => {
    const same = JSON.parse(judgeVerdict(judgePrompt('q', { text: 'Hello, World!', tools: [] }, { text: 'hello world', tools: [] }))!);
    assert.deepEqual({ equivalent: same.equivalent, score: same.score }, { equivalent: true, score: 1 });
    const other = JSON.parse(judgeVerdict(judgePrompt('q', { text: 'river stone light', tools: [] }, { text: 'river stone', tools: [] }))!);
    assert.deepEqual({ equivalent: other.equivalent, score: other.score }, { equivalent: false, score: 0.8 });
    assert.equal(judgeVerdict('what is a river?'), undefined, 'an ordinary prompt is answered as usual');
  });

  it('config: a judge must name a known provider and a model', () => {
    const base = { providers: { a: { type: 'anthropic', keys: [{ key: 'k' }] } } };
    const route = (judge: unknown) => ({ ...base, routes: { '*': { targets: [{ provider: 'a' }], shadow: { target: { provider: 'a', model: 'm' }, judge } } } });
    assert.equal(parseConfig(route({ provider: 'a', model: 'j' }), 'c').routes['*']!.shadow!.judge!.model, 'j');
    assert.throws(() => parseConfig(route({ provider: 'nobody', model: 'j' }), 'c'), /routes\.\*\.shadow\.judge\.provider: unknown provider "nobody"/);
    assert.throws(() => parseConfig(route({ provider: 'a' }), 'c'), /judge\.model/);
  });

  it('config: prompt capture is off by default, bounded when on', () => {
    const config = parseConfig({ providers: { a: { type: 'anthropic', keys: [{ key: 'k' }] } }, routes: { '*': { targets: [{ provider: 'a' }] } } }, 'c');
    assert.deepEqual(config.usage.capture, { prompts: false, max_bytes: 65_536, ttl: 7 * 86_400_000, max_prompts: 10_000 });
  });
});
