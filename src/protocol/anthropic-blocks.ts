/** Anthropic assistant content blocks in the pivot's terms: shared by the Anthropic surface (a request's history) and provider (an answer). */
import type { AnthropicContentBlock, AnthropicContentBlockParam, AnthropicToolUseBlock } from './anthropic.js';
import type { OpenAIToolCall } from './openai.js';
import { anthropicReader as read, type Path } from './invalid.js';
import type { DroppedFeatures } from './dropped.js';

/**
 * An Anthropic assistant turn's blocks (a request's history or a response) as OpenAI has them:
 * texts and tool calls. Thinking and other blocks have no place there and are named in `dropped`.
 * With a `path` (a request's history), what is read is checked first.
 */
export function assistantBlocksToOpenAI(
  blocks: ReadonlyArray<AnthropicContentBlockParam | AnthropicContentBlock>,
  dropped: DroppedFeatures,
  path?: Path,
): { texts: string[]; toolCalls: OpenAIToolCall[] } {
  const texts: string[] = [];
  const toolCalls: OpenAIToolCall[] = [];
  blocks.forEach((block, i) => {
    if (path) checkAssistantBlock(block, [...path, i]);
    if (block.type === 'text') texts.push((block as { text: string }).text);
    else if (block.type === 'tool_use') {
      const use = block as AnthropicToolUseBlock;
      toolCalls.push({ id: use.id, type: 'function', function: { name: use.name, arguments: JSON.stringify(use.input ?? {}) } });
    } else if (block.type === 'thinking' || block.type === 'redacted_thinking') dropped.add('thinking');
    else dropped.add(`content block ${block.type}`);
  });
  return { texts, toolCalls };
}

function checkAssistantBlock(block: AnthropicContentBlockParam | AnthropicContentBlock, path: Path): void {
  const fields = block as unknown as Record<string, unknown>;
  if (block.type === 'text') read.need(fields.text, [...path, 'text'], 'string');
  else if (block.type === 'tool_use') {
    read.need(fields.id, [...path, 'id'], 'string');
    read.need(fields.name, [...path, 'name'], 'string');
    read.need(fields.input, [...path, 'input'], 'object');
  }
}
