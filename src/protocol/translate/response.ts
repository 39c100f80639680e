/**
 * Whole (non-streaming) responses between surfaces. The `model` in the result is always the one
 * the client asked for, passed in by the caller, not the upstream's.
 */
import type { AnthropicContentBlock, AnthropicMessage, AnthropicToolUseBlock } from '../anthropic.js';
import type { OpenAIChatCompletion } from '../openai.js';
import { DroppedFeatures } from './dropped.js';
import { toAnthropicMessageId, toOpenAICompletionId } from './ids.js';
import { parseArguments } from './request-to-anthropic.js';
import { assistantBlocksToOpenAI } from './request-to-openai.js';
import { anthropicStopToFinish, finishToAnthropicStop } from './stop-reason.js';
import { anthropicUsageToOpenAI, openAIUsageToAnthropic } from './usage.js';

export interface ToAnthropicResponseOptions {
  /** The model name the client requested. */
  model: string;
}

export interface ToOpenAIResponseOptions {
  /** The model name the client requested. */
  model: string;
  /** Current time in ms, for `created`. */
  now: number;
}

/**
 * OpenAI ChatCompletion → Anthropic Message. Tool arguments that are not a JSON object become
 * `input: {}` and are named in `dropped`: the client's tool then fails its own input validation
 * and the model gets to retry, which beats failing the whole response.
 */
export function openAIToAnthropicResponse(
  completion: OpenAIChatCompletion,
  options: ToAnthropicResponseOptions,
): { response: AnthropicMessage; dropped: string[] } {
  const dropped = new DroppedFeatures();
  const choice = completion.choices[0];
  if (completion.choices.length > 1) dropped.add('choices after the first');
  const content: AnthropicContentBlock[] = [];
  const text = choice?.message.content ?? choice?.message.refusal ?? '';
  if (text.length > 0) content.push({ type: 'text', text });
  for (const call of choice?.message.tool_calls ?? []) {
    const block: AnthropicToolUseBlock = { type: 'tool_use', id: call.id, name: call.function.name, input: parseArguments(call.function.arguments, dropped) };
    content.push(block);
  }
  let stopReason = finishToAnthropicStop(choice?.finish_reason);
  // Some compatible servers say "stop" although they called tools.
  if (stopReason === 'end_turn' && (choice?.message.tool_calls?.length ?? 0) > 0) stopReason = 'tool_use';
  return {
    response: {
      id: toAnthropicMessageId(completion.id),
      type: 'message',
      role: 'assistant',
      model: options.model,
      content,
      stop_reason: stopReason,
      stop_sequence: null,
      usage: openAIUsageToAnthropic(completion.usage),
    },
    dropped: dropped.list(),
  };
}

/** Anthropic Message → OpenAI ChatCompletion. Thinking blocks are dropped. */
export function anthropicToOpenAIResponse(
  message: AnthropicMessage,
  options: ToOpenAIResponseOptions,
): { response: OpenAIChatCompletion; dropped: string[] } {
  const dropped = new DroppedFeatures();
  const { texts, toolCalls } = assistantBlocksToOpenAI(message.content, dropped);
  const messageOut: OpenAIChatCompletion['choices'][number]['message'] = {
    role: 'assistant',
    content: texts.length > 0 ? texts.join('') : null,
    refusal: null,
  };
  if (toolCalls.length > 0) messageOut.tool_calls = toolCalls;
  return {
    response: {
      id: toOpenAICompletionId(message.id),
      object: 'chat.completion',
      created: Math.floor(options.now / 1000),
      model: options.model,
      choices: [{ index: 0, message: messageOut, logprobs: null, finish_reason: anthropicStopToFinish(message.stop_reason) }],
      usage: anthropicUsageToOpenAI(message.usage),
    },
    dropped: dropped.list(),
  };
}
