/** Every client surface's codec, by name: adding a surface is one folder and one line here. */
import type { ChatSurface } from '../protocol/surface.js';
import { anthropicSurface } from './anthropic/codec.js';
import type { SurfaceCodec } from './codec.js';
import { geminiSurface } from './gemini/codec.js';
import { openAIChatSurface } from './openai-chat/codec.js';

const SURFACES: Record<ChatSurface, SurfaceCodec> = {
  anthropic: anthropicSurface,
  openai: openAIChatSurface,
  gemini: geminiSurface,
};

export function surfaceCodec(surface: ChatSurface): SurfaceCodec {
  return SURFACES[surface];
}
