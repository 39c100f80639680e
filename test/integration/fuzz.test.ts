/**
 * Issue 12, checks: property-based fuzzing of both surfaces (Messages, count_tokens, batches
 * create, Chat Completions), same-protocol and translated routes, with arbitrary JSON, valid
 * bodies mutated (wrong types in any field, missing fields, deep nesting, huge strings, odd
 * unicode in model and field names), odd headers and wrong content types. The promise: no crash,
 * no 5xx, every 4xx in the caller's API shape, and the gateway serves a normal request after each
 * run of cases. A failure prints fast-check's seed and the smallest body that still fails.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { defaultConfig, startStack, type Stack } from '../support/stack.js';

type Shape = 'anthropic' | 'openai';
type Json = Record<string, unknown>;

interface Endpoint {
  name: string;
  path: string;
  shape: Shape;
  /** Whether `stream` means anything here. */
  streams: boolean;
  valid(model: string): Json;
}

const anthropicParams = (model: string): Json => ({
  model,
  max_tokens: 32,
  system: 'Be brief.',
  temperature: 0.5,
  stop_sequences: ['END'],
  metadata: { user_id: 'u-1' },
  tools: [{ name: 'get_weather', description: 'Weather for a city', input_schema: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } }],
  tool_choice: { type: 'auto' },
  messages: [
    { role: 'user', content: [{ type: 'text', text: 'Weather in Paris?' }, { type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'iVBORw0KGgo=' } }] },
    { role: 'assistant', content: [{ type: 'text', text: 'Looking.' }, { type: 'tool_use', id: 'toolu_1', name: 'get_weather', input: { city: 'Paris' } }] },
    { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_1', content: 'sunny' }] },
  ],
});

const openaiParams = (model: string): Json => ({
  model,
  max_tokens: 32,
  temperature: 0.5,
  stop: ['END'],
  user: 'u-1',
  tools: [{ type: 'function', function: { name: 'get_weather', description: 'Weather for a city', parameters: { type: 'object', properties: { city: { type: 'string' } } } } }],
  tool_choice: 'auto',
  messages: [
    { role: 'system', content: 'Be brief.' },
    { role: 'user', content: [{ type: 'text', text: 'Weather in Paris?' }, { type: 'image_url', image_url: { url: 'data:image/png;base64,iVBORw0KGgo=' } }] },
    { role: 'assistant', content: null, tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } }] },
    { role: 'tool', tool_call_id: 'call_1', content: 'sunny' },
  ],
});

const ENDPOINTS: Endpoint[] = [
  { name: 'Messages', path: '/v1/messages', shape: 'anthropic', streams: true, valid: anthropicParams },
  {
    name: 'count_tokens',
    path: '/v1/messages/count_tokens',
    shape: 'anthropic',
    streams: false,
    valid: (model) => {
      const { max_tokens: _max, ...rest } = anthropicParams(model);
      return rest;
    },
  },
  {
    name: 'batches create',
    path: '/v1/messages/batches',
    shape: 'anthropic',
    streams: false,
    valid: (model) => ({ requests: [{ custom_id: 'req-1', params: anthropicParams(model) }, { custom_id: 'req-2', params: { model, max_tokens: 8, messages: [{ role: 'user', content: 'hi' }] } }] }),
  },
  { name: 'Chat Completions', path: '/v1/chat/completions', shape: 'openai', streams: true, valid: openaiParams },
];

/** The default stack routes gpt-* to the OpenAI provider and everything else to Anthropic. */
const ROUTES = [
  { name: 'to an Anthropic provider', model: 'claude-haiku-4-5' },
  { name: 'to an OpenAI provider', model: 'gpt-4o-mini' },
];

const ODD_TEXT = ['模型', 'модель', '🤖', '\u007f', 'a\r\nb: c', '\u0000', '\ud800', '\u202e', '', ' ', '__proto__', 'constructor', 'toString', '%E6%A8', '../../etc/passwd'];

