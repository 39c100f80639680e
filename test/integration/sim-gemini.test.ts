/**
 * The simulator's Gemini surface over HTTP, checked against the wire facts (§8): request and
 * answer shapes, SSE and JSON-array streaming, auth by header or ?key=, 429 RESOURCE_EXHAUSTED
 * with RetryInfo and no headers, and the 400s real Gemini gives for payloads it cannot take.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import Anthropic from '@anthropic-ai/sdk';
import { startSimulator, type Simulator } from '../../src/sim/index.js';

interface GeminiPart {
  text?: string;
  functionCall?: { id?: string; name: string; args: Record<string, unknown> };
  thoughtSignature?: string;
}
interface GeminiResponse {
  candidates: Array<{ content: { role: string; parts: GeminiPart[] }; finishReason?: string; index: number }>;
  usageMetadata: { promptTokenCount: number; candidatesTokenCount?: number; totalTokenCount: number };
  modelVersion: string;
  responseId: string;
}
interface GeminiError {
  error: { code: number; message: string; status: string; details?: Array<Record<string, unknown>> };
}

const KEY = 'gm-main';
const tools = [
  {
    functionDeclarations: [
      { name: 'get_weather', description: 'Weather', parameters: { type: 'OBJECT', properties: { city: { type: 'STRING' }, days: { type: 'INTEGER' } }, required: ['city'] } },
    ],
  },
];
const user = (text: string) => ({ role: 'user', parts: [{ text }] });

describe('simulator: Gemini surface', () => {
  let sim: Simulator;
  const call = (model: string, method: string, body: unknown, key: string | null = KEY, query = '') =>
    fetch(`${sim.url}/v1beta/models/${model}:${method}${query}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(key === null ? {} : { 'x-goog-api-key': key }) },
      body: JSON.stringify(body),
    });
  const generate = (body: unknown, model = 'gemini-2.5-flash') => call(model, 'generateContent', body);

  before(async () => {
    sim = await startSimulator({
      keys: [
        { id: 'main', key: KEY, limits: { rpm: 10_000, itpm: 1_000_000 } },
        { id: 'tiny', key: 'gm-tiny', limits: { rpm: 2 } },
      ],
    });
  });
  after(() => sim.close());

  it('generateContent: candidates, finishReason, usageMetadata; the same prompt gets the same answer as on the other surfaces', async () => {
    const body = { systemInstruction: { parts: [{ text: 'Be brief.' }] }, contents: [user('Write a haiku about rivers.')] };
    const res = await generate(body);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('x-ratelimit-limit-requests'), null, 'Gemini sends no rate-limit headers');
    const answer = (await res.json()) as GeminiResponse;
    const candidate = answer.candidates[0]!;
    assert.equal(candidate.content.role, 'model');
    assert.equal(candidate.finishReason, 'STOP');
    const text = candidate.content.parts[0]!.text!;
    const { usageMetadata: usage } = answer;
    assert.equal(usage.candidatesTokenCount, text.split(' ').length);
    assert.equal(usage.totalTokenCount, usage.promptTokenCount + usage.candidatesTokenCount!);
    assert.equal(answer.modelVersion, 'gemini-2.5-flash');

    // The Anthropic surface with the same system and user text answers the same words.
    const anthropic = new Anthropic({ baseURL: sim.url, apiKey: KEY, maxRetries: 0 });
    const same = await anthropic.messages.create({ model: 'm', max_tokens: 200, system: 'Be brief.', messages: [{ role: 'user', content: 'Write a haiku about rivers.' }] });
    assert.equal(same.content[0]?.type === 'text' && same.content[0].text, text);

    // countTokens (both request shapes) reports the prompt count generate charges.
    for (const countBody of [{ contents: body.contents }, { generateContentRequest: { model: 'models/gemini-2.5-flash', ...body } }]) {
      const counted = (await (await call('gemini-2.5-flash', 'countTokens', countBody)).json()) as { totalTokens: number };
      assert.ok(counted.totalTokens > 0);
    }
    const full = (await (await call('gemini-2.5-flash', 'countTokens', { generateContentRequest: body })).json()) as { totalTokens: number };
    assert.equal(full.totalTokens, usage.promptTokenCount);
  });

  it('maxOutputTokens cuts the answer with MAX_TOKENS', async () => {
    const answer = (await (await generate({ contents: [user('hello')], generationConfig: { maxOutputTokens: 4 } })).json()) as GeminiResponse;
    assert.equal(answer.candidates[0]!.finishReason, 'MAX_TOKENS');
    assert.equal(answer.candidates[0]!.content.parts[0]!.text!.split(' ').length, 4);
  });

  it('streamGenerateContent?alt=sse: data-only events with new parts and running usage, no [DONE]', async () => {
    const body = { contents: [user('Tell me about stones.')], generationConfig: { maxOutputTokens: 40 } };
    const unary = (await (await generate(body)).json()) as GeminiResponse;
    const res = await call('gemini-2.5-flash', 'streamGenerateContent', body, KEY, '?alt=sse');
    assert.equal(res.headers.get('content-type'), 'text/event-stream');
    const raw = await res.text();
    assert.ok(!raw.includes('[DONE]') && !raw.includes('event:'));
    const events = raw.split('\n\n').filter((e) => e !== '').map((e) => {
      assert.ok(e.startsWith('data: '));
      return JSON.parse(e.slice(6)) as GeminiResponse;
    });
    assert.ok(events.length > 1);
    const text = events.map((e) => e.candidates[0]!.content.parts[0]!.text).join('');
    assert.equal(text, unary.candidates[0]!.content.parts[0]!.text);
    assert.deepEqual(events.map((e) => e.candidates[0]!.finishReason).filter(Boolean), ['STOP'], 'finishReason only on the last chunk');
    const counts = events.map((e) => e.usageMetadata.candidatesTokenCount ?? 0);
    assert.deepEqual([...counts].sort((a, b) => a - b), counts, 'usage is a growing snapshot');
    assert.equal(counts.at(-1), unary.usageMetadata.candidatesTokenCount);
    assert.equal(new Set(events.map((e) => e.responseId)).size, 1);
  });

  it('streamGenerateContent without alt: one JSON array sent in pieces', async () => {
    const res = await call('gemini-2.5-flash', 'streamGenerateContent', { contents: [user('Tell me about stones.')] });
    assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
    const items = JSON.parse(await res.text()) as GeminiResponse[];
    assert.ok(Array.isArray(items) && items.length > 1);
    assert.equal(items.at(-1)!.candidates[0]!.finishReason, 'STOP');
  });

  it('calls a declared function (whole, in one chunk) and quotes the functionResponse on the next turn', async () => {
    const ask = { contents: [user('Weather in Paris?')], tools };
    const first = (await (await generate(ask)).json()) as GeminiResponse;
    const part = first.candidates[0]!.content.parts[0]!;
    assert.equal(part.functionCall?.name, 'get_weather');
    assert.equal(part.functionCall?.id, undefined, '2.x sends no call ids');
    assert.equal(typeof part.functionCall?.args['city'], 'string');
    assert.equal(typeof part.functionCall?.args['days'], 'number', 'upper-case OpenAPI types are understood');
    assert.equal(first.candidates[0]!.finishReason, 'STOP', 'there is no tool-calls finish reason');

    const sse = await (await call('gemini-2.5-flash', 'streamGenerateContent', ask, KEY, '?alt=sse')).text();
    const chunks = sse.split('\n\n').filter(Boolean).map((e) => JSON.parse(e.slice(6)) as GeminiResponse);
    assert.equal(chunks.length, 1);
    assert.deepEqual(chunks[0]!.candidates[0]!.content.parts[0]!.functionCall, part.functionCall);

    const second = (await (
      await generate({
        ...ask,
        contents: [...ask.contents, { role: 'model', parts: [part] }, { role: 'user', parts: [{ functionResponse: { name: 'get_weather', response: { output: 'Sunny, 21 C' } } }] }],
      })
    ).json()) as GeminiResponse;
    assert.match(second.candidates[0]!.content.parts[0]!.text!, /^Tool result: Sunny, 21 C/);

    const none = (await (await generate({ ...ask, toolConfig: { functionCallingConfig: { mode: 'NONE' } } })).json()) as GeminiResponse;
    assert.equal(typeof none.candidates[0]!.content.parts[0]!.text, 'string');
  });

  it('Gemini 3: call ids and thought signatures; a call without its signature in the current turn is refused', async () => {
    const ask = { contents: [user('Weather in Paris?')], tools };
    const first = (await (await generate(ask, 'gemini-3-pro-preview')).json()) as GeminiResponse;
    const part = first.candidates[0]!.content.parts[0]!;
    assert.ok(part.functionCall?.id && part.thoughtSignature);
    const result = { role: 'user', parts: [{ functionResponse: { id: part.functionCall.id, name: 'get_weather', response: { output: 'Sunny' } } }] };
    const ok = await generate({ ...ask, contents: [...ask.contents, { role: 'model', parts: [part] }, result] }, 'gemini-3-pro-preview');
    assert.equal(ok.status, 200);
    const unsigned = { functionCall: part.functionCall };
    const bad = await generate({ ...ask, contents: [...ask.contents, { role: 'model', parts: [unsigned] }, result] }, 'gemini-3-pro-preview');
    assert.equal(bad.status, 400);
    assert.match(((await bad.json()) as GeminiError).error.message, /missing a thought_signature/);
    const placeholder = { ...unsigned, thoughtSignature: 'skip_thought_signature_validator' };
    assert.equal((await generate({ ...ask, contents: [...ask.contents, { role: 'model', parts: [placeholder] }, result] }, 'gemini-3-pro-preview')).status, 200);
  });

  it('refuses what real Gemini refuses, with 400 INVALID_ARGUMENT', async () => {
    const cases: Array<[unknown, RegExp]> = [
      [{ contents: [] }, /contents is not specified/],
      [{ contents: [user('x')], max_tokens: 5 }, /Unknown name "max_tokens"/],
      [{ contents: [{ role: 'system', parts: [{ text: 'x' }] }] }, /valid role: user, model/],
      [{ contents: [{ role: 'user', parts: [] }] }, /parts must not be empty/],
      [{ contents: [{ role: 'user', parts: [{ type: 'text', text: 'x' }] }] }, /Unknown name "type"/],
      [
        { contents: [user('x')], tools: [{ functionDeclarations: [{ name: 'f', parameters: { type: 'object', properties: {}, additionalProperties: false } }] }] },
        /Unknown name "additionalProperties" at 'tools\[0\]\.function_declarations\[0\]\.parameters'/,
      ],
      [{ contents: [user('x')], tools: [{ functionDeclarations: [{ name: 'f', parameters: { type: ['string', 'null'] } }] }] }, /Proto field is not repeating/],
      [{ contents: [user('x')], tools: [{ functionDeclarations: [{ name: 'bad name!' }] }] }, /Invalid function name/],
      [
        {
          contents: [user('x'), { role: 'model', parts: [{ functionCall: { name: 'f', args: {} } }, { functionCall: { name: 'f', args: {} } }] }, { role: 'user', parts: [{ functionResponse: { name: 'f', response: { output: 1 } } }] }],
        },
        /number of function response parts is equal to the number of function call parts/,
      ],
      [{ contents: [{ role: 'model', parts: [{ functionCall: { name: 'f', args: {} } }] }] }, /function call turn comes immediately after a user turn/],
      [
        { contents: [user('x'), { role: 'model', parts: [{ functionCall: { name: 'f' } }] }, { role: 'user', parts: [{ functionResponse: { name: 'f', response: 'Sunny' } }] }] },
        /function_response\.response.*Struct/,
      ],
      [{ contents: [user('x')], tools, generationConfig: { responseMimeType: 'application/json' } }, /response mime type: 'application\/json' is unsupported/],
    ];
    for (const [body, message] of cases) {
      const res = await generate(body);
      assert.equal(res.status, 400, JSON.stringify(body));
      const error = ((await res.json()) as GeminiError).error;
      assert.equal(error.status, 'INVALID_ARGUMENT');
      assert.match(error.message, message);
    }
    // snake_case field names are accepted, as the REST layer does.
    const snake = await generate({ contents: [user('x')], generation_config: { max_output_tokens: 3 }, system_instruction: { parts: [{ text: 's' }] } });
    assert.equal(snake.status, 200);
  });

  it('authenticates by x-goog-api-key or ?key=: a wrong key is 400 API_KEY_INVALID, none is 403', async () => {
    const body = { contents: [user('hi')] };
    assert.equal((await call('gemini-2.5-flash', 'generateContent', body, null, `?key=${KEY}`)).status, 200);
    const wrong = await call('gemini-2.5-flash', 'generateContent', body, 'nope');
    assert.equal(wrong.status, 400);
    const wrongBody = (await wrong.json()) as GeminiError;
    assert.equal(wrongBody.error.details?.[0]?.['reason'], 'API_KEY_INVALID');
    const none = await call('gemini-2.5-flash', 'generateContent', body, null);
    assert.equal(none.status, 403);
    assert.equal(((await none.json()) as GeminiError).error.status, 'PERMISSION_DENIED');
  });

  it('429 RESOURCE_EXHAUSTED with QuotaFailure and RetryInfo in the body and no retry-after header', async () => {
    const body = { contents: [user('hi')] };
    assert.equal((await call('gemini-2.5-flash', 'generateContent', body, 'gm-tiny')).status, 200);
    assert.equal((await call('gemini-2.5-flash', 'streamGenerateContent', body, 'gm-tiny', '?alt=sse')).status, 200);
    const limited = await call('gemini-2.5-flash', 'generateContent', body, 'gm-tiny');
    assert.equal(limited.status, 429);
    assert.equal(limited.headers.get('retry-after'), null);
    const { error } = (await limited.json()) as GeminiError;
    assert.equal(error.code, 429);
    assert.equal(error.status, 'RESOURCE_EXHAUSTED');
    const failure = error.details?.find((d) => d['@type'] === 'type.googleapis.com/google.rpc.QuotaFailure') as { violations: Array<{ quotaId: string }> } | undefined;
    assert.equal(failure?.violations[0]?.quotaId, 'GenerateRequestsPerMinutePerProjectPerModel');
    const retry = error.details?.find((d) => d['@type'] === 'type.googleapis.com/google.rpc.RetryInfo') as { retryDelay: string } | undefined;
    const seconds = Number(retry?.retryDelay.replace(/s$/, ''));
    assert.ok(seconds >= 29 && seconds <= 30, `retryDelay ${retry?.retryDelay}`);
    assert.match(error.message, /Please retry in \d+\.\d+s/);
    assert.equal(sim.stats().keys['tiny']?.rateLimited, 1);
  });

  it('a mid-stream fault appends a raw JSON error (no data: prefix) after the first chunk', async () => {
    sim.setOptions({ faults: { midStreamError: 1 } });
    try {
      const text = await (await call('gemini-2.5-flash', 'streamGenerateContent', { contents: [user('Tell me about stones.')] }, KEY, '?alt=sse')).text();
      const [first, rest] = [text.slice(0, text.indexOf('\n\n')), text.slice(text.indexOf('\n\n') + 2)];
      assert.ok(first.startsWith('data: '));
      assert.ok(rest.startsWith('{'));
      assert.equal((JSON.parse(rest) as GeminiError).error.status, 'UNAVAILABLE');
    } finally {
      sim.setOptions({ faults: {} });
    }
  });

  it('lists models under models/ with paging, and 404s an unknown one', async () => {
    const get = (path: string) => fetch(`${sim.url}${path}`, { headers: { 'x-goog-api-key': KEY } });
    const page = (await (await get('/v1beta/models?pageSize=2')).json()) as { models: Array<{ name: string }>; nextPageToken?: string };
    assert.equal(page.models.length, 2);
    assert.ok(page.models[0]!.name.startsWith('models/'));
    const next = (await (await get(`/v1beta/models?pageSize=2&pageToken=${page.nextPageToken}`)).json()) as { models: unknown[] };
    assert.ok(next.models.length > 0);
    assert.equal((await get('/v1beta/models/gemini-2.5-flash')).status, 200);
    const missing = await get('/v1beta/models/no-such-model');
    assert.equal(missing.status, 404);
    assert.equal(((await missing.json()) as GeminiError).error.status, 'NOT_FOUND');
  });
});
