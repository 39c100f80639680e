/**
 * Rules: route by request features. Data in config, evaluated in order, the first match wins; a
 * rule matches when every condition it states holds.
 */
import type { RuleConfig, RuleWhen } from '../config/schema.js';
import { isClaudeCodeBackground, type RequestFeatures } from './features.js';

export function ruleMatches(when: RuleWhen, features: RequestFeatures): boolean {
  if (when.min_input_tokens !== undefined && features.inputTokens < when.min_input_tokens) return false;
  if (when.max_input_tokens !== undefined && features.inputTokens > when.max_input_tokens) return false;
  if (when.has_tools !== undefined && features.hasTools !== when.has_tools) return false;
  if (when.has_thinking !== undefined && features.hasThinking !== when.has_thinking) return false;
  if (when.claude_code_background !== undefined && isClaudeCodeBackground(features) !== when.claude_code_background) return false;
  for (const [name, value] of Object.entries(when.header ?? {})) {
    if (features.headers[name.toLowerCase()] !== value) return false;
  }
  return true;
}

/** The first rule that matches, with its position (for the trace), or undefined. */
export function firstMatchingRule(rules: RuleConfig[], features: RequestFeatures): { rule: RuleConfig; index: number } | undefined {
  const index = rules.findIndex((rule) => ruleMatches(rule.when, features));
  return index < 0 ? undefined : { rule: rules[index]!, index };
}