/** Stands in for deep nesting until the body is serialised (JSON.stringify itself overflows on it). */
const DEEP = (depth: number) => `\u0000DEEP${depth}\u0000`;
const expandDeep = (text: string) => text.replace(/"\\u0000DEEP(\d+)\\u0000"/g, (_, depth: string) => `${'['.repeat(Number(depth))}1${']'.repeat(Number(depth))}`);

const oddText = fc.oneof(
  fc.string({ unit: 'grapheme', maxLength: 30 }),
  fc.string({ unit: 'binary', maxLength: 30 }),
  fc.constantFrom(...ODD_TEXT),
  fc.integer({ min: 10_000, max: 300_000 }).map((n) => 'x'.repeat(n)),
);

/** Mostly the plain wrong types a translator trips on; now and then anything at all. */
const wrongValue: fc.Arbitrary<unknown> = fc.oneof(
  { arbitrary: fc.constantFrom(null, true, false, 0, -1, 1e308, '', 'text', [], {}, [null], [{}], { type: null }, { type: 'unknown_type' }), weight: 4 },
  { arbitrary: fc.jsonValue({ maxDepth: 3 }), weight: 1 },
  { arbitrary: oddText, weight: 1 },
  { arbitrary: fc.integer({ min: 200, max: 20_000 }).map(DEEP), weight: 1 },
);

type Mutation =
  | { kind: 'replace'; at: number; value: unknown }
  | { kind: 'delete'; at: number }
  | { kind: 'add-field'; at: number; name: string; value: unknown }
  | { kind: 'model'; name: string };

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('replace' as const), at: fc.nat(), value: wrongValue }),
  fc.record({ kind: fc.constant('delete' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('add-field' as const), at: fc.nat(), name: oddText, value: wrongValue }),
  fc.record({ kind: fc.constant('model' as const), name: oddText }),
);

const isObject = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value);

/** Every path into a body, so a mutation can land on any field at any depth. */
function pathsOf(body: unknown): Array<Array<string | number>> {
  const paths: Array<Array<string | number>> = [];
  const walk = (value: unknown, path: Array<string | number>) => {
    if (path.length > 0) paths.push(path);
    if (Array.isArray(value)) value.forEach((item, i) => walk(item, [...path, i]));
    else if (typeof value === 'object' && value !== null) for (const [key, item] of Object.entries(value)) walk(item, [...path, key]);
  };
  walk(body, []);
  return paths;
}

function mutate(body: Json, mutations: Mutation[], route: string): Json {
  for (const m of mutations) {
    if (m.kind === 'model') {
      // Kept on its route where a prefix decides it, so translated routes see odd names too.
      const model = `${route.startsWith('gpt-') ? 'gpt-' : ''}${m.name}`;
      if (!Array.isArray(body.requests)) body.model = model;
      else for (const request of body.requests as Json[]) if (isObject(request) && isObject(request.params)) request.params.model = model;
      continue;
    }
    const paths = pathsOf(body);
    if (paths.length === 0) continue;
    const path = paths[m.at % paths.length]!;
    const parent = path.slice(0, -1).reduce<unknown>((node, key) => (node as Json)[key as string], body) as Json | unknown[];
    const last = path.at(-1)!;
    if (m.kind === 'replace') (parent as Json)[last as string] = m.value;
    else if (m.kind === 'delete') {
      if (Array.isArray(parent)) parent.splice(last as number, 1);
      else delete (parent as Json)[last as string];
    } else {
      const target = (parent as Json)[last as string];
      const holder = typeof target === 'object' && target !== null && !Array.isArray(target) ? (target as Json) : Array.isArray(parent) ? body : (parent as Json);
      holder[m.name] = m.value;
    }
  }
  return body;
}

const headerText = fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)), maxLength: 40 });

