/**
 * `spillway demo`, the first thing a newcomer runs: the SKU-500 burst straight at two simulated
 * keys and through spillway, side by side, each against a simulator in a process of its own.
 * Left alone the burst fails in part; through spillway every request succeeds with (nearly) no
 * upstream 429s.
 */
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import { demoTable, runDemo } from '../../src/cli/demo-burst.js';

describe('spillway demo', () => {
  it('direct, the burst fails in part; through spillway all 500 succeed with at most 1% upstream 429s', async () => {
    const quiet = Object.assign(new Writable({ write: (_chunk, _encoding, done) => done() }), { isTTY: false }) as unknown as NodeJS.WriteStream;
    const rows = await runDemo(500, quiet);
    const direct = rows.find((row) => row.path === 'direct')!;
    const through = rows.find((row) => row.path === 'spillway')!;
    assert.ok(direct.result.failed > 0, 'left alone, the burst overruns the keys');
    assert.equal(through.result.succeeded, 500);
    assert.ok(through.upstream429 <= through.upstream * 0.01, `through spillway: ${through.upstream429} upstream 429s of ${through.upstream}\n${demoTable(rows)}`);
  });
});
