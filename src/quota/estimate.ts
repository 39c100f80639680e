/**
 * Input-token estimates without a tokenizer: about 4 characters of text per token over the system
 * prompt, messages and tool definitions, a fixed amount per image or document. Each model's
 * estimates are calibrated from the usage its answers report; until then they err high, because an
 * estimate too low lets through a request the provider will refuse.
 */

/** Anthropic: an image costs about width*height/750 tokens and is scaled to ≤ ~1.15 megapixels, so ≤ ~1600. */
export const IMAGE_TOKENS = 1600;
/** A PDF or other document: pages are unknown here, so a generous flat amount. */
export const DOCUMENT_TOKENS = 3000;
const CHARS_PER_TOKEN = 4;
/** Role, separators and framing per message. */
const MESSAGE_OVERHEAD_TOKENS = 4;
/** Before any calibration: text in code or other languages runs at fewer characters per token. */
const UNCALIBRATED_FACTOR = 1.3;
/** After calibration, still aim a little above the real count. */
const SAFETY_MARGIN = 1.05;
const EWMA_ALPHA = 0.2;
const MIN_FACTOR = 0.2;
const MAX_FACTOR = 10;

/** Top-level request fields that hold prompt text (Anthropic, OpenAI chat, completions, embeddings, Responses). */
const PROMPT_FIELDS = ['system', 'messages', 'tools', 'functions', 'tool_choice', 'prompt', 'input', 'instructions', 'contents', 'systemInstruction'];

interface Counts {
  chars: number;
  fixed: number;
}

function isMedia(block: Record<string, unknown>): 'image' | 'document' | undefined {
  const type = block['type'];
  if (type === 'image' || type === 'image_url' || type === 'input_image') return 'image';
  if (type === 'document' || type === 'file' || type === 'input_file' || type === 'input_audio') return 'document';
  if ('inlineData' in block || 'inline_data' in block) return 'image'; // Gemini parts
  return undefined;
}

function walk(value: unknown, counts: Counts): void {
  if (typeof value === 'string') {
    counts.chars += value.length;
  } else if (typeof value === 'number' || typeof value === 'boolean') {
    counts.chars += 4;
  } else if (Array.isArray(value)) {
    for (const item of value) walk(item, counts);
  } else if (value !== null && typeof value === 'object') {
    const block = value as Record<string, unknown>;
    const media = isMedia(block);
    if (media) {
      counts.fixed += media === 'image' ? IMAGE_TOKENS : DOCUMENT_TOKENS;
      return; // base64 data is not text
    }
    if ('role' in block) counts.fixed += MESSAGE_OVERHEAD_TOKENS;
    for (const key in block) {
      counts.chars += key.length; // JSON keys of tool schemas count too
      walk(block[key], counts);
    }
  }
}

/** The uncalibrated count: characters/4 plus the fixed amounts. */
export function rawInputTokens(body: unknown): number {
  const counts: Counts = { chars: 0, fixed: 0 };
  if (typeof body === 'string') {
    counts.chars = body.length;
  } else if (body !== null && typeof body === 'object') {
    const fields = body as Record<string, unknown>;
    for (const field of PROMPT_FIELDS) if (fields[field] !== undefined) walk(fields[field], counts);
  }
  return Math.ceil(counts.chars / CHARS_PER_TOKEN) + counts.fixed;
}

/**
 * Output reserved before any answer of a model was seen. Providers count the tokens actually
 * generated (newest Anthropic rules), so reserving all of a 32k `max_tokens` would idle the key.
 */
const UNCALIBRATED_OUTPUT = 4096;
/** Reserve at least this much output once calibrated, and this multiple of the typical answer. */
const MIN_OUTPUT_RESERVE = 256;
const OUTPUT_HEADROOM = 2;

/** Calibrated per model; one instance per gateway. */
export class TokenEstimator {
  private readonly factors = new Map<string, number>();
  private readonly typicalOutputs = new Map<string, number>();

  /** The output tokens to reserve: the typical answer with headroom, never more than `maxTokens`. */
  estimateOutput(model: string, maxTokens: number): number {
    const typical = this.typicalOutputs.get(model);
    const guess = typical === undefined ? UNCALIBRATED_OUTPUT : Math.max(MIN_OUTPUT_RESERVE, Math.ceil(typical * OUTPUT_HEADROOM));
    return Math.min(maxTokens, guess);
  }

  calibrateOutput(model: string, actual: number): void {
    if (!(actual >= 0)) return;
    const typical = this.typicalOutputs.get(model);
    this.typicalOutputs.set(model, typical === undefined ? actual : typical + EWMA_ALPHA * (actual - typical));
  }

  estimateInput(model: string, body: unknown): number {
    return this.inputFromRaw(model, rawInputTokens(body));
  }

  /** estimateInput for a body whose rawInputTokens is already known (one request, several models). */
  inputFromRaw(model: string, raw: number): number {
    return Math.ceil(raw * this.factor(model));
  }

  /** The factor applied to raw counts for this model (above 1 means the model's tokens are smaller). */
  factor(model: string): number {
    return this.factors.get(model) ?? UNCALIBRATED_FACTOR;
  }

  /**
   * `estimated` is what estimateInput returned, `actual` the input tokens the provider reported.
   * Multiplicative feedback: the factor moves toward the one that would have hit actual × margin.
   */
  calibrate(model: string, estimated: number, actual: number): void {
    if (!(estimated > 0) || !(actual >= 0)) return;
    const current = this.factor(model);
    const target = Math.min(MAX_FACTOR, Math.max(MIN_FACTOR, (current * actual * SAFETY_MARGIN) / estimated));
    const seen = this.factors.has(model);
    // The first report replaces the prior outright: the prior is only a guess.
    this.factors.set(model, seen ? current + EWMA_ALPHA * (target - current) : target);
  }
}
