/**
 * Issues 4 and 11: the newest Claude Code's full request (a system message between turns, many
 * tools, one deferred, adaptive thinking, effort, context management, betas, ?beta=true) sent
 * through spillway to an OpenAI-compatible simulator gets a proper Anthropic answer, and what had
 * no place there is named in x-spillway-dropped.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { SseParser } from '../../src/protocol/sse.js';
import { simProvider, type Stack, startStack } from '../support/stack.js';

const fixture = JSON.parse(readFileSync(new URL('../fixtures/claude-code/request.json', import.meta.url), 'utf8')) as Record<string, unknown>;
const headers = {
  'content-type': 'application/json',
  'x-api-key': 'anything',
  'anthropic-version': '2023-06-01',
  'anthropic-beta':
    'claude-code-20250219,interleaved-thinking-2025-05-14,context-management-2025-06-27,per-turn-control-2026-07-01,mid-conversation-tool-changes-2026-07-01,thinking-token-count-2026-05-13,advanced-tool-use-2025-11-20,effort-2025-11-24',
  'x-stainless-timeout': '600',
};

describe('Claude Code through spillway to an OpenAI-compatible provider', () => {
  let stack: Stack;
  before(async () => {
    stack = await startStack({
      config: (simUrl, keys) => ({
        providers: { compat: simProvider('openai', simUrl, keys) },
        routes: { '*': { targets: [{ provider: 'compat', model: 'gpt-4o-mini' }] } },
      }),
    });
  });
  after(() => stack.close());

  it('streams a well-formed Anthropic message back', async () => {
    const response = await fetch(`${stack.gateway.url}/v1/messages?beta=true`, { method: 'POST', headers, body: JSON.stringify(fixture) });
    assert.equal(response.status, 200);
    assert.equal(response.headers.get('x-spillway-provider'), 'compat');
    assert.match(response.headers.get('content-type') ?? '', /text\/event-stream/);
    const events = new SseParser().push(await response.text()).map((event) => ({ name: event.event, data: JSON.parse(event.data) as Record<string, unknown> }));
    const names = events.map((event) => event.name);
    assert.equal(names[0], 'message_start');
    assert.equal(names.at(-1), 'message_stop');
    assert.ok(!names.includes('error'), JSON.stringify(events.filter((e) => e.name === 'error')));
    const delta = events.find((event) => event.name === 'message_delta')!.data as { delta: { stop_reason: string }; usage: { output_tokens: number } };
    assert.ok(['end_turn', 'tool_use'].includes(delta.delta.stop_reason));
    assert.ok(delta.usage.output_tokens > 0);
    assert.ok(names.includes('content_block_delta'), 'some content arrived');
  });

  it('non-streaming too, and the upstream saw no Anthropic-only fields', async () => {
    const body = { ...fixture, stream: false };
    const response = await fetch(`${stack.gateway.url}/v1/messages?beta=true`, { method: 'POST', headers, body: JSON.stringify(body) });
    assert.equal(response.status, 200, await response.clone().text());
    const message = (await response.json()) as { type: string; role: string; content: Array<{ type: string }>; stop_reason: string; model: string };
    assert.equal(message.type, 'message');
    assert.equal(message.model, fixture.model);
    assert.ok(message.content.length > 0);
    const dropped = response.headers.get('x-spillway-dropped') ?? '';
    for (const field of ['thinking', 'context_management', 'output_config.effort', 'tools with defer_loading']) assert.ok(dropped.includes(field), `${field} in "${dropped}"`);
  });
});