const oddHeaders = fc.record(
  {
    'content-type': fc.constantFrom('application/json', 'text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/json; charset=latin1', 'application/octet-stream'),
    'anthropic-version': fc.oneof(fc.constant('2023-06-01'), headerText),
    'anthropic-beta': headerText,
    'x-spillway-priority': fc.oneof(fc.constantFrom('interactive', 'batch', 'low', 'HIGH'), headerText),
    'x-spillway-max-wait': fc.oneof(fc.constantFrom('0', '1', '30s', '1e12', '99999999999999999999', '-5', 'NaN', '1.5m'), headerText),
    'x-spillway-cache': fc.oneof(fc.constantFrom('no-cache', 'no-store'), headerText),
    'x-stainless-timeout': fc.oneof(fc.constantFrom('0', '-1', '600', '1e400', 'abc'), headerText),
    'accept-encoding': fc.constantFrom('gzip', 'br', 'identity', '*'),
    'x-spillway-batch-webhook': fc.constantFrom('not a url', 'ftp://x', ''),
  },
  { requiredKeys: [] },
);

interface Outcome {
  status: number;
  body: string;
}

async function send(url: string, body: string, headers: Record<string, string>): Promise<Outcome> {
  const response = await fetch(url, { method: 'POST', headers, body, signal: AbortSignal.timeout(30_000) });
  return { status: response.status, body: await response.text() };
}

/** Every 4xx in the caller's own API shape; no 5xx at all. */
function assertAnswer(shape: Shape, outcome: Outcome, sent: string): void {
  assert.ok(outcome.status < 500, `answered ${outcome.status}: ${outcome.body.slice(0, 400)}\nto ${sent.slice(0, 1500)}`);
  if (outcome.status < 400) return;
  const parsed = JSON.parse(outcome.body) as Json;
  const error = parsed.error as Json;
  if (shape === 'anthropic') {
    assert.equal(parsed.type, 'error', outcome.body.slice(0, 400));
    assert.equal(typeof error.type, 'string');
    assert.equal(typeof error.message, 'string');
  } else {
    assert.deepEqual(Object.keys(error).sort(), ['code', 'message', 'param', 'type'], outcome.body.slice(0, 400));
    assert.equal(typeof error.message, 'string');
    assert.equal(typeof error.type, 'string');
  }
}

/** fc.assert, with the failed assertion (the answer and the body sent) in the message, not only in `cause`. */
async function holds<T extends [unknown, ...unknown[]]>(property: fc.IAsyncProperty<T>, numRuns: number): Promise<void> {
  try {
    await fc.assert(property, { numRuns });
  } catch (error) {
    const cause = (error as Error).cause;
    throw new Error(`${(error as Error).message}\n${cause instanceof Error ? cause.message : ''}`);
  }
}

