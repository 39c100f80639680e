/**
 * Issue 15: a Gemini client onto a `gemini` provider goes through byte-faithfully. @google/genai
 * (v1beta and v1) → a recording proxy → spillway → a recording proxy → the simulator's Gemini:
 * the provider gets the client's own bytes (thought signatures, fields spillway does not know),
 * only the model in the URL changed to the route's; the client gets the provider's answer as it
 * came, streamed as SSE or re-framed as the JSON array it asked for; usage from usageMetadata
 * reaches /metrics; a Gemini 429 with RetryInfo is spillway's to handle (the request spills).
 */
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Content, Part } from '@google/genai';
import { startGateway, type RunningGateway } from '../../src/server/gateway.js';
import { startSimulator, type Simulator } from '../../src/sim/index.js';
import { loadGenAI } from '../support/clients.js';
import { generousLimits } from '../support/stack.js';
import { posts, startTap, type Recorded, type Tap } from '../support/tap.js';

const { FunctionCallingConfigMode, GoogleGenAI, Type } = await loadGenAI();

const ADMIN_KEY = 'admin-passthrough';
const CLIENT_KEY = 'client-key';
// Gemini 3 sends thought signatures with its function calls and refuses a history without them.
const UPSTREAM_MODEL = 'gemini-3-pro-preview';

let sim: Simulator;
let upstreamTap: Tap;
let gateway: RunningGateway;
let clientTap: Tap;

before(async () => {
  sim = await startSimulator({
    keys: [
      { id: 'big', key: 'sk-sim-big', limits: generousLimits },
      // Two requests a minute; spillway is not told, so it meets Gemini's own 429 with RetryInfo.
      { id: 'tiny', key: 'sk-sim-tiny', limits: { rpm: 2 } },
    ],
  });
  upstreamTap = await startTap(sim.url);
  gateway = await startGateway(
    {
      data_dir: mkdtempSync(join(tmpdir(), 'spillway-test-')),
      admin: { keys: [ADMIN_KEY] },
      providers: {
        gemini: { type: 'gemini', base_url: upstreamTap.url, keys: [{ id: 'big', key: 'sk-sim-big' }] },
        'gemini-tiny': { type: 'gemini', base_url: upstreamTap.url, keys: [{ id: 'tiny', key: 'sk-sim-tiny' }] },
        openai: { type: 'openai', base_url: `${upstreamTap.url}/v1`, keys: [{ id: 'big', key: 'sk-sim-big' }] },
      },
      routes: {
        'via-gemini': { targets: [{ provider: 'gemini', model: UPSTREAM_MODEL }] },
        'gemini-embedding-001': { targets: [{ provider: 'gemini' }] },
        'spill-gemini': { targets: [{ provider: 'gemini-tiny', model: 'gemini-2.5-flash' }, { provider: 'openai', model: 'gpt-4o-mini' }] },
      },
    },
    { port: 0, host: '127.0.0.1', quiet: true },
  );
  clientTap = await startTap(gateway.url);
});

after(async () => {
  await clientTap?.close();
  await gateway?.close();
  await upstreamTap?.close();
  await sim?.close();
});

/** The request spillway sent upstream for the client's last request to `clientPath`, and the client's own. */
function lastPair(clientPath: string, upstreamPath: string): { client: Recorded; upstream: Recorded } {
  const client = posts(clientTap, clientPath).at(-1);
  const upstream = posts(upstreamTap, upstreamPath).at(-1);
  assert.ok(client, `the client sent POST ${clientPath}`);
  assert.ok(upstream, `spillway sent POST ${upstreamPath}`);
  return { client, upstream };
}

function assertSameBytes(pair: { client: Recorded; upstream: Recorded }): void {
  assert.equal(pair.upstream.body.toString('utf8'), pair.client.body.toString('utf8'));
  assert.ok(pair.upstream.body.equals(pair.client.body), 'byte for byte');
  // The client's key stays with spillway; the provider's key goes upstream.
  assert.equal(pair.upstream.headers['x-goog-api-key'], 'sk-sim-big');
  assert.ok(!pair.upstream.url.includes(CLIENT_KEY));
}

const weatherTool = {
  functionDeclarations: [
    { name: 'get_weather', description: 'Current weather for a city', parameters: { type: Type.OBJECT, properties: { city: { type: Type.STRING } }, required: ['city'] } },
  ],
};

