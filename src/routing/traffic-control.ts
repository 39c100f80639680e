/**
 * The operator's levers on traffic: flip a flag, set, promote or demote a canary, and roll one
 * back. Run-time state lives in Switches (shared across replicas with Redis); config gives the
 * names and the starting values. Every change is logged on each replica that sees it; the replica
 * where it was made also raises or settles an alert (webhooks, and the dashboard while it lasts).
 */
import type { Config } from '../config/schema.js';
import type { Condition } from '../observe/alerts.js';
import { demoted, promoted } from './canary.js';
import type { CanaryPoints } from './canary-points.js';
import type { SwitchState, Switches } from './switches.js';

/** Where alerts about flips and rollbacks go (observe/alerts.ts AlertMonitor): shown while raised, announced when asked. */
export interface Alarm {
  raise(condition: Condition, announce: boolean): void;
  settle(condition: Condition, announce: boolean): void;
}

export type CanaryChange = { share: number } | { promote: true } | { demote: true };

/** A name that is not in config: the admin API answers 404. */
export class UnknownSwitch extends Error {}

export interface FlagStatus {
  name: string;
  on: boolean;
  route: string;
  force: { provider: string; model?: string | undefined };
}

export interface CanaryStatus {
  route: string;
  share: number;
  steps: number[];
  by: string;
  target: { provider: string; model?: string | undefined };
}

const percent = (share: number) => `${Math.round(share * 1000) / 10}%`;

export class TrafficControl {
  /** Flags being flipped on this replica: the change it sees next is announced from here. */
  private readonly flipping = new Set<string>();
  /** Rollbacks this replica made, shown until an operator sets the canary again. */
  private readonly rollbacks = new Map<string, Condition>();

  constructor(
    private readonly switches: Switches,
    private readonly points: CanaryPoints,
    private readonly config: () => Config,
    private readonly alarm: Alarm,
    private readonly log: (message: string) => void,
  ) {
    switches.onChange((state, previous) => this.logChanges(state, previous));
  }

  flagOn(name: string): boolean {
    return this.switches.current().flags[name] ?? this.config().flags[name]?.on ?? false;
  }

  canaryShare(route: string): number {
    return this.switches.current().canary[route] ?? this.config().routes[route]?.canary?.share ?? 0;
  }

  /** A request's point on a canary route: its identity's, or a draw of its own (`by: request`). */
  pointFor(route: string, identity: string | undefined): Promise<number> {
    return identity === undefined ? Promise.resolve(Math.random()) : this.points.pointOf(route, identity);
  }

  async flip(name: string, on: boolean): Promise<FlagStatus> {
    const flag = this.config().flags[name];
    if (!flag) throw new UnknownSwitch(`no flag "${name}" in config (flags: ${Object.keys(this.config().flags).join(', ') || 'none'})`);
    this.flipping.add(name);
    try {
      await this.switches.setFlag(name, on);
    } finally {
      this.flipping.delete(name);
    }
    return this.flagStatus(name);
  }

  async changeCanary(route: string, change: CanaryChange): Promise<CanaryStatus> {
    const canary = this.config().routes[route]?.canary;
    if (!canary) throw new UnknownSwitch(`route "${route}" has no canary in config`);
    const now = this.canaryShare(route);
    const share = 'share' in change ? change.share : 'promote' in change ? promoted(canary.steps, now) : demoted(canary.steps, now);
    await this.switches.setCanaryShare(route, share);
    // An operator's decision ends the rollback's alert.
    const rollback = this.rollbacks.get(route);
    this.rollbacks.delete(route);
    if (rollback) this.alarm.settle(rollback, true);
    return this.canaryStatus(route);
  }

  /** The candidate misbehaves: its share goes to 0 and an alert says why, with the figures. */
  async rollBack(route: string, reason: { summary: string; value: number; threshold: number }): Promise<void> {
    await this.switches.setCanaryShare(route, 0);
    const condition: Condition = {
      id: `canary_rollback:${route}`,
      kind: 'canary_rollback',
      summary: `canary on route ${route} rolled back to 0%: ${reason.summary}`,
      value: reason.value,
      threshold: reason.threshold,
      labels: { route },
    };
    this.rollbacks.set(route, condition);
    this.alarm.raise(condition, true);
  }

  status(): { flags: FlagStatus[]; canaries: CanaryStatus[] } {
    const config = this.config();
    return {
      flags: Object.keys(config.flags).map((name) => this.flagStatus(name)),
      canaries: Object.entries(config.routes).flatMap(([route, r]) => (r.canary ? [this.canaryStatus(route)] : [])),
    };
  }

  close(): Promise<void> {
    return this.switches.close();
  }

  private flagCondition(name: string): Condition | undefined {
    const flag = this.config().flags[name];
    if (!flag) return undefined;
    const target = `${flag.force.provider}${flag.force.model ? `/${flag.force.model}` : ''}`;
    return {
      id: `flag:${name}`,
      kind: 'flag',
      summary: `flag ${name} is on: ${flag.route === '*' ? 'every route' : `route ${flag.route}`} goes to ${target} only`,
      value: 1,
      threshold: 1,
      labels: { flag: name },
    };
  }

  private flagStatus(name: string): FlagStatus {
    const flag = this.config().flags[name]!;
    return { name, on: this.flagOn(name), route: flag.route, force: flag.force };
  }

  private canaryStatus(route: string): CanaryStatus {
    const canary = this.config().routes[route]!.canary!;
    return { route, share: this.canaryShare(route), steps: canary.steps, by: canary.by, target: canary.target };
  }

  /** Every replica logs what it now obeys and shows a flag that is on; the one where it was flipped announces it. */
  private logChanges(state: SwitchState, previous: SwitchState): void {
    for (const [name, on] of Object.entries(state.flags)) {
      if (previous.flags[name] === on) continue;
      this.log(`spillway: flag ${name} is now ${on ? 'on' : 'off'}`);
      const condition = this.flagCondition(name);
      if (!condition) continue;
      if (on) this.alarm.raise(condition, this.flipping.has(name));
      else this.alarm.settle(condition, this.flipping.has(name));
    }
    for (const [route, share] of Object.entries(state.canary)) {
      if (previous.canary[route] !== share) this.log(`spillway: canary on route ${route} now takes ${percent(share)} of its traffic`);
    }
  }
}