describe('fuzzing both surfaces and the translated routes', () => {
  let stack: Stack;
  before(async () => {
    stack = await startStack({
      config: (simUrl, keys) => ({ ...defaultConfig(simUrl, keys), cache: { exact: { enabled: true } } }),
    });
  });
  after(() => stack.close());

  async function servesNormalRequests(): Promise<void> {
    const answer = await stack.anthropic.messages.create({ model: 'claude-haiku-4-5', max_tokens: 8, messages: [{ role: 'user', content: 'hi' }] });
    assert.equal(answer.type, 'message');
    const completion = await stack.openai.chat.completions.create({ model: 'claude-haiku-4-5', messages: [{ role: 'user', content: 'hi' }] });
    assert.equal(completion.object, 'chat.completion');
  }

  // The translation faults the probe found, and those this fuzz found first, kept as fixed cases.
  const chatToAnthropic = (extra: Json, messages: unknown[] = [{ role: 'user', content: 'hi' }]) => ({ model: 'claude-haiku-4-5', messages, ...extra });
  const messagesToOpenAI = (extra: Json, messages: unknown[] = [{ role: 'user', content: 'hi' }]) => ({ model: 'gpt-4o-mini', max_tokens: 16, messages, ...extra });
  const REGRESSIONS: Array<{ name: string; endpoint: Endpoint; body: Json }> = [
    { name: 'stop: true', endpoint: ENDPOINTS[3]!, body: chatToAnthropic({ stop: true }) },
    { name: 'tool_choice: null', endpoint: ENDPOINTS[0]!, body: messagesToOpenAI({ tool_choice: null }) },
    { name: 'tool_choice: a number', endpoint: ENDPOINTS[0]!, body: messagesToOpenAI({ tool_choice: 1e-9 }) },
    { name: 'a message without content', endpoint: ENDPOINTS[3]!, body: chatToAnthropic({}, [{ role: 'user' }]) },
    { name: 'an image without source', endpoint: ENDPOINTS[0]!, body: messagesToOpenAI({}, [{ role: 'user', content: [{ type: 'image' }] }]) },
    { name: 'an image_url without its url', endpoint: ENDPOINTS[3]!, body: chatToAnthropic({}, [{ role: 'user', content: [{ type: 'image_url' }] }]) },
    { name: 'a tool message without tool_call_id', endpoint: ENDPOINTS[3]!, body: chatToAnthropic({}, [{ role: 'user', content: 'x' }, { role: 'tool', content: 'x' }]) },
    { name: 'a tool call without id or function', endpoint: ENDPOINTS[3]!, body: chatToAnthropic({}, [{ role: 'user', content: 'x' }, { role: 'assistant', content: null, tool_calls: [{ type: 'function' }] }]) },
    { name: 'tool_calls that is an object', endpoint: ENDPOINTS[3]!, body: chatToAnthropic({}, [{ role: 'user', content: 'x' }, { role: 'assistant', content: null, tool_calls: {} }]) },
    { name: 'a tool without its function', endpoint: ENDPOINTS[3]!, body: chatToAnthropic({ tools: [{ type: 'function' }] }) },
    { name: 'a tool_result whose content is a number', endpoint: ENDPOINTS[0]!, body: messagesToOpenAI({}, [{ role: 'user', content: [{ type: 'tool_result', tool_use_id: 't', content: 0 }] }]) },
  ];
  for (const { name, endpoint, body } of REGRESSIONS) {
    it(`${name} on a translated ${endpoint.name} request is answered without a 5xx, in the caller's shape`, async () => {
      const text = JSON.stringify(body);
      assertAnswer(endpoint.shape, await send(`${stack.gateway.url}${endpoint.path}`, text, { 'content-type': 'application/json' }), text);
      await servesNormalRequests();
    });
  }

  for (const endpoint of ENDPOINTS) {
    for (const route of ROUTES) {
      it(`${endpoint.name} ${route.name}: mutated valid bodies and odd headers get no 5xx, every 4xx in the caller's shape`, async () => {
        await holds(
          fc.asyncProperty(fc.array(mutation, { minLength: 1, maxLength: 3 }), oddHeaders, fc.boolean(), async (mutations, headers, stream) => {
            const body = mutate(structuredClone(endpoint.valid(route.model)), mutations, route.model);
            if (endpoint.streams && stream && typeof body === 'object') body.stream = true;
            const text = expandDeep(JSON.stringify(body));
            assertAnswer(endpoint.shape, await send(`${stack.gateway.url}${endpoint.path}`, text, headers), text);
          }),
          90,
        );
        await servesNormalRequests();
      });
    }

    it(`${endpoint.name}: arbitrary JSON and arbitrary text get no 5xx, every 4xx in the caller's shape`, async () => {
      await holds(
        fc.asyncProperty(fc.oneof(fc.jsonValue({ maxDepth: 4 }).map((value) => JSON.stringify(value) ?? 'null'), fc.string({ unit: 'binary', maxLength: 200 })), oddHeaders, async (text, headers) => {
          assertAnswer(endpoint.shape, await send(`${stack.gateway.url}${endpoint.path}`, text, headers), text);
        }),
        40,
      );
      await servesNormalRequests();
    });
  }
});
