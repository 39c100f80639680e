/**
 * Issue 12, items 1 and 5: values spillway echoes into response headers (the client's model name,
 * field names dropped in translation, key ids from config) could hold characters no header may,
 * and took the process down; a body nested ten thousand levels deep overflowed the stack. Each is
 * now answered, and the gateway serves the next request.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { defaultConfig, simKeys, startStack, type Stack } from '../support/stack.js';

/** What Node would refuse in a header (ERR_INVALID_CHAR), and a name too long for any client's header buffer. */
const ODD_NAMES: Record<string, string> = {
  Chinese: '模型',
  Cyrillic: 'модель',
  emoji: 'claude-🤖',
  DEL: 'model\u007f',
  CRLF: 'model\r\nx-injected: yes',
  LF: 'model\nx',
  NUL: 'model\u0000',
  'a control character': 'model\u0007',
  Latin1: 'modèle',
  'a lone surrogate': 'model\ud800',
  'right-to-left override': 'model\u202eevil',
  'zero-width space': 'mo\u200bdel',
  'combining accent': 'mode\u0301l',
  '1 MB': `model-${'x'.repeat(1024 * 1024)}`,
};

const HEADER_SAFE = /^[\x20-\x7e]{0,256}$/;

interface Answer {
  status: number;
  headers: Headers;
  body: string;
}

async function post(url: string, body: unknown, headers: Record<string, string> = {}): Promise<Answer> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
    signal: AbortSignal.timeout(20_000),
  });
  return { status: response.status, headers: response.headers, body: await response.text() };
}

const anthropicBody = (model: string, extra: Record<string, unknown> = {}) => ({ model, max_tokens: 16, messages: [{ role: 'user', content: 'hi' }], ...extra });
const openaiBody = (model: string, extra: Record<string, unknown> = {}) => ({ model, messages: [{ role: 'user', content: 'hi' }], ...extra });

function assertAnthropicError(answer: Answer, status: number): { type: string; message: string } {
  assert.equal(answer.status, status, answer.body.slice(0, 300));
  const parsed = JSON.parse(answer.body) as { type: string; error: { type: string; message: string } };
  assert.equal(parsed.type, 'error');
  assert.equal(typeof parsed.error.type, 'string');
  assert.equal(typeof parsed.error.message, 'string');
  return parsed.error;
}

function assertOpenAIError(answer: Answer, status: number): { type: string; message: string } {
  assert.equal(answer.status, status, answer.body.slice(0, 300));
  const parsed = JSON.parse(answer.body) as { error: { type: string; message: string; param: unknown; code: unknown } };
  assert.deepEqual(Object.keys(parsed.error).sort(), ['code', 'message', 'param', 'type']);
  return parsed.error;
}

/** A body nested `depth` arrays deep, as text (JSON.stringify itself would overflow). */
function nested(depth: number): string {
  return `${'['.repeat(depth)}${']'.repeat(depth)}`;
}

describe('odd model names echoed into x-spillway-model', () => {
  let stack: Stack;
  before(async () => {
    stack = await startStack();
  });
  after(() => stack.close());

  async function servesNext(): Promise<void> {
    const next = await post(`${stack.gateway.url}/v1/messages`, anthropicBody('claude-haiku-4-5'));
    assert.equal(next.status, 200, 'the next request is served');
  }

  const routes = [
    { surface: 'Anthropic', path: '/v1/messages', body: anthropicBody, prefix: '', route: 'an Anthropic provider' },
    { surface: 'Anthropic', path: '/v1/messages', body: anthropicBody, prefix: 'gpt-', route: 'a translated route to OpenAI' },
    { surface: 'OpenAI', path: '/v1/chat/completions', body: openaiBody, prefix: 'gpt-', route: 'an OpenAI provider' },
    { surface: 'OpenAI', path: '/v1/chat/completions', body: openaiBody, prefix: '', route: 'a translated route to Anthropic' },
  ];
  for (const { surface, path, body, prefix, route } of routes) {
    for (const [kind, name] of Object.entries(ODD_NAMES)) {
      it(`a model name with ${kind} on the ${surface} surface (${route}) is answered and the next request is served`, async () => {
        const answer = await post(`${stack.gateway.url}${path}`, body(prefix + name));
        assert.ok(answer.status < 500, `answered ${answer.status}: ${answer.body.slice(0, 300)}`);
        const echoed = answer.headers.get('x-spillway-model');
        assert.ok(echoed !== null, 'the model header is still there');
        assert.match(echoed, HEADER_SAFE);
        assert.equal(answer.headers.get('x-injected'), null, 'no header was injected');
        await servesNext();
      });
    }
  }

  it('a failure while recording an answered request ends nothing: the next request is served', async () => {
    const { observer } = stack.gateway.gateway;
    const record = observer.request;
    observer.request = () => {
      throw new Error('the usage log is broken');
    };
    try {
      assert.equal((await post(`${stack.gateway.url}/v1/messages`, anthropicBody('claude-haiku-4-5'))).status, 200);
    } finally {
      observer.request = record;
    }
    await servesNext();
  });

  it('a header-safe model name reads back: percent-encoded UTF-8', async () => {
    const answer = await post(`${stack.gateway.url}/v1/messages`, anthropicBody('claude-模型'));
    assert.ok(answer.status < 500);
    assert.equal(decodeURIComponent(answer.headers.get('x-spillway-model')!), 'claude-模型');
  });

  it('a non-Latin-1 field name dropped in translation is answered, listed header-safe, and the next request is served', async () => {
    const answer = await post(`${stack.gateway.url}/v1/messages`, anthropicBody('gpt-4o-mini', { 'поле_模型': 1, ['x'.repeat(100_000)]: 2 }));
    assert.equal(answer.status, 200, answer.body.slice(0, 300));
    const dropped = answer.headers.get('x-spillway-dropped');
    assert.ok(dropped !== null);
    assert.match(dropped, HEADER_SAFE);
    assert.match(decodeURIComponent(dropped.split(', ')[0]!), /поле_模型/);
    await servesNext();
  });
});

