/**
 * Issue 18: how a shadow pair is scored, and what the report makes of many. Pure functions.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { shadowReport, wilsonInterval, type ShadowPair } from '../../src/routing/shadow-report.js';
import { asksForJson, saidIn, scorePair, similarity } from '../../src/routing/shadow-score.js';
import { makeEntry } from '../../src/cache/entry.js';

const said = (text: string, tools: Array<{ name: string; input: unknown }> = []) => ({ text, tools });

describe('scoring a shadow pair', () => {
  it('the same text is an exact match; case and punctuation do not lower the similarity', () => {
    assert.deepEqual(scorePair(said('Paris.'), said('Paris.'), false), { exact: true, similarity: 1, sameTools: true, sameJsonShape: undefined, agree: true });
    const loose = scorePair(said('The capital is Paris!'), said('the capital is paris'), false);
    assert.equal(loose.exact, false);
    assert.equal(loose.similarity, 1);
    assert.equal(loose.agree, true);
  });

  it('different answers disagree, and the similarity says how far apart they are', () => {
    const score = scorePair(said('The capital of France is Paris'), said('I cannot help with that request'), false);
    assert.equal(score.agree, false);
    assert.ok(score.similarity < 0.2, String(score.similarity));
    assert.equal(similarity('a b c d', 'a b c e'), 0.75);
  });

  it('the same tool with the same arguments (keys in any order) matches; other arguments do not', () => {
    const a = said('', [{ name: 'get_weather', input: { city: 'Paris', unit: 'c' } }]);
    assert.equal(scorePair(a, said('', [{ name: 'get_weather', input: { unit: 'c', city: 'Paris' } }]), false).sameTools, true);
    const other = scorePair(a, said('', [{ name: 'get_weather', input: { city: 'Lyon', unit: 'c' } }]), false);
    assert.equal(other.sameTools, false);
    assert.equal(other.agree, false);
  });

  it('when JSON was asked for, both must be valid JSON of the same shape', () => {
    assert.equal(asksForJson({ response_format: { type: 'json_object' } }), true);
    assert.equal(asksForJson({}), false);
    assert.equal(scorePair(said('{"a":1,"b":["x"]}'), said('{"b":["y","z"],"a":2}'), true).sameJsonShape, true);
    const broken = scorePair(said('{"a":1}'), said('{"a":1'), true);
    assert.equal(broken.sameJsonShape, false);
    assert.equal(broken.agree, false);
  });

  it('reads text and tool calls from either surface', () => {
    const anthropic = makeEntry('anthropic', { id: 'm', type: 'message', role: 'assistant', model: 'x', stop_reason: 'tool_use', stop_sequence: null, usage: {}, content: [{ type: 'text', text: 'Let me look.' }, { type: 'tool_use', id: 't', name: 'f', input: { q: 1 } }] }, 0);
    const openai = makeEntry('openai', { id: 'c', object: 'chat.completion', created: 0, model: 'x', choices: [{ index: 0, finish_reason: 'tool_calls', message: { role: 'assistant', content: 'Let me look.', tool_calls: [{ id: 't', type: 'function', function: { name: 'f', arguments: '{"q":1}' } }] } }] }, 0);
    assert.deepEqual(saidIn(anthropic), saidIn(openai));
  });
});

describe('the shadow report', () => {
  const pair = (agree: boolean, similarity: number, i: number): ShadowPair => ({
    route: 'r',
    at: i,
    requestId: `req-${i}`,
    primary: { provider: 'a', model: 'm1', latencyMs: 100, costUsd: 0.002, text: 'x' },
    candidate: { provider: 'b', model: 'm2', latencyMs: 150, costUsd: 0.001, text: 'y' },
    score: { exact: agree, similarity, sameTools: true, sameJsonShape: undefined, agree },
  });

  it('agreement with a 95% Wilson interval, latency and cost side by side, the worst disagreements first', () => {
    const pairs = [...Array.from({ length: 17 }, (_, i) => pair(true, 1, i)), pair(false, 0.5, 17), pair(false, 0.1, 18), pair(false, 0.3, 19)];
    const report = shadowReport(pairs, 'r', 2);
    assert.equal(report.pairs, 20);
    assert.equal(report.agreement, 0.85);
    const [low, high] = report.interval!;
    assert.ok(Math.abs(low - 0.6396) < 0.001 && Math.abs(high - 0.9476) < 0.001, `${low} ${high}`);
    assert.deepEqual(report.latency, { primaryMeanMs: 100, candidateMeanMs: 150, deltaMs: 50 });
    assert.ok(Math.abs(report.cost!.deltaUsd + 0.02) < 1e-9);
    assert.deepEqual(report.worst.map((p) => p.requestId), ['req-18', 'req-19']);
  });

  it('no pairs: no rate, no interval', () => {
    assert.equal(wilsonInterval(0, 0), undefined);
    assert.equal(shadowReport([], 'r').agreement, undefined);
  });
});
