/**
 * Counts over the recent past in fixed time slots (a ring), so "upstream 429s in the last minute" or
 * "requests per 5 s over 5 minutes" cost O(slots) memory however busy the gateway is. Time is always
 * passed in, so tests drive it with a fake clock.
 */

export class SlottedSeries<K extends string> {
  readonly slotMs: number;
  readonly slots: number;
  private readonly fields: readonly K[];
  /** Slot start (ms, a multiple of slotMs) → counts; at most `slots` entries. */
  private readonly ring: Array<{ start: number; counts: Record<K, number> } | undefined>;

  constructor(fields: readonly K[], slotMs: number, slots: number) {
    this.fields = fields;
    this.slotMs = slotMs;
    this.slots = slots;
    this.ring = new Array(slots).fill(undefined);
  }

  add(field: K, now: number, amount = 1): void {
    const start = Math.floor(now / this.slotMs) * this.slotMs;
    const index = Math.floor(start / this.slotMs) % this.slots;
    let slot = this.ring[index];
    if (!slot || slot.start !== start) {
      slot = { start, counts: this.zero() };
      this.ring[index] = slot;
    }
    slot.counts[field] += amount;
  }

  /** Totals over the slots that overlap the last `spanMs` (the current slot included). */
  sum(now: number, spanMs: number): Record<K, number> {
    const total = this.zero();
    const from = now - spanMs;
    for (const slot of this.ring) {
      if (!slot || slot.start + this.slotMs <= from || slot.start > now) continue;
      for (const field of this.fields) total[field] += slot.counts[field];
    }
    return total;
  }

  /** One point per slot for the whole ring, oldest first, empty slots as zeros. */
  points(now: number): Array<{ t: number } & Record<K, number>> {
    const current = Math.floor(now / this.slotMs) * this.slotMs;
    const out: Array<{ t: number } & Record<K, number>> = [];
    for (let i = this.slots - 1; i >= 0; i--) {
      const start = current - i * this.slotMs;
      const slot = this.ring[Math.floor(start / this.slotMs) % this.slots];
      out.push({ t: start, ...(slot && slot.start === start ? slot.counts : this.zero()) });
    }
    return out;
  }

  private zero(): Record<K, number> {
    return Object.fromEntries(this.fields.map((field) => [field, 0])) as Record<K, number>;
  }
}
