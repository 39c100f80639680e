/**
 * Issue 19: traces an operator can follow. spillway exports OpenTelemetry spans over OTLP/HTTP to
 * a collector (here an in-process one reading the OTLP JSON the official exporter sends): one
 * trace per request, the request's span carrying the GenAI attributes and spillway's own, each
 * upstream attempt a child (with the key's id, never the key), a client's traceparent continued
 * and passed upstream; no prompt or answer text unless capture_content is on.
 */
import assert from 'node:assert/strict';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { after, before, describe, it } from 'node:test';
import Anthropic from '@anthropic-ai/sdk';
import { startSimulator } from '../../src/sim/index.js';
import { startGateway, type RunningGateway } from '../../src/server/gateway.js';
import { simKeys, simProvider } from '../support/stack.js';

interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  attributes?: Array<{ key: string; value: { stringValue?: string; intValue?: string | number; boolValue?: boolean; arrayValue?: { values: Array<{ stringValue?: string }> } } }>;
}

function attr(span: OtlpSpan, key: string): unknown {
  const found = span.attributes?.find((a) => a.key === key)?.value;
  if (!found) return undefined;
  if (found.intValue !== undefined) return Number(found.intValue);
  if (found.arrayValue) return found.arrayValue.values.map((v) => v.stringValue);
  return found.stringValue ?? found.boolValue;
}

