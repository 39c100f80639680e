/**
 * Rows kept a moment and written together in one call (one SQLite transaction), so the callback
 * that produced a row never waits on a synchronous write.
 */
export class WriteBuffer<T> {
  private pending: T[] = [];
  private timer: ReturnType<typeof setTimeout> | undefined;

  /** `write` gets each batch; a failure is logged, and the rows it held are given up. */
  constructor(
    private readonly write: (rows: T[]) => void,
    private readonly delayMs: number,
    private readonly failed: (rows: T[], error: unknown) => void,
  ) {}

  add(row: T): void {
    this.pending.push(row);
    if (!this.timer) {
      this.timer = setTimeout(() => this.flush(), this.delayMs);
      this.timer.unref();
    }
  }

  /** Writes what is pending now (before a read, and at close). */
  flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.pending.length === 0) return;
    const rows = this.pending;
    this.pending = [];
    try {
      this.write(rows);
    } catch (error) {
      this.failed(rows, error);
    }
  }
}