async function tokensTotal(direction: 'input' | 'output'): Promise<number> {
  const text = await (await fetch(`${gateway.url}/metrics`, { headers: { authorization: `Bearer ${ADMIN_KEY}` } })).text();
  const line = text.split('\n').find((l) => l.startsWith('spillway_tokens_total{') && l.includes('provider="gemini"') && l.includes(`model="${UPSTREAM_MODEL}"`) && l.includes(`direction="${direction}"`));
  return line ? Number(line.split(' ').at(-1)) : 0;
}

for (const apiVersion of ['v1beta', 'v1']) {
  describe(`@google/genai (apiVersion ${apiVersion}) → spillway → a Gemini provider`, () => {
    const ai = () => new GoogleGenAI({ apiKey: CLIENT_KEY, httpOptions: { baseUrl: clientTap.url, apiVersion } });
    const clientPath = (method: string) => `/${apiVersion}/models/via-gemini:${method}`;
    const upstreamPath = (method: string) => `/v1beta/models/${UPSTREAM_MODEL}:${method}`;

    it('a function-call round trip keeps the thought signatures both ways; the provider gets the client\'s bytes', async () => {
      const client = ai();
      const config = { tools: [weatherTool], toolConfig: { functionCallingConfig: { mode: FunctionCallingConfigMode.ANY } }, maxOutputTokens: 128 };
      const ask: Content = { role: 'user', parts: [{ text: 'What is the weather in Paris?' }] };
      const first = await client.models.generateContent({ model: 'via-gemini', contents: [ask], config });
      assertSameBytes(lastPair(clientPath('generateContent'), upstreamPath('generateContent')));
      const turn = first.candidates![0]!.content!;
      const callPart = turn.parts!.find((part: Part) => part.functionCall);
      assert.equal(callPart?.functionCall?.name, 'get_weather');
      // The provider's signature reached the client, as the provider sent it.
      assert.ok(callPart?.thoughtSignature, 'the functionCall part carries a thoughtSignature');
      assert.equal(Buffer.from(callPart.thoughtSignature, 'base64').toString('utf8').startsWith('sim-signature-'), true);

      const history: Content[] = [ask, turn, { role: 'user', parts: [{ functionResponse: { id: callPart.functionCall!.id, name: 'get_weather', response: { output: 'Sunny, 21 °C' } } }] }];
      // Gemini 3 refuses a history whose function call lost its signature: this answers only if it arrived.
      const second = await client.models.generateContent({ model: 'via-gemini', contents: history, config: { tools: [weatherTool], maxOutputTokens: 128 } });
      assert.ok((second.text ?? '').length > 0, 'an answer after the tool result');
      const pair = lastPair(clientPath('generateContent'), upstreamPath('generateContent'));
      assertSameBytes(pair);
      assert.match(pair.upstream.body.toString('utf8'), /"thoughtSignature"/);
    });

    it('generateContentStream (SSE) relays the provider\'s events as they came, ending with usage', async () => {
      const pieces: string[] = [];
      let last;
      for await (const chunk of await ai().models.generateContentStream({ model: 'via-gemini', contents: 'Tell me about rivers.', config: { maxOutputTokens: 64 } })) {
        if (chunk.text) pieces.push(chunk.text);
        last = chunk;
      }
      assert.ok(pieces.length > 1, `${pieces.length} pieces`);
      assert.ok((last?.usageMetadata?.totalTokenCount ?? 0) > 0);
      assert.equal(last?.modelVersion, UPSTREAM_MODEL, 'the provider\'s own answer, not a translation');
      const pair = lastPair(clientPath('streamGenerateContent'), upstreamPath('streamGenerateContent'));
      assertSameBytes(pair);
      assert.equal(new URL(pair.upstream.url, 'http://x').searchParams.get('alt'), 'sse');
    });

    it('countTokens is the provider\'s own count of the client\'s bytes', async () => {
      const contents = 'How many tokens is this sentence, roughly speaking?';
      const { totalTokens } = await ai().models.countTokens({ model: 'via-gemini', contents });
      assertSameBytes(lastPair(clientPath('countTokens'), upstreamPath('countTokens')));
      const direct = await new GoogleGenAI({ apiKey: 'sk-sim-big', httpOptions: { baseUrl: sim.url, apiVersion: 'v1beta' } }).models.countTokens({ model: UPSTREAM_MODEL, contents });
      assert.equal(totalTokens, direct.totalTokens);
    });

    it('embedContent goes as it came and answers the provider\'s own vectors, in order', async () => {
      const model = 'gemini-embedding-001';
      const contents = [`alpha river ${apiVersion}`, `beta mountain ${apiVersion}`];
      const config = { taskType: 'RETRIEVAL_DOCUMENT', outputDimensionality: 128 };
      const { embeddings } = await ai().models.embedContent({ model, contents, config });
      const client = posts(clientTap, `/${apiVersion}/models/${model}:batchEmbedContents`).at(-1)!;
      const upstream = posts(upstreamTap, `/v1beta/models/${model}:batchEmbedContents`).at(-1)!;
      assertSameBytes({ client, upstream });
      const direct = await new GoogleGenAI({ apiKey: 'sk-sim-big', httpOptions: { baseUrl: sim.url, apiVersion: 'v1beta' } }).models.embedContent({ model, contents, config });
      assert.equal(embeddings?.length, 2);
      assert.equal(embeddings![0]!.values!.length, 128);
      assert.deepEqual(embeddings!.map((e) => e.values), direct.embeddings!.map((e) => e.values));
    });
  });
}

