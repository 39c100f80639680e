import type { JsonObject } from './openai.js';
import type { DroppedFeatures } from './dropped.js';

/** Tool arguments as an object; anything that is not a JSON object becomes {} (and is listed). */
export function parseArguments(text: string | undefined, dropped?: DroppedFeatures): JsonObject {
  if (text === undefined || text.trim() === '') return {};
  try {
    const value: unknown = JSON.parse(text);
    if (value !== null && typeof value === 'object' && !Array.isArray(value)) return value as JsonObject;
  } catch {
    // fall through
  }
  dropped?.add('invalid tool call arguments (replaced by {})');
  return {};
}
