import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { bodyOf, discard, watched, type Answer } from '../../src/pipeline/answer.js';

async function* chunks(parts: string[], failAfter?: number): AsyncIterable<Buffer> {
  for (const [i, part] of parts.entries()) {
    if (i === failAfter) throw new Error('upstream cut');
    yield Buffer.from(part);
  }
}

function watch(body: AsyncIterable<Buffer | string>) {
  const seen: string[] = [];
  const ends: boolean[] = [];
  const stream = watched(body, { passed: (chunk) => seen.push(chunk.toString()), ended: (completed) => ends.push(completed) });
  return { stream, seen, ends };
}

describe('a stream answer ends exactly once, whoever reads it', () => {
  it('read to its end: every chunk seen, ended as completed', async () => {
    const { stream, seen, ends } = watch(chunks(['a', 'b', 'c']));
    const read: string[] = [];
    for await (const chunk of stream) read.push(chunk.toString());
    assert.deepEqual(read, ['a', 'b', 'c']);
    assert.deepEqual(seen, ['a', 'b', 'c']);
    assert.deepEqual(ends, [true]);
  });

  it('the upstream breaks midway: the error reaches the reader, ended as not completed', async () => {
    const { stream, ends } = watch(chunks(['a', 'b', 'c'], 2));
    await assert.rejects(async () => {
      for await (const _ of stream) void _;
    }, /upstream cut/);
    assert.deepEqual(ends, [false]);
  });

  it('the client leaves after one chunk: ended once, not completed', async () => {
    const { stream, ends } = watch(chunks(['a', 'b', 'c']));
    for await (const _ of stream) break;
    assert.deepEqual(ends, [false]);
  });

  it('let go before its first read (the client left before the answer was written): still ended', async () => {
    let released = false;
    const upstream: AsyncIterable<Buffer> = {
      [Symbol.asyncIterator]: () => ({ next: async () => ({ done: true as const, value: undefined }), return: async () => ((released = true), { done: true as const, value: undefined }) }),
    };
    const { stream, ends } = watch(upstream);
    const answer: Answer = { status: 200, headers: {}, body: stream, usage: Promise.resolve(undefined) };
    await discard(answer);
    assert.deepEqual(ends, [false]);
    assert.ok(released, 'the upstream was let go');
  });

  it('a batch reads the whole body of a stream or a buffer', async () => {
    assert.equal((await bodyOf({ status: 200, headers: {}, body: chunks(['x', 'y']), usage: Promise.resolve(undefined) })).toString(), 'xy');
    assert.equal((await bodyOf({ status: 200, headers: {}, body: Buffer.from('z'), usage: Promise.resolve(undefined) })).toString(), 'z');
  });
});
