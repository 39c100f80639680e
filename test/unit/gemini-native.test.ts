/**
 * The pure parts of a Gemini client's passthrough to a Gemini provider: where the request goes,
 * how usage is read from usageMetadata, and the SSE stream re-framed as the JSON array a client
 * asked for.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { StreamUsage, usageOfBody } from '../../src/protocol/usage.js';
import { gemini } from '../../src/providers/gemini/adapter.js';
import { sseAsJsonArray } from '../../src/server/gemini-stream.js';

async function collect(chunks: string[]): Promise<string> {
  let out = '';
  for await (const piece of sseAsJsonArray((async function* () {
    for (const chunk of chunks) yield Buffer.from(chunk);
  })())) out += piece;
  return out;
}

describe('a Gemini provider serves Gemini clients natively', () => {
  it('at its generate methods, under the route\'s model, streams as SSE; other surfaces go through the pivot', () => {
    const config = { type: 'gemini' as const, keys: [] } as unknown as Parameters<NonNullable<typeof gemini.nativePath>>[1];
    assert.equal(gemini.nativePath!('gemini', config, { model: 'gemini-2.5-flash', stream: false }), '/v1beta/models/gemini-2.5-flash:generateContent');
    assert.equal(gemini.nativePath!('gemini', config, { model: 'models/gemini-3-pro-preview', stream: true }), '/v1beta/models/gemini-3-pro-preview:streamGenerateContent?alt=sse');
    assert.equal(gemini.nativePath!('openai', config, { model: 'gemini-2.5-flash', stream: false }), undefined);
    assert.equal(gemini.nativePath!('responses', config, { model: 'gemini-2.5-flash', stream: false }), undefined);
  });
});

describe('usage from usageMetadata', () => {
  it('a whole answer: prompt tokens in, candidates and thoughts out', () => {
    assert.deepEqual(usageOfBody('gemini', { candidates: [], usageMetadata: { promptTokenCount: 12, candidatesTokenCount: 5, thoughtsTokenCount: 7, totalTokenCount: 24 } }), { inputTokens: 12, outputTokens: 12 });
    assert.equal(usageOfBody('gemini', { candidates: [] }), undefined);
  });

  it('a stream: each chunk\'s running totals, the last one holding; text counted when none came', () => {
    const usage = new StreamUsage('gemini');
    const chunk = (text: string, meta?: object) => ({ data: JSON.stringify({ candidates: [{ content: { role: 'model', parts: [{ text }] } }], ...(meta ? { usageMetadata: meta } : {}) }) });
    usage.push(chunk('Hello there', { promptTokenCount: 9, candidatesTokenCount: 2 }));
    usage.push(chunk(' friend', { promptTokenCount: 9, candidatesTokenCount: 3, thoughtsTokenCount: 4 }));
    assert.deepEqual(usage.usage(100), { inputTokens: 9, outputTokens: 7 });
    const silent = new StreamUsage('gemini');
    silent.push(chunk('12345678'));
    assert.deepEqual(silent.usage(100), { inputTokens: 100, outputTokens: 2 });
  });
});

describe('SSE re-framed as a JSON array', () => {
  const events = ['{"candidates":[{"content":{"parts":[{"text":"a"}]}}]}', '{"candidates":[{"content":{"parts":[{"text":"b, \\"c\\""}]}}],"usageMetadata":{"totalTokenCount":3}}'];
  const sse = events.map((e) => `data: ${e}\r\n\r\n`).join('');

  it('each event\'s JSON as it came, whatever the chunk boundaries', async () => {
    const expected = `[${events.join(',\r\n')}]`;
    assert.equal(await collect([sse]), expected);
    assert.equal(await collect(sse.split('')), expected);
    assert.equal(await collect([sse.slice(0, 17), sse.slice(17, 70), sse.slice(70)]), expected);
    assert.deepEqual(JSON.parse(expected), events.map((e) => JSON.parse(e)));
  });

  it('a raw error Gemini appends mid-stream becomes the last element; an empty stream an empty array', async () => {
    const error = '{\n  "error": {\n    "code": 503,\n    "message": "The model is overloaded.",\n    "status": "UNAVAILABLE"\n  }\n}\n';
    const out = JSON.parse(await collect([`data: ${events[0]}\r\n\r\n`, error])) as unknown[];
    assert.equal(out.length, 2);
    assert.deepEqual(out[1], { error: { code: 503, message: 'The model is overloaded.', status: 'UNAVAILABLE' } });
    assert.equal(await collect([]), '[]');
  });

  it('let go before its first read, it lets go of the upstream stream (whose end settles the reservation)', async () => {
    let released = false;
    const upstream: AsyncIterable<Buffer> = {
      [Symbol.asyncIterator]: () => ({
        next: async () => ({ done: false, value: Buffer.from(sse) }),
        return: async () => ((released = true), { done: true, value: undefined }),
      }),
    };
    await sseAsJsonArray(upstream)[Symbol.asyncIterator]().return?.();
    assert.equal(released, true);
  });
});