describe('a non-ASCII key id in config', () => {
  let stack: Stack;
  before(async () => {
    const keys = simKeys(1);
    stack = await startStack({
      sim: { keys },
      config: (simUrl) => {
        const providerKeys = keys.map(({ key, limits }) => ({ id: 'ключ-команды-🔑', key, limits }));
        return {
          providers: {
            'провайдер': { type: 'anthropic', base_url: simUrl, keys: providerKeys },
            openai: { type: 'openai', base_url: `${simUrl}/v1`, keys: providerKeys },
          },
          routes: { 'gpt-*': { targets: [{ provider: 'openai' }] }, '*': { targets: [{ provider: 'провайдер' }] } },
        };
      },
    });
  });
  after(() => stack.close());

  it('is answered with the id and provider name header-safe, on both surfaces, and the next request is served', async () => {
    for (const [path, body] of [
      ['/v1/messages', anthropicBody('claude-haiku-4-5')],
      ['/v1/chat/completions', openaiBody('claude-haiku-4-5')],
      ['/v1/chat/completions', openaiBody('gpt-4o-mini')],
    ] as const) {
      const answer = await post(`${stack.gateway.url}${path}`, body);
      assert.equal(answer.status, 200, answer.body.slice(0, 300));
      assert.equal(decodeURIComponent(answer.headers.get('x-spillway-key')!), 'ключ-команды-🔑');
      assert.match(answer.headers.get('x-spillway-provider')!, HEADER_SAFE);
    }
    const next = await stack.anthropic.messages.create(anthropicBody('claude-haiku-4-5') as never);
    assert.equal(next.type, 'message');
  });
});

describe('bodies nested ten thousand levels deep', () => {
  let stack: Stack;
  before(async () => {
    stack = await startStack({ config: (simUrl, keys) => ({ ...defaultConfig(simUrl, keys), cache: { exact: { enabled: true } } }) });
  });
  after(async () => {
    await stack.close();
  });

  const deep = nested(10_000);
  const cases = [
    { name: 'a message', path: '/v1/messages', body: `{"model":"claude-haiku-4-5","max_tokens":16,"temperature":0,"messages":[{"role":"user","content":"hi"}],"metadata":${deep}}`, shape: 'anthropic' },
    { name: 'a translated message', path: '/v1/messages', body: `{"model":"gpt-4o-mini","max_tokens":16,"messages":[{"role":"user","content":"hi"}],"tools":[{"name":"t","input_schema":${deep}}]}`, shape: 'anthropic' },
    { name: 'a chat completion', path: '/v1/chat/completions', body: `{"model":"gpt-4o-mini","temperature":0,"messages":[{"role":"user","content":"hi"}],"x":${deep}}`, shape: 'openai' },
    { name: 'a count_tokens request', path: '/v1/messages/count_tokens', body: `{"model":"claude-haiku-4-5","messages":[{"role":"user","content":"hi"}],"x":${deep}}`, shape: 'anthropic' },
    { name: 'a batch create', path: '/v1/messages/batches', body: `{"requests":[{"custom_id":"a","params":{"model":"claude-haiku-4-5","max_tokens":16,"messages":[{"role":"user","content":"hi"}],"x":${deep}}}]}`, shape: 'anthropic' },
    { name: 'a bare array', path: '/v1/messages', body: deep, shape: 'anthropic' },
  ] as const;
  for (const c of cases) {
    it(`${c.name} is answered 400 invalid_request_error in the caller's shape and the next request is served`, async () => {
      const answer = await post(`${stack.gateway.url}${c.path}`, c.body);
      const error = c.shape === 'anthropic' ? assertAnthropicError(answer, 400) : assertOpenAIError(answer, 400);
      assert.equal(error.type, 'invalid_request_error');
      assert.match(error.message, /nested more than 256 levels/);
      const next = await post(`${stack.gateway.url}/v1/messages`, anthropicBody('claude-haiku-4-5', { temperature: 0 }));
      assert.equal(next.status, 200);
    });
  }

  it('a body nested 200 levels deep (a deep JSON schema) is served', async () => {
    const schema = `${'{"type":"object","properties":{"a":'.repeat(66)}{"type":"string"}${'}}'.repeat(66)}`;
    const answer = await post(
      `${stack.gateway.url}/v1/messages`,
      `{"model":"gpt-4o-mini","max_tokens":16,"temperature":0,"messages":[{"role":"user","content":"hi"}],"tools":[{"name":"t","input_schema":${schema}}]}`,
    );
    assert.equal(answer.status, 200, answer.body.slice(0, 300));
  });
});
