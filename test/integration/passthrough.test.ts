/**
 * Issue 11: spillway is never stricter than the provider. Unknown fields, block types and roles
 * reach a same-protocol provider byte for byte, and its verdict reaches the client as it wrote
 * it; across protocols a mid-conversation system message stays a system message, and what
 * translation cannot read is a 400 in the caller's shape and its provider's words.
 */
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startGateway, type RunningGateway } from '../../src/server/gateway.js';
import { startSimulator, type Simulator } from '../../src/sim/index.js';
import { clientSource, loadAnthropic, loadOpenAI } from '../support/clients.js';
import { generousLimits } from '../support/stack.js';
import { posts, startTap, type Tap } from '../support/tap.js';

const SIM_KEY = 'sk-sim-1';
const anthropicHeaders = { 'content-type': 'application/json', 'x-api-key': 'client', 'anthropic-version': '2023-06-01' };
const openaiHeaders = { 'content-type': 'application/json', authorization: 'Bearer client' };

interface Answer {
  status: number;
  text: string;
  headers: Headers;
}

async function post(url: string, headers: Record<string, string>, body: string): Promise<Answer> {
  const response = await fetch(url, { method: 'POST', headers, body });
  return { status: response.status, text: await response.text(), headers: response.headers };
}

describe(`never stricter than the provider (${clientSource})`, () => {
  let sim: Simulator;
  let tap: Tap;
  let gateway: RunningGateway;

  before(async () => {
    sim = await startSimulator({ keys: [{ id: 'k1', key: SIM_KEY, limits: generousLimits }] });
    tap = await startTap(sim.url);
    const keys = [{ id: 'k1', key: SIM_KEY, limits: generousLimits }];
    gateway = await startGateway(
      {
        data_dir: mkdtempSync(join(tmpdir(), 'spillway-test-')),
        providers: { anthropic: { type: 'anthropic', base_url: tap.url, keys }, openai: { type: 'openai', base_url: `${tap.url}/v1`, keys } },
        routes: {
          'to-openai': { targets: [{ provider: 'openai', model: 'gpt-4o-mini' }] },
          'to-anthropic': { targets: [{ provider: 'anthropic', model: 'claude-sonnet-4-6' }] },
          'gpt-*': { targets: [{ provider: 'openai' }] },
          '*': { targets: [{ provider: 'anthropic' }] },
        },
      },
      { port: 0, host: '127.0.0.1', quiet: true },
    );
  });
  after(async () => {
    await gateway?.close();
    await tap?.close();
    await sim?.close();
  });

  it('an unknown top-level field, an unknown block type and a mid-conversation system message reach an Anthropic provider byte for byte', async () => {
    const body = JSON.stringify({
      model: 'claude-sonnet-4-6',
      max_tokens: 50,
      future_feature: { level: 3 },
      messages: [
        { role: 'user', content: [{ type: 'hologram', frames: 24 }, { type: 'text', text: 'Hello' }] },
        { role: 'system', content: 'The user prefers short answers.' },
      ],
    });
    const seen = posts(tap, '/v1/messages').length;
    const answer = await post(`${gateway.url}/v1/messages`, { ...anthropicHeaders, 'anthropic-beta': 'future-beta-2030-01-01' }, body);
    assert.equal(answer.status, 200, answer.text);
    const forwarded = posts(tap, '/v1/messages').slice(seen);
    assert.equal(forwarded.length, 1);
    assert.equal(forwarded[0]!.body.toString('utf8'), body);
    assert.equal(forwarded[0]!.headers['anthropic-beta'], 'future-beta-2030-01-01');
  });

  it("an unknown role is the provider's to refuse, and its 400 reaches the client as the provider wrote it", async () => {
    const body = JSON.stringify({ model: 'claude-sonnet-4-6', max_tokens: 50, messages: [{ role: 'user', content: 'a' }, { role: 'robot', content: 'b' }] });
    const through = await post(`${gateway.url}/v1/messages`, anthropicHeaders, body);
    const direct = await post(`${sim.url}/v1/messages`, { ...anthropicHeaders, 'x-api-key': SIM_KEY }, body);
    assert.equal(through.status, 400);
    assert.equal(direct.status, 400);
    const error = (text: string) => (JSON.parse(text) as { error: unknown }).error;
    assert.deepEqual(error(through.text), error(direct.text));
    assert.deepEqual(error(through.text), { type: 'invalid_request_error', message: "messages.1.role: Input should be 'user' or 'assistant'" });
    assert.match(String((JSON.parse(through.text) as { request_id: string }).request_id), /^req_sim/, "the provider's own body");
  });

  it('on the OpenAI surface too: unknown fields, part types and roles go to the provider untouched, and its 400 comes back', async () => {
    const accepted = JSON.stringify({ model: 'gpt-4o-mini', verbosity: 'low', messages: [{ role: 'user', content: [{ type: 'text', text: 'hi' }, { type: 'input_video', video: 'x' }] }], stop: true });
    const seen = posts(tap, '/v1/chat/completions').length;
    const ok = await post(`${gateway.url}/v1/chat/completions`, openaiHeaders, accepted);
    assert.equal(ok.status, 200, ok.text);
    assert.equal(posts(tap, '/v1/chat/completions').slice(seen)[0]!.body.toString('utf8'), accepted);

    const refused = await post(`${gateway.url}/v1/chat/completions`, openaiHeaders, JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'a' }, { role: 'oracle', content: 'b' }] }));
    assert.equal(refused.status, 400);
    assert.deepEqual(JSON.parse(refused.text), { error: { message: "Invalid value for 'messages[1].role'.", type: 'invalid_request_error', param: 'messages[1].role', code: 'invalid_value' } });
  });

  it('the Anthropic SDK with a mid-conversation system message gets an answer and a token count', async () => {
    const Anthropic = await loadAnthropic();
    const client = new Anthropic({ baseURL: gateway.url, apiKey: 'client', maxRetries: 0 });
    const messages = [
      { role: 'user' as const, content: 'Summarise the plan.' },
      { role: 'system' as const, content: 'Answer in one line.' },
    ];
    const message = await client.messages.create({ model: 'claude-sonnet-4-6', max_tokens: 40, messages });
    assert.equal(message.type, 'message');
    assert.ok(message.content.length > 0);
    const count = await client.messages.countTokens({ model: 'claude-sonnet-4-6', messages });
    assert.ok(count.input_tokens > 0);
  });

  it('translated for an OpenAI-compatible provider, a mid-conversation system message arrives as a system message in its place', async () => {
    const Anthropic = await loadAnthropic();
    const client = new Anthropic({ baseURL: gateway.url, apiKey: 'client', maxRetries: 0 });
    const seen = posts(tap, '/v1/chat/completions').length;
    const { data, response } = await client.messages
      .create({
        model: 'to-openai',
        max_tokens: 40,
        system: 'You are terse.',
        messages: [
          { role: 'user', content: 'Plan a trip.' },
          { role: 'system', content: 'The user is in plan mode.' },
          { role: 'assistant', content: 'Where to?' },
          { role: 'user', content: 'Lisbon.' },
        ],
      })
      .withResponse();
    assert.equal(response.headers.get('x-spillway-provider'), 'openai');
    assert.ok(data.content.length > 0);
    const sent = JSON.parse(posts(tap, '/v1/chat/completions').slice(seen)[0]!.body.toString('utf8')) as { messages: Array<{ role: string; content: string }> };
    assert.deepEqual(sent.messages, [
      { role: 'system', content: 'You are terse.' },
      { role: 'user', content: 'Plan a trip.' },
      { role: 'system', content: 'The user is in plan mode.' },
      { role: 'assistant', content: 'Where to?' },
      { role: 'user', content: 'Lisbon.' },
    ]);
  });

  it("what translation cannot read is a 400 in Anthropic's words, nothing reaches the provider, and the next request is served", async () => {
    const cases: Array<[unknown[], string]> = [
      [[{ role: 'user' }], 'messages.0.content: Field required'],
      [[{ role: 'user', content: [{ type: 'image' }] }], 'messages.0.content.0.source: Field required'],
      [[{ role: 'user', content: 'a' }, { role: 'robot', content: 'b' }], "messages.1.role: Input should be 'user' or 'assistant'"],
    ];
    const before = sim.stats().total.requests;
    for (const [messages, message] of cases) {
      const answer = await post(`${gateway.url}/v1/messages`, anthropicHeaders, JSON.stringify({ model: 'to-openai', max_tokens: 20, messages }));
      assert.equal(answer.status, 400, answer.text);
      assert.deepEqual((JSON.parse(answer.text) as { type: string; error: unknown }).error, { type: 'invalid_request_error', message });
    }
    assert.equal(sim.stats().total.requests, before, 'no malformed request reached the provider');
    const good = await post(`${gateway.url}/v1/messages`, anthropicHeaders, JSON.stringify({ model: 'to-openai', max_tokens: 20, messages: [{ role: 'user', content: 'hi' }] }));
    assert.equal(good.status, 200, good.text);
  });

  it("and in OpenAI's words, with param and code, for an OpenAI client routed to Anthropic; the SDK sees a BadRequestError", async () => {
    const cases: Array<[Record<string, unknown>, { message: string; param: string; code: string }]> = [
      [{ stop: true }, { message: "Invalid type for 'stop': expected an array, but got a boolean instead.", param: 'stop', code: 'invalid_type' }],
      [
        { messages: [{ role: 'user', content: 'a' }, { role: 'tool', content: 'r' }] },
        { message: "Missing required parameter: 'messages[1].tool_call_id'.", param: 'messages[1].tool_call_id', code: 'missing_required_parameter' },
      ],
      [
        { messages: [{ role: 'user', content: [{ type: 'image_url' }] }] },
        { message: "Missing required parameter: 'messages[0].content[0].image_url'.", param: 'messages[0].content[0].image_url', code: 'missing_required_parameter' },
      ],
    ];
    for (const [fields, expected] of cases) {
      const answer = await post(`${gateway.url}/v1/chat/completions`, openaiHeaders, JSON.stringify({ model: 'to-anthropic', messages: [{ role: 'user', content: 'hi' }], ...fields }));
      assert.equal(answer.status, 400, answer.text);
      assert.deepEqual(JSON.parse(answer.text), { error: { ...expected, type: 'invalid_request_error' } });
    }
    const OpenAI = await loadOpenAI();
    const client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: 'client', maxRetries: 0 });
    await assert.rejects(
      client.chat.completions.create({ model: 'to-anthropic', messages: [{ role: 'user', content: 'hi' }], tool_choice: null as unknown as 'auto', stop: 7 as unknown as string }),
      (error: unknown) => error instanceof OpenAI.BadRequestError && error.param === 'stop' && error.code === 'invalid_type',
    );
  });
});
