/** OpenAI Chat Completions clients: the pivot is their own shape, so little is left to do. */
import type { PivotRequest } from '../../pivot/index.js';
import { formatSse } from '../../protocol/sse.js';
import type { SurfaceCodec } from '../codec.js';

/** The client gets the usage chunk only when it asked for it (`stream_options.include_usage`). */
function wantsUsage(body: Record<string, unknown>): boolean {
  return (body.stream_options as { include_usage?: unknown } | null | undefined)?.include_usage === true;
}

export const openAIChatSurface: SurfaceCodec = {
  surface: 'openai',
  toPivot: (body) => ({ request: body as unknown as PivotRequest, dropped: [] }),
  fromPivot: (answer, { requestedModel }) => ({ ...answer, model: requestedModel }),
  errorFromPivot: (status, body) => ({ status, body: JSON.stringify(body) }),
  streamFromPivot({ body }) {
    const usage = wantsUsage(body);
    return {
      // Providers always end with a usage chunk (empty choices); it is the only chunk without one.
      push: (event) => (!usage && event.data.includes('"choices":[]') ? '' : formatSse(event.data)),
      end: () => '',
    };
  },
};
