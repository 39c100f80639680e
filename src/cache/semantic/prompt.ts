/**
 * What the semantic cache compares: the user's prompt text, and a partition holding everything
 * else that determines the answer (client scope, surface, routed target, system prompt, tools, sampling
 * parameters, earlier turns). Two prompts are only compared within one partition.
 */
import { canonicalJson, keyMaterial, sha256, type KeyInput } from '../key.js';

export interface SemanticQuery {
  partition: string;
  prompt: string;
}

export interface SemanticScope {
  /** Compare the last user turn of conversations too (earlier turns must then match exactly). */
  multiTurn: boolean;
}

/** undefined when the request is not a candidate: several turns, images, tool results, no text. */
export function semanticQuery(input: KeyInput, scope: SemanticScope): SemanticQuery | undefined {
  const messages = input.body['messages'];
  if (!Array.isArray(messages) || messages.length === 0) return undefined;
  const last: unknown = messages[messages.length - 1];
  if (!isObject(last) || last['role'] !== 'user') return undefined;
  const earlier = messages.slice(0, -1);
  const conversation = earlier.filter((message) => !(isObject(message) && (message['role'] === 'system' || message['role'] === 'developer')));
  if (conversation.length > 0 && !scope.multiTurn) return undefined;
  const prompt = textOf(last['content']);
  if (prompt === undefined || prompt.trim() === '') return undefined;
  const partition = sha256(canonicalJson(['semantic', ...keyMaterial({ ...input, body: { ...input.body, messages: earlier } })]));
  return { partition, prompt };
}

/** Plain text of a message's content; undefined if it holds anything but text. */
function textOf(content: unknown): string | undefined {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return undefined;
  const parts: string[] = [];
  for (const block of content) {
    if (!isObject(block) || block['type'] !== 'text' || typeof block['text'] !== 'string') return undefined;
    parts.push(block['text']);
  }
  return parts.join('\n');
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
