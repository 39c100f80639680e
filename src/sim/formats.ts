/** Small wire formats shared by the surfaces. */

/** Go `time.Duration` style as in OpenAI's `x-ratelimit-reset-*`: "12ms", "1s", "1.5s", "6m0s", "1h2m3s". */
export function goDuration(ms: number): string {
  const whole = Math.max(0, Math.round(ms));
  if (whole === 0) return '0s';
  if (whole < 1000) return `${whole}ms`;
  const hours = Math.floor(whole / 3_600_000);
  const minutes = Math.floor((whole % 3_600_000) / 60_000);
  const millis = whole % 60_000;
  const seconds = millis % 1000 === 0 ? String(millis / 1000) : (millis / 1000).toFixed(3).replace(/0+$/, '');
  if (hours > 0) return `${hours}h${minutes}m${seconds}s`;
  if (minutes > 0) return `${minutes}m${seconds}s`;
  return `${seconds}s`;
}

/** RFC 3339 UTC with second precision, rounded up ("2025-08-21T12:40:59Z"), like Anthropic's reset headers. */
export function rfc3339Seconds(ms: number): string {
  return new Date(Math.ceil(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z');
}

/** 40000 → "40,000". */
export function withThousands(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

/** `retry-after`: whole seconds, rounded up, at least 1. */
export function retryAfterSeconds(waitMs: number): number {
  return Math.max(1, Math.ceil(waitMs / 1000));
}