describe('raw Gemini requests → spillway → a Gemini provider', () => {
  const post = (method: string, body: string, query = '') =>
    fetch(`${gateway.url}/v1beta/models/via-gemini:${method}${query}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });

  it('a body spillway cannot read all of (signatures on text parts, partMetadata, odd spacing) reaches the provider byte for byte; usage reaches /metrics', async () => {
    const body =
      '{ "contents": [ {"role":"user","parts":[{"text":"Hi there"}]},\n' +
      '  {"role":"model","parts":[{"text":"Hello.","thoughtSignature":"c2lnbmF0dXJlLW9uLXRleHQ=","partMetadata":{"origin":"replay"}}]},\n' +
      '  {"role":"user","parts":[{"text":"Name a river."}]} ],\n' +
      '  "safetySettings": [{"category":"HARM_CATEGORY_HARASSMENT","threshold":"BLOCK_NONE"}],\n' +
      '  "generationConfig": {"maxOutputTokens": 40, "seed": 7} }';
    const before = await tokensTotal('output');
    const response = await post('generateContent', body, `?key=${CLIENT_KEY}`);
    assert.equal(response.status, 200, await response.clone().text());
    assert.equal(response.headers.get('x-spillway-provider'), 'gemini');
    assert.equal(response.headers.get('x-spillway-dropped'), null, 'nothing was dropped');
    const upstream = posts(upstreamTap, `/v1beta/models/${UPSTREAM_MODEL}:generateContent`).at(-1)!;
    assert.equal(upstream.body.toString('utf8'), body);
    assert.equal(new URL(upstream.url, 'http://x').search, '', 'the client\'s ?key= stays with spillway');
    const answer = (await response.json()) as { usageMetadata: { candidatesTokenCount: number; thoughtsTokenCount?: number } };
    const output = answer.usageMetadata.candidatesTokenCount + (answer.usageMetadata.thoughtsTokenCount ?? 0);
    assert.ok(output > 0);
    let after = await tokensTotal('output');
    for (let i = 0; i < 20 && after === before; i++) {
      await new Promise((r) => setTimeout(r, 50));
      after = await tokensTotal('output');
    }
    assert.equal(after - before, output, 'the output tokens counted are those in usageMetadata');
  });

  it('a field Gemini does not know is Gemini\'s to refuse: its own 400 comes back as it sent it', async () => {
    const body = '{"contents":[{"role":"user","parts":[{"text":"hi"}]}],"futureField":{"level":3}}';
    const response = await post('generateContent', body, `?key=${CLIENT_KEY}`);
    assert.equal(response.status, 400);
    const text = await response.text();
    assert.equal(posts(upstreamTap, `/v1beta/models/${UPSTREAM_MODEL}:generateContent`).at(-1)!.body.toString('utf8'), body);
    const direct = await fetch(`${sim.url}/v1beta/models/${UPSTREAM_MODEL}:generateContent`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-goog-api-key': 'sk-sim-big' }, body });
    assert.equal(text, await direct.text(), 'the provider\'s error body, unchanged');
    assert.match(text, /Unknown name \\"futureField\\"/);
  });

  it('streamGenerateContent without alt=sse: the provider\'s SSE events re-framed as one JSON array, each event\'s JSON untouched', async () => {
    const body = '{"contents":[{"role":"user","parts":[{"text":"Tell me about mountains."}]}],"generationConfig":{"maxOutputTokens":60}}';
    const response = await post('streamGenerateContent', body, `?key=${CLIENT_KEY}`);
    assert.equal(response.status, 200);
    assert.match(response.headers.get('content-type') ?? '', /application\/json/);
    const text = await response.text();
    const chunks = JSON.parse(text) as Array<{ candidates: Array<{ content: { parts: Array<{ text?: string }> }; finishReason?: string }>; usageMetadata?: { totalTokenCount: number } }>;
    assert.ok(Array.isArray(chunks) && chunks.length > 1, `${chunks.length} elements`);
    assert.ok(chunks.at(-1)!.candidates[0]!.finishReason);
    assert.ok((chunks.at(-1)!.usageMetadata?.totalTokenCount ?? 0) > 0);
    const upstream = posts(upstreamTap, `/v1beta/models/${UPSTREAM_MODEL}:streamGenerateContent`).at(-1)!;
    assert.equal(new URL(upstream.url, 'http://x').search, '?alt=sse');
    // Each element is the text of one upstream event, exactly (the simulator's events are one line each).
    const direct = await fetch(`${sim.url}/v1beta/models/${UPSTREAM_MODEL}:streamGenerateContent?alt=sse`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-goog-api-key': 'sk-sim-big' },
      body,
    });
    const events = (await direct.text()).split(/\r?\n\r?\n/).filter((e) => e.startsWith('data: ')).map((e) => e.slice('data: '.length));
    const withoutIds = (json: string) => json.replace(/"responseId":"[^"]*"/, '');
    assert.deepEqual(text.slice(1, -1).split(',\r\n').map(withoutIds), events.map(withoutIds));
  });

  it('the exact cache keeps the provider\'s own answer and replays it as it came, whole or streamed (SSE or JSON array)', async () => {
    const body = '{"contents":[{"role":"user","parts":[{"text":"Describe a lake in one line."}]}],"generationConfig":{"temperature":0,"maxOutputTokens":30}}';
    let sse = '';
    for (const [method, query] of [['generateContent', ''], ['streamGenerateContent', '?alt=sse']] as const) {
      const first = await post(method, body, query);
      assert.equal(first.headers.get('x-spillway-cache'), 'miss');
      const firstText = await first.text();
      const sent = upstreamTap.requests.length;
      const again = await post(method, body, query);
      assert.equal(again.status, 200);
      assert.equal(again.headers.get('x-spillway-cache'), 'hit', `${method}${query}`);
      assert.equal(await again.text(), firstText, `${method}${query}: the same bytes`);
      assert.equal(again.headers.get('content-type'), first.headers.get('content-type'));
      assert.equal(upstreamTap.requests.length, sent, 'nothing went upstream');
      sse = firstText;
    }
    // The stream kept from SSE answers the JSON-array stream of the same request too, re-framed.
    const sent = upstreamTap.requests.length;
    const array = await post('streamGenerateContent', body);
    assert.equal(array.headers.get('x-spillway-cache'), 'hit');
    const events = sse.split(/\r?\n\r?\n/).filter((e) => e.startsWith('data: ')).map((e) => e.slice('data: '.length));
    assert.equal(await array.text(), `[${events.join(',\r\n')}]`);
    assert.equal(upstreamTap.requests.length, sent, 'nothing went upstream');
  });

  it('a Gemini 429 with RetryInfo is spillway\'s to handle: the request spills to the next target, translated', async () => {
    const body = '{"contents":[{"role":"user","parts":[{"text":"Say something short."}]}],"generationConfig":{"maxOutputTokens":20}}';
    const providers: string[] = [];
    for (let i = 0; i < 4; i++) {
      const response = await fetch(`${gateway.url}/v1/models/spill-gemini:generateContent`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-goog-api-key': CLIENT_KEY },
        body,
      });
      assert.equal(response.status, 200, await response.clone().text());
      const answer = (await response.json()) as { candidates: Array<{ content: { parts: Array<{ text?: string }> } }> };
      assert.ok((answer.candidates[0]!.content.parts[0]!.text ?? '').length > 0);
      providers.push(response.headers.get('x-spillway-provider') ?? '');
    }
    const stats = sim.stats();
    assert.ok((stats.keys['tiny']?.rateLimited ?? 0) >= 1, 'the tiny key met Gemini\'s 429');
    assert.deepEqual(providers.slice(0, 2), ['gemini-tiny', 'gemini-tiny']);
    assert.equal(providers.at(-1), 'openai', 'then the request went to the OpenAI-compatible target');
    // The spill-over was translated: the OpenAI provider got a chat completion, not Gemini's body.
    const chat = posts(upstreamTap, '/v1/chat/completions').at(-1)!;
    assert.equal((JSON.parse(chat.body.toString('utf8')) as { model: string }).model, 'gpt-4o-mini');
  });
});
