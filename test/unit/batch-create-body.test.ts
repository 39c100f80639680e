/**
 * A batch create body is parsed as it arrives: any split into chunks gives the same requests, and
 * a bad one is refused the moment it has been read.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BatchCreateBody } from '../../src/server/batch-create.js';
import { GatewayError } from '../../src/pipeline/errors.js';

const params = (content: string) => ({ model: 'claude-haiku-4-5', max_tokens: 8, messages: [{ role: 'user', content }] });

function parse(text: string, chunkSize = text.length): ReturnType<BatchCreateBody['end']> {
  const body = new BatchCreateBody();
  const bytes = Buffer.from(text);
  for (let at = 0; at < bytes.length; at += chunkSize) body.write(bytes.subarray(at, at + chunkSize));
  return body.end();
}

function refused(text: string, message: RegExp): void {
  assert.throws(
    () => parse(text),
    (error: unknown) => error instanceof GatewayError && error.kind === 'invalid_request' && message.test(error.message),
  );
}

describe('a batch create body', () => {
  const text = JSON.stringify({
    requests: [
      { custom_id: 'a', params: params('héllo 模型 🤖') },
      { custom_id: 'b-2', params: params('second') },
    ],
    unknown_field: { kept: 'out' },
  });

  it('gives the same requests, params as JSON text, however it is split into chunks (multi-byte characters included)', () => {
    const whole = parse(text);
    assert.deepEqual(
      whole.map((r) => [r.customId, JSON.parse(r.params) as unknown]),
      [
        ['a', params('héllo 模型 🤖')],
        ['b-2', params('second')],
      ],
    );
    for (const size of [1, 2, 3, 7, 64]) assert.deepEqual(parse(text, size), whole, `chunks of ${size} bytes`);
  });

  it('refuses a bad request as soon as it is read, before the rest arrives', () => {
    const body = new BatchCreateBody();
    body.write(Buffer.from('{"requests":[{"custom_id":"a","params":'));
    assert.throws(
      () => body.write(Buffer.from(`${JSON.stringify({ model: 'm', messages: [{ role: 'user', content: 'hi' }] })}},`)),
      (error: unknown) => error instanceof GatewayError && /^requests\.0\.params\.max_tokens: Field required/.test(error.message),
    );
  });

  it('refuses what is not a batch, in the words of the schema', () => {
    refused('{"requests": [', /not valid JSON/);
    refused('{"requests": [] } trailing', /not valid JSON/);
    refused('[1, 2]', /requests: expected a list of 1 to 100000 requests/);
    refused('{"requests": []}', /requests: expected a list of 1 to 100000 requests/);
    refused('{"other": 1}', /requests: expected a list/);
    refused('{"requests": {"a": {"custom_id": "a", "params": {}}}}', /^requests: expected a list of requests/);
    refused(JSON.stringify({ requests: [{ custom_id: 'bad id!', params: params('x') }] }), /^requests\.0\.custom_id: expected 1 to 64 letters/);
    refused(JSON.stringify({ requests: [{ custom_id: 'a', params: params('x') }, { custom_id: 'a', params: params('y') }] }), /^requests\.1\.custom_id: "a" is used twice/);
    refused(JSON.stringify({ requests: [{ custom_id: 'a', params: { ...params('x'), stream: true } }] }), /^requests\.0\.params\.stream: streaming is not supported/);
  });

  it('refuses a request nested ten thousand levels deep without overflowing the stack', () => {
    const deep = `${'['.repeat(10_000)}${']'.repeat(10_000)}`;
    refused(`{"requests":[{"custom_id":"a","params":{"model":"m","max_tokens":1,"messages":[{"role":"user","content":"x"}],"x":${deep}}}]}`, /nested more than 256 levels/);
  });
});
