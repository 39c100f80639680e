/**
 * The simulator facing a merged call, driven with the official SDKs straight at `spillway sim`:
 * a forced tool (Anthropic), a forced function or a JSON schema (OpenAI) asking for the answers to
 * a JSON list of prompts gets, in deterministic mode, each prompt's answer exactly as that prompt
 * alone gets it; `mergeAnswers: drop | garble` breaks the structure the way a real model might.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { buildMergedRequest, MERGE_TOOL } from '../../src/merge/prompt.js';
import type { PivotRequest } from '../../src/pivot/index.js';
import { startSimulator, type Simulator } from '../../src/sim/index.js';
import { generousLimits } from '../support/stack.js';

const SYSTEM = 'Answer in one word.';
const PROMPTS = ['Is the sky blue?', 'Name a "colour".', 'Is water\nwet?'];

function merged(): PivotRequest {
  return buildMergedRequest(PROMPTS.map((content) => ({ model: 'm', messages: [{ role: 'system', content: SYSTEM }, { role: 'user', content }], max_completion_tokens: 80 }) as PivotRequest));
}

/** The merged user message the gateway would send, and the merged tool's schema. */
const mergedPrompt = (): string => (merged().messages.at(-1)!.content as string);
const schema = (): Record<string, unknown> => ((merged().tools![0] as { function: { parameters: Record<string, unknown> } }).function.parameters);

/** The first function call's arguments (the SDK types custom tool calls too). */
function argumentsOf(completion: OpenAI.Chat.Completions.ChatCompletion): string {
  const call = completion.choices[0]!.message.tool_calls![0]!;
  assert.equal(call.type, 'function');
  return call.type === 'function' ? call.function.arguments : '';
}

describe('simulator: merged calls', () => {
  let sim: Simulator;
  let anthropic: Anthropic;
  let openai: OpenAI;
  const aloneAnthropic: string[] = [];
  const aloneOpenAI: string[] = [];

  before(async () => {
    sim = await startSimulator({ keys: [{ id: 'k1', key: 'sk-sim-1', limits: generousLimits }] });
    anthropic = new Anthropic({ baseURL: sim.url, apiKey: 'sk-sim-1', maxRetries: 0 });
    openai = new OpenAI({ baseURL: `${sim.url}/v1`, apiKey: 'sk-sim-1', maxRetries: 0 });
    for (const content of PROMPTS) {
      const a = await anthropic.messages.create({ model: 'claude-haiku-4-5', max_tokens: 80, system: SYSTEM, messages: [{ role: 'user', content }] });
      aloneAnthropic.push(a.content.map((b) => (b.type === 'text' ? b.text : '')).join(''));
      const o = await openai.chat.completions.create({ model: 'gpt-4o-mini', max_completion_tokens: 80, messages: [{ role: 'system', content: SYSTEM }, { role: 'user', content }] });
      aloneOpenAI.push(o.choices[0]!.message.content!);
    }
  });

  after(() => sim.close());

  async function anthropicMerged(): Promise<Anthropic.Messages.Message> {
    return anthropic.messages.create({
      model: 'claude-haiku-4-5',
      max_tokens: 400,
      system: SYSTEM,
      messages: [{ role: 'user', content: mergedPrompt() }],
      tools: [{ name: MERGE_TOOL, input_schema: schema() as Anthropic.Messages.Tool.InputSchema }],
      tool_choice: { type: 'tool', name: MERGE_TOOL },
    });
  }

  test('Anthropic forced tool: each item answered as alone, in order', async () => {
    sim.setOptions({ mergeAnswers: 'follow' });
    const message = await anthropicMerged();
    assert.equal(message.stop_reason, 'tool_use');
    const call = message.content.find((b) => b.type === 'tool_use')!;
    assert.deepEqual(call.input, { answers: PROMPTS.map((_, i) => ({ id: `p${i + 1}`, answer: aloneAnthropic[i] })) });
  });

  test('OpenAI forced function and JSON schema: each item answered as alone', async () => {
    const messages = [{ role: 'system' as const, content: SYSTEM }, { role: 'user' as const, content: mergedPrompt() }];
    const expected = { answers: PROMPTS.map((_, i) => ({ id: `p${i + 1}`, answer: aloneOpenAI[i] })) };
    const called = await openai.chat.completions.create({
      model: 'gpt-4o-mini',
      max_completion_tokens: 400,
      messages,
      tools: [{ type: 'function', function: { name: MERGE_TOOL, parameters: schema() } }],
      tool_choice: { type: 'function', function: { name: MERGE_TOOL } },
    });
    assert.equal(called.choices[0]!.finish_reason, 'tool_calls');
    assert.deepEqual(JSON.parse(argumentsOf(called)), expected);
    const structured = await openai.chat.completions.create({
      model: 'gpt-4o-mini',
      max_completion_tokens: 400,
      messages,
      response_format: { type: 'json_schema', json_schema: { name: 'answers', schema: schema(), strict: true } },
    });
    assert.deepEqual(JSON.parse(structured.choices[0]!.message.content!), expected);
  });

  test('breaking the structure: drop leaves an item out, garble writes invalid JSON', async () => {
    sim.setOptions({ mergeAnswers: 'drop' });
    const dropped = (await anthropicMerged()).content.find((b) => b.type === 'tool_use')!.input as { answers: unknown[] };
    assert.equal(dropped.answers.length, PROMPTS.length - 1);
    sim.setOptions({ mergeAnswers: 'garble' });
    const garbled = await openai.chat.completions.create({
      model: 'gpt-4o-mini',
      max_completion_tokens: 400,
      messages: [{ role: 'user', content: mergedPrompt() }],
      tools: [{ type: 'function', function: { name: MERGE_TOOL, parameters: schema() } }],
      tool_choice: { type: 'function', function: { name: MERGE_TOOL } },
    });
    assert.throws(() => JSON.parse(argumentsOf(garbled)));
    sim.setOptions({ mergeAnswers: 'follow' });
  });

  test('an item that would be cut off alone cuts the merged call short (stop max_tokens)', async () => {
    const message = await anthropic.messages.create({
      model: 'claude-haiku-4-5',
      max_tokens: 400,
      system: SYSTEM,
      messages: [{ role: 'user', content: mergedPrompt().replace('at most 80 tokens', 'at most 3 tokens') }],
      tools: [{ name: MERGE_TOOL, input_schema: schema() as Anthropic.Messages.Tool.InputSchema }],
      tool_choice: { type: 'tool', name: MERGE_TOOL },
    });
    assert.equal(message.stop_reason, 'max_tokens');
  });
});
