/**
 * How much an Anthropic request asks the model to think, as OpenAI's `reasoning_effort`.
 *
 * The rule: only OpenAI's reasoning models (the o-series and gpt-5 families) take
 * `reasoning_effort`; other OpenAI-compatible models answer 400 to it, so for them the request's
 * thinking and effort are dropped (and named). For a reasoning model, `output_config.effort`
 * decides (low, medium, high; Anthropic's `max` is OpenAI's `high`); without it, a thinking budget
 * does (under 4k tokens low, under 16k medium, else high); adaptive thinking without an effort
 * leaves the model its default; disabled thinking asks for `low`, the least effort every
 * reasoning model takes (`minimal` and `none` exist only on some).
 */

export type ReasoningEffort = 'low' | 'medium' | 'high';

export interface ThinkingAsked {
  /** `thinking.type`: enabled | adaptive | disabled, if any. */
  thinking?: string | undefined;
  /** `thinking.budget_tokens`, when enabled. */
  budget?: number | undefined;
  /** `output_config.effort`. */
  effort?: string | undefined;
}

/** OpenAI's reasoning families, by model name (a routed target may carry a provider prefix). */
export function takesReasoningEffort(model: string): boolean {
  const name = model.slice(model.lastIndexOf('/') + 1).toLowerCase();
  return /^(o\d+|gpt-5)([-.].*)?$/.test(name);
}

const EFFORTS: Record<string, ReasoningEffort> = { low: 'low', medium: 'medium', high: 'high', max: 'high' };

/** The `reasoning_effort` to send, or undefined when the target does not take it or nothing was asked. */
export function reasoningEffortFor(model: string, asked: ThinkingAsked): ReasoningEffort | undefined {
  if (!takesReasoningEffort(model)) return undefined;
  if (asked.effort !== undefined) return EFFORTS[asked.effort];
  if (asked.thinking === 'enabled' && asked.budget !== undefined) {
    return asked.budget < 4096 ? 'low' : asked.budget < 16384 ? 'medium' : 'high';
  }
  if (asked.thinking === 'disabled') return 'low';
  return undefined;
}
