/** A whole Anthropic Message as a pivot answer; `model` is always the one the client asked for. */
import type { AnthropicMessage } from '../../protocol/anthropic.js';
import type { OpenAIChatCompletion } from '../../protocol/openai.js';
import { DroppedFeatures } from '../../protocol/dropped.js';
import { toOpenAICompletionId } from '../../protocol/ids.js';
import { assistantBlocksToOpenAI } from '../../protocol/anthropic-blocks.js';
import { anthropicStopToFinish } from '../../protocol/stop-reason.js';
import { anthropicUsageToOpenAI } from '../../protocol/usage-shapes.js';

export interface ToOpenAIResponseOptions {
  /** The model name the client requested. */
  model: string;
  /** Current time in ms, for `created`. */
  now: number;
}

/** Anthropic Message → OpenAI ChatCompletion. Thinking blocks are dropped. */
export function anthropicToPivotAnswer(
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
