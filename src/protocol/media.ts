/** Images and files as `data:` URLs (OpenAI) versus media type + base64 (Anthropic, Ollama). */

export interface InlineData {
  mediaType: string;
  base64: string;
}

export function parseDataUrl(url: string): InlineData | undefined {
  const match = /^data:([^;,]+)(?:;[^,]*)?;base64,(.*)$/s.exec(url);
  if (!match) return undefined;
  return { mediaType: match[1]!, base64: match[2]! };
}

export function toDataUrl(mediaType: string, base64: string): string {
  return `data:${mediaType};base64,${base64}`;
}
