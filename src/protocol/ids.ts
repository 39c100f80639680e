/**
 * Identifiers across surfaces. Message ids keep their unique part and swap the prefix
 * (`chatcmpl-abc` ⇄ `msg_abc`) so a log line can be matched to the upstream id.
 * Tool call ids pass through unchanged, so a tool result sent back later still matches.
 */

export function toAnthropicMessageId(openAIId: string | undefined): string {
  if (!openAIId) return `msg_${randomPart()}`;
  if (openAIId.startsWith('msg_')) return openAIId;
  return `msg_${openAIId.replace(/^chatcmpl-/, '')}`;
}

export function toOpenAICompletionId(anthropicId: string | undefined): string {
  if (!anthropicId) return `chatcmpl-${randomPart()}`;
  if (anthropicId.startsWith('chatcmpl-')) return anthropicId;
  return `chatcmpl-${anthropicId.replace(/^msg_/, '')}`;
}

/** Anthropic accepts tool ids matching ^[a-zA-Z0-9_-]+$; other providers' ids may not. */
export function toAnthropicToolId(id: string): string {
  const clean = id.replace(/[^a-zA-Z0-9_-]/g, '_');
  return clean.length > 0 ? clean : 'toolu_empty';
}

/** A stable id for a tool call that arrived without one (Ollama): same inputs, same id. */
export function inventToolCallId(seed: string, index: number): string {
  return `call_${fnv1a(`${seed}#${index}`)}${index}`;
}

/** An id derived from a seed (e.g. Ollama's created_at), for responses that carry none. */
export function stableId(prefix: string, seed: string): string {
  return `${prefix}${fnv1a(seed)}${fnv1a(`${seed}!`)}`;
}

function fnv1a(text: string): string {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash.toString(16).padStart(8, '0');
}

function randomPart(): string {
  return crypto.randomUUID().replace(/-/g, '').slice(0, 24);
}