/** An OTLP/HTTP collector: every span it was sent, and every body's raw text. */
async function startCollector(): Promise<{ url: string; spans: OtlpSpan[]; raw: string[]; server: Server }> {
  const spans: OtlpSpan[] = [];
  const raw: string[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => {
      raw.push(body);
      assert.equal(req.url, '/v1/traces');
      const parsed = JSON.parse(body) as { resourceSpans: Array<{ scopeSpans: Array<{ spans: OtlpSpan[] }> }> };
      for (const r of parsed.resourceSpans) for (const s of r.scopeSpans) spans.push(...s.spans);
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address() as { port: number };
  return { url: `http://127.0.0.1:${address.port}`, spans, raw, server };
}

/** In front of the simulator: records the headers spillway sends upstream; fails the first request with a 500. */
async function startRecordingProxy(target: string): Promise<{ url: string; seen: IncomingHttpHeaders[]; server: Server }> {
  const seen: IncomingHttpHeaders[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', async () => {
      seen.push(req.headers);
      if (seen.length === 1) {
        res.writeHead(500, { 'content-type': 'application/json' }).end(JSON.stringify({ type: 'error', error: { type: 'api_error', message: 'Internal server error' } }));
        return;
      }
      const headers = Object.fromEntries(Object.entries(req.headers).filter(([k]) => k !== 'host' && k !== 'content-length' && k !== 'connection')) as Record<string, string>;
      const answer = await fetch(target + req.url, { method: req.method, headers, body });
      res.writeHead(answer.status, Object.fromEntries(answer.headers));
      res.end(Buffer.from(await answer.arrayBuffer()));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address() as { port: number };
  return { url: `http://127.0.0.1:${address.port}`, seen, server };
}

async function until(check: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 15_000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('OpenTelemetry traces over OTLP/HTTP', () => {
  let collector: Awaited<ReturnType<typeof startCollector>>;
  let proxy: Awaited<ReturnType<typeof startRecordingProxy>>;
  let sim: Awaited<ReturnType<typeof startSimulator>>;
  let gateway: RunningGateway;
  const keys = simKeys(1);
  const PROMPT = 'a secret prompt about the quarterly numbers';

  before(async () => {
    collector = await startCollector();
    sim = await startSimulator({ keys });
    proxy = await startRecordingProxy(sim.url);
    gateway = await startGateway(
      {
        usage: { enabled: false },
        telemetry: { otlp_endpoint: collector.url, service_name: 'spillway-test' },
        providers: { anthropic: simProvider('anthropic', proxy.url, keys) },
        routes: { '*': { targets: [{ provider: 'anthropic' }] } },
      },
      { port: 0, quiet: true },
    );
  });
  let closed = false;
  after(async () => {
    if (!closed) await gateway?.close();
    await sim?.close();
    proxy?.server.close();
    collector?.server.close();
  });

  it('one trace per request: GenAI and spillway attributes on the request span, each upstream attempt a child, the client traceparent continued upstream', async () => {
    const client = new Anthropic({ baseURL: gateway.url, apiKey: 'client', maxRetries: 0 });
    const clientTrace = '4bf92f3577b34da6a3ce929d0e0e4736';
    const { data: first, response } = await client.messages
      .create({ model: 'claude-sonnet-4-6', max_tokens: 32, messages: [{ role: 'user', content: PROMPT }] }, { headers: { traceparent: `00-${clientTrace}-00f067aa0ba902b7-01` } })
      .withResponse();
    const second = await client.messages.create({ model: 'claude-sonnet-4-6', max_tokens: 32, messages: [{ role: 'user', content: 'another question' }] });
    await gateway.close(); // flushes the spans
    closed = true;
    const requests = () => collector.spans.filter((s) => attr(s, 'spillway.request_id') !== undefined);
    await until(() => requests().length === 2, 'two request spans');

    const [a, b] = requests();
    assert.equal(a!.traceId, clientTrace, "the client's trace is continued");
    assert.equal(a!.parentSpanId, '00f067aa0ba902b7');
    assert.notEqual(b!.traceId, clientTrace, 'a request without traceparent starts its own trace');
    assert.equal(new Set(requests().map((s) => s.traceId)).size, 2, 'one trace per request');

    assert.equal(attr(a!, 'gen_ai.system'), 'anthropic');
    assert.equal(attr(a!, 'gen_ai.request.model'), 'claude-sonnet-4-6');
    assert.equal(attr(a!, 'gen_ai.response.model'), 'claude-sonnet-4-6');
    assert.equal(attr(a!, 'gen_ai.usage.input_tokens'), first.usage.input_tokens);
    assert.equal(attr(a!, 'gen_ai.usage.output_tokens'), first.usage.output_tokens);
    assert.equal(attr(a!, 'spillway.attempts'), 2, 'the 500 was retried');
    assert.equal(typeof attr(a!, 'spillway.queue_ms'), 'number');
    assert.equal(attr(a!, 'spillway.cache'), response.headers.get('x-spillway-cache'));
    assert.equal(attr(b!, 'gen_ai.usage.output_tokens'), second.usage.output_tokens);
    assert.deepEqual(attr(a!, 'gen_ai.response.finish_reasons'), [first.stop_reason]);
    assert.deepEqual(attr(b!, 'gen_ai.response.finish_reasons'), [second.stop_reason]);

    const attempts = collector.spans.filter((s) => s.traceId === clientTrace && s.name.startsWith('chat '));
    assert.equal(attempts.length, 2, 'each upstream attempt is a span');
    for (const span of attempts) {
      assert.equal(span.parentSpanId, a!.spanId, 'attempts are children of the request span');
      assert.equal(attr(span, 'spillway.key_id'), keys[0]!.id);
    }
    assert.deepEqual(attempts.map((s) => attr(s, 'http.response.status_code')).sort(), [200, 500]);
    const steps = collector.spans.filter((s) => s.traceId === clientTrace).map((s) => s.name);
    assert.ok(steps.includes('spillway.queue'), steps.join(', '));
    if (response.headers.get('x-spillway-cache') === 'miss') assert.ok(steps.includes('spillway.cache.lookup'), steps.join(', '));

    // Upstream got the trace: each attempt's traceparent names the client's trace and that attempt's span.
    const upstreamParents = proxy.seen.slice(0, 2).map((h) => h.traceparent as string);
    for (const parent of upstreamParents) assert.match(parent, new RegExp(`^00-${clientTrace}-[0-9a-f]{16}-01$`));
    assert.deepEqual(upstreamParents.map((p) => p.split('-')[2]).sort(), attempts.map((s) => s.spanId).sort());

    // Neither the prompt nor the answer, nor the provider key, is in anything exported.
    const exported = collector.raw.join('\n');
    assert.ok(!exported.includes('quarterly numbers'), 'no prompt text without capture_content');
    const answerText = first.content.find((block) => block.type === 'text')?.text ?? '';
    assert.ok(answerText.length > 0 && !exported.includes(answerText), 'no answer text');
    assert.ok(!exported.includes(keys[0]!.key), 'no provider key');
  });
});
