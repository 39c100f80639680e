/** Why a generation stopped, in each surface's vocabulary. */
import type { AnthropicStopReason } from './anthropic.js';
import type { OpenAIFinishReason } from './openai.js';

export function anthropicStopToFinish(reason: AnthropicStopReason | string | null | undefined): OpenAIFinishReason {
  switch (reason) {
    case 'max_tokens':
    case 'model_context_window_exceeded': // the output was cut by a size limit
      return 'length';
    case 'tool_use':
      return 'tool_calls';
    case 'refusal':
      return 'content_filter';
    default: // end_turn, stop_sequence, pause_turn and anything new
      return 'stop';
  }
}

export function finishToAnthropicStop(reason: OpenAIFinishReason | string | null | undefined): AnthropicStopReason {
  switch (reason) {
    case 'length':
      return 'max_tokens';
    case 'tool_calls':
    case 'function_call':
      return 'tool_use';
    case 'content_filter':
      return 'refusal';
    default: // stop: OpenAI does not say whether a stop string matched, so end_turn
      return 'end_turn';
  }
}
