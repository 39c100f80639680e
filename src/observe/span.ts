/** "7d", "24h", "30m" → the epoch ms that long ago; "all" → everything (0). For reports over stored data. */
export function parseSince(value: string, now: number): number {
  if (value === 'all') return 0;
  const match = /^(\d+(?:\.\d+)?)(d|h|m)$/.exec(value.trim());
  if (!match) throw new Error(`--since: expected a span like 7d, 24h or 30m, or "all"; got "${value}"`);
  const unit = match[2] === 'd' ? 86_400_000 : match[2] === 'h' ? 3_600_000 : 60_000;
  return now - Number(match[1]) * unit;
}
