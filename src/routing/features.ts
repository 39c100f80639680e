/**
 * What rules look at in a request: plain data read once from the body and headers, so the rules
 * themselves stay pure.
 */
import type { Surface } from '../protocol/surface.js';

export interface RequestFeatures {
  surface: Surface;
  model: string;
  /** Estimated prompt tokens (spillway's estimate, before any provider counts them). */
  inputTokens: number;
  maxTokens: number | undefined;
  hasTools: boolean;
  hasThinking: boolean;
  /** Request headers, lower-case names. */
  headers: Record<string, string | undefined>;
}

/**
 * Claude Code's background requests (titles, topic detection, summaries of a turn) go to its small
 * fast model without tools and with a small output cap. We call a request "background" when it
 * has no tools and either asks for a haiku-class model or caps output at 512 tokens or less: the
 * interactive agent turns always carry tools, so they never match.
 */
export const BACKGROUND_MAX_TOKENS = 512;

export function isClaudeCodeBackground(features: RequestFeatures): boolean {
  if (features.surface !== 'anthropic' || features.hasTools) return false;
  return /haiku/i.test(features.model) || (features.maxTokens !== undefined && features.maxTokens <= BACKGROUND_MAX_TOKENS);
}

export function featuresOf(
  surface: Surface,
  body: Record<string, unknown>,
  headers: Record<string, string | string[] | undefined>,
  estimate: { inputTokens: number; maxTokens: number | undefined },
): RequestFeatures {
  const tools = body.tools;
  const thinking = body.thinking as { type?: unknown } | undefined;
  const flat: Record<string, string | undefined> = {};
  for (const [name, value] of Object.entries(headers)) flat[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : value;
  return {
    surface,
    model: typeof body.model === 'string' ? body.model : '',
    inputTokens: estimate.inputTokens,
    maxTokens: estimate.maxTokens,
    hasTools: Array.isArray(tools) && tools.length > 0,
    // Anthropic's `thinking` block, or OpenAI's reasoning_effort (anything but "none").
    hasThinking:
      (thinking !== undefined && thinking !== null && thinking.type !== 'disabled') ||
      (typeof body.reasoning_effort === 'string' && body.reasoning_effort !== 'none'),
    headers: flat,
  };
}
