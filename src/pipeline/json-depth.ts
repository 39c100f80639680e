/**
 * How deep a request body may nest. Much of what handles a parsed body (JSON.stringify, the cache
 * key, translation, schema checks) recurses and overflows the stack on ten thousand nested arrays,
 * and JSON.parse itself spends seconds and a gigabyte on a 32 MB body of them. Real requests (JSON
 * schemas of tools, tool inputs) nest a few dozen levels at most.
 */
import { GatewayError } from './errors.js';

export const MAX_JSON_DEPTH = 256;

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_ARRAY = 0x5b;
const OPEN_OBJECT = 0x7b;
const CLOSE_ARRAY = 0x5d;
const CLOSE_OBJECT = 0x7d;

/**
 * Watches a JSON body's bytes as they arrive and refuses it the moment it nests deeper than the
 * limit, before anything parses it. Brackets inside strings do not count; a body split anywhere
 * (inside a string, after a backslash) is followed across chunks. Invalid JSON is not its concern.
 */
export class JsonDepthGauge {
  private depth = 0;
  private inString = false;
  private escaped = false;

  constructor(private readonly limit = MAX_JSON_DEPTH) {}

  write(chunk: Uint8Array): void {
    for (const byte of chunk) {
      if (this.inString) {
        if (this.escaped) this.escaped = false;
        else if (byte === BACKSLASH) this.escaped = true;
        else if (byte === QUOTE) this.inString = false;
      } else if (byte === QUOTE) {
        this.inString = true;
      } else if (byte === OPEN_ARRAY || byte === OPEN_OBJECT) {
        if (++this.depth > this.limit) {
          throw new GatewayError('invalid_request', `The request body is nested more than ${this.limit} levels deep; objects and arrays may nest at most ${this.limit} levels.`);
        }
      } else if (byte === CLOSE_ARRAY || byte === CLOSE_OBJECT) {
        this.depth--;
      }
    }
  }
}
