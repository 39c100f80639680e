/** A whole pivot answer as an Anthropic Message; `model` is always the one the client asked for. */
import type { AnthropicContentBlock, AnthropicMessage, AnthropicToolUseBlock } from '../../protocol/anthropic.js';
import type { OpenAIChatCompletion } from '../../protocol/openai.js';
import { DroppedFeatures } from '../../protocol/dropped.js';
import { toAnthropicMessageId } from '../../protocol/ids.js';
import { parseArguments } from '../../protocol/tool-arguments.js';
import { finishToAnthropicStop } from '../../protocol/stop-reason.js';
import { openAIUsageToAnthropic } from '../../protocol/usage-shapes.js';

export interface ToAnthropicResponseOptions {
  /** The model name the client requested. */
  model: string;
}

/**
 * OpenAI ChatCompletion → Anthropic Message. Tool arguments that are not a JSON object become
 * `input: {}` and are named in `dropped`: the client's tool then fails its own input validation
 * and the model gets to retry, which beats failing the whole response.
 */
export function pivotToAnthropicAnswer(
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

