/**
 * The run-time switches of traffic steering: which flags are on and each canary's share, as set
 * by the admin API or CLI (or an automatic rollback). The request path reads them synchronously;
 * the shared implementation (store/redis-switches.ts) keeps a copy it refreshes from Redis.
 */

/** What has been set at run time; whatever is absent follows config. */
export interface SwitchState {
  flags: Record<string, boolean>;
  canary: Record<string, number>;
}

export interface Switches {
  /** The state as this replica knows it now. */
  current(): SwitchState;
  setFlag(name: string, on: boolean): Promise<void>;
  setCanaryShare(route: string, share: number): Promise<void>;
  /** Told of every change this replica sees, its own and other replicas' alike. */
  onChange(listener: (state: SwitchState, previous: SwitchState) => void): void;
  close(): Promise<void>;
}

export function emptySwitchState(): SwitchState {
  return { flags: {}, canary: {} };
}

/** The switches of one process (no shared store). */
export class MemorySwitches implements Switches {
  private state = emptySwitchState();
  private readonly listeners: Array<(state: SwitchState, previous: SwitchState) => void> = [];

  current(): SwitchState {
    return this.state;
  }

  async setFlag(name: string, on: boolean): Promise<void> {
    this.replace({ ...this.state, flags: { ...this.state.flags, [name]: on } });
  }

  async setCanaryShare(route: string, share: number): Promise<void> {
    this.replace({ ...this.state, canary: { ...this.state.canary, [route]: share } });
  }

  onChange(listener: (state: SwitchState, previous: SwitchState) => void): void {
    this.listeners.push(listener);
  }

  async close(): Promise<void> {}

  protected replace(next: SwitchState): void {
    const previous = this.state;
    this.state = next;
    for (const listener of this.listeners) listener(next, previous);
  }
}
