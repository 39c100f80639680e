/**
 * RetryBudget: retries may be at most `ratio` of the requests seen over a sliding window, plus a
 * small floor so a lone request may still retry. During an outage every request fails; without a
 * budget each would be retried and multiply the load on a provider that is already down.
 */

/** Slots per window: the window slides in steps of windowMs/SLOTS without storing every timestamp. */
const SLOTS = 60;

class SlidingCount {
  private readonly counts = new Float64Array(SLOTS);
  private readonly epochs = new Float64Array(SLOTS).fill(-1);
  private readonly slotMs: number;

  constructor(windowMs: number) {
    this.slotMs = windowMs / SLOTS;
  }

  add(now: number): void {
    const epoch = Math.floor(now / this.slotMs);
    const i = epoch % SLOTS;
    if (this.epochs[i] !== epoch) {
      this.epochs[i] = epoch;
      this.counts[i] = 0;
    }
    this.counts[i]!++;
  }

  total(now: number): number {
    const current = Math.floor(now / this.slotMs);
    let sum = 0;
    for (let i = 0; i < SLOTS; i++) {
      const epoch = this.epochs[i]!;
      if (epoch > current - SLOTS && epoch <= current) sum += this.counts[i]!;
    }
    return sum;
  }
}

export class RetryBudget {
  private readonly ratio: number;
  private readonly floor: number;
  private readonly requests: SlidingCount;
  private readonly retries: SlidingCount;

  constructor(ratio: number, windowMs = 60_000, floor = 3) {
    this.ratio = ratio;
    this.floor = floor;
    this.requests = new SlidingCount(windowMs);
    this.retries = new SlidingCount(windowMs);
  }

  /** Call once per client request (not per attempt). */
  recordRequest(now: number): void {
    this.requests.add(now);
  }

  /** Takes one retry from the budget if there is one left. */
  tryRetry(now: number): boolean {
    if (this.retries.total(now) + 1 > this.floor + this.ratio * this.requests.total(now)) return false;
    this.retries.add(now);
    return true;
  }
}
