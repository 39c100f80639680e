/** Every client surface's codec, by name: adding a surface is one folder and one line here. */
import type { Surface } from '../protocol/surface.js';
import { anthropicSurface } from './anthropic/codec.js';
import type { SurfaceCodec } from './codec.js';
import { geminiSurface } from './gemini/codec.js';
import { openAIChatSurface } from './openai-chat/codec.js';

const SURFACES: Record<Surface, SurfaceCodec> = {
  anthropic: anthropicSurface,
  openai: openAIChatSurface,
  gemini: geminiSurface,
};

export function surfaceCodec(surface: Surface): SurfaceCodec {
  return SURFACES[surface];
}
