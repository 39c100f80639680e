import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadSimConfig } from '../../src/sim/config.js';

function file(text: string): string {
  const path = join(mkdtempSync(join(tmpdir(), 'sim-config-')), 'sim.yaml');
  writeFileSync(path, text);
  return path;
}

describe('simulator YAML config', () => {
  it('maps snake_case fields to SimOptions', () => {
    const path = file(`
port: 9001
window: second
otpm: max_tokens
keys:
  - { id: a, key: sk-a, limits: { rpm: 50, itpm: 40000, otpm: 8000 } }
latency: { ttft_ms: 200, tokens_per_second: 80 }
output_tokens: 30
faults: { overloaded: 0.01, mid_stream_error: 0.02 }
seed: 7
`);
    const { options, port } = loadSimConfig(path);
    assert.equal(port, 9001);
    assert.deepEqual(options, {
      keys: [{ id: 'a', key: 'sk-a', limits: { rpm: 50, itpm: 40000, otpm: 8000 } }],
      window: 'second',
      otpm: 'max_tokens',
      latency: { ttftMs: 200, tokensPerSecond: 80 },
      outputTokens: 30,
      faults: { overloaded: 0.01, midStreamError: 0.02 },
      seed: 7,
    });
  });

  it('reads a per-window count (rate_window) for the per-minute limits', () => {
    const path = file(`
keys: [ { id: a, key: sk-a, limits: { rpm: 60 } } ]
rate_window: { type: sliding, length_ms: 10000 }
`);
    assert.deepEqual(loadSimConfig(path).options.rateWindow, { type: 'sliding', lengthMs: 10_000 });
    assert.throws(() => loadSimConfig(file('rate_window: { type: rolling, length_ms: 10000 }')), /rate_window\.type/);
  });

  it('reads how merged calls are answered (merge_answers)', () => {
    assert.equal(loadSimConfig(file('merge_answers: garble')).options.mergeAnswers, 'garble');
    assert.equal(loadSimConfig(file('keys: []')).options.mergeAnswers, undefined);
    assert.throws(() => loadSimConfig(file('merge_answers: sometimes')), /merge_answers/);
  });

  it('reads the faults that refuse keys and models, cut bodies and stall after the headers', () => {
    const path = file(`
keys: [{ id: a, key: sk-a }, { id: b, key: sk-b }]
faults:
  cut_body: 0.05
  stall_after_headers: 0.02
  revoked_keys: [a]
  forbidden_models: { b: [claude-opus-4-1] }
`);
    assert.deepEqual(loadSimConfig(path).options.faults, {
      cutBody: 0.05,
      stallAfterHeaders: 0.02,
      revokedKeys: ['a'],
      forbiddenModels: { b: ['claude-opus-4-1'] },
    });
  });

  it('names the file and the bad path', () => {
    const path = file('keys:\n  - { id: a, key: sk-a, limits: { rpm: -1 } }\n');
    assert.throws(() => loadSimConfig(path), (e: Error) => e.message.includes(path) && e.message.includes('keys.0.limits.rpm'));
    const typo = file('faults: { overloded: 0.5 }\n');
    assert.throws(() => loadSimConfig(typo), (e: Error) => e.message.includes(typo) && /faults/.test(e.message) && /overloded/.test(e.message));
    assert.throws(() => loadSimConfig('/nonexistent/sim.yaml'), /\/nonexistent\/sim\.yaml/);
  });
});
