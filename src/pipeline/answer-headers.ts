/**
 * The `x-spillway-*` headers of an answer echo values spillway does not control: the client's
 * model name, field names dropped in translation, key and provider ids from config. Node refuses
 * to write a header holding a character outside visible Latin-1 (ERR_INVALID_CHAR), and clients
 * refuse headers of megabytes, so every value is made header-safe as it is set.
 */

/** Longer values are cut: the header is a hint for people and dashboards, never the only record. */
export const MAX_HEADER_VALUE = 256;

const PRINTABLE_ASCII = /^[\x20-\x7e]$/;

/**
 * Printable ASCII stays as it is; every other character (controls, CR, LF, NUL, DEL, non-Latin-1)
 * becomes its UTF-8 bytes percent-encoded, so `模型` reads back with decodeURIComponent. The result
 * is cut at a character boundary to at most MAX_HEADER_VALUE characters.
 */
export function headerSafe(value: string): string {
  let out = '';
  for (const char of value) {
    // Buffer.from turns a lone surrogate into U+FFFD rather than throwing as encodeURIComponent does.
    const piece = PRINTABLE_ASCII.test(char) ? char : [...Buffer.from(char, 'utf8')].map((byte) => `%${byte.toString(16).toUpperCase().padStart(2, '0')}`).join('');
    if (out.length + piece.length > MAX_HEADER_VALUE) break;
    out += piece;
  }
  return out;
}

/**
 * A header record whose values are made header-safe on every assignment (Object.assign
 * included), so no code that sets one and no writer of an answer has to remember to.
 */
export function answerHeaders(): Record<string, string> {
  return new Proxy<Record<string, string>>(
    {},
    {
      set(target, name, value) {
        if (typeof name !== 'string') return false;
        target[name] = headerSafe(String(value));
        return true;
      },
    },
  );
}
