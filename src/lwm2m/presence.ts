/**
 * Presence of queue-mode devices (OMA LwM2M 1.1.1 Transport §6.5): any uplink opens or extends an awake
 * window (MAX_TRANSMIT_WAIT = 93 s by default, per device if configured); when it closes the device is
 * asleep until its next uplink. One timer for all devices, armed for the earliest window end; state per
 * device is three numbers. Events: 'awake' (endpoint), 'sleeping' (endpoint).
 */
import { EventEmitter } from 'node:events';
import type { Clock } from './clock.js';

export interface PresenceState {
  readonly awake: boolean;
  /** Clock ms of the last uplink. */
  readonly lastUplink: number;
  /** Clock ms the awake window closes (in the past when asleep). */
  readonly awakeUntil: number;
  /** Clock ms by which the next uplink is due: the registration lifetime after the last Register/Update. */
  readonly nextExpectedUplink: number | undefined;
}

/** What the scheduler and the API may ask about a device's reachability. */
export interface PresenceView {
  state(endpoint: string): PresenceState | undefined;
  isAwake(endpoint: string): boolean;
}

export const DEFAULT_AWAKE_TIME_MS = 93_000;
const TICK_RESOLUTION_MS = 100;

interface Entry {
  lastUplink: number;
  awakeUntil: number;
  nextExpectedUplink: number | undefined;
}

export class Presence extends EventEmitter implements PresenceView {
  readonly #clock: Clock;
  readonly #awakeTimeOf: (endpoint: string) => number;
  readonly #entries = new Map<string, Entry>();
  /** Endpoints currently awake, ordered lazily: checked at each tick. */
  readonly #awake = new Set<string>();
  #timer: NodeJS.Timeout | undefined;
  #timerAt = Infinity;
  #lastTick = -Infinity;

  constructor(clock: Clock, awakeTimeOf: (endpoint: string) => number = () => DEFAULT_AWAKE_TIME_MS) {
    super();
    this.#clock = clock;
    this.#awakeTimeOf = awakeTimeOf;
  }

  /** Records an uplink: the device is awake for its awake time from now. Emits 'awake' on a transition. */
  uplink(endpoint: string): void {
    const now = this.#clock.now();
    let entry = this.#entries.get(endpoint);
    if (entry === undefined) {
      entry = { lastUplink: now, awakeUntil: 0, nextExpectedUplink: undefined };
      this.#entries.set(endpoint, entry);
    }
    entry.lastUplink = now;
    entry.awakeUntil = now + this.#awakeTimeOf(endpoint);
    if (!this.#awake.has(endpoint)) {
      this.#awake.add(endpoint);
      this.#arm(entry.awakeUntil);
      this.emit('awake', endpoint);
    } else this.#arm(entry.awakeUntil);
  }

  /** Records when the next Update is due (Register/Update with lifetime in seconds). */
  expectUplink(endpoint: string, lifetimeS: number): void {
    const entry = this.#entries.get(endpoint);
    if (entry) entry.nextExpectedUplink = this.#clock.now() + lifetimeS * 1000;
  }

  /** The device did not answer: treat it as asleep now (Leshan: a timeout means sleeping). */
  sleep(endpoint: string): void {
    const entry = this.#entries.get(endpoint);
    if (entry === undefined || !this.#awake.has(endpoint)) return;
    entry.awakeUntil = this.#clock.now();
    this.#awake.delete(endpoint);
    this.emit('sleeping', endpoint);
  }

  /** Drops all state of a device (deregistered or expired); emits nothing. */
  forget(endpoint: string): void {
    this.#entries.delete(endpoint);
    this.#awake.delete(endpoint);
  }

  state(endpoint: string): PresenceState | undefined {
    const e = this.#entries.get(endpoint);
    if (e === undefined) return undefined;
    return { awake: this.#awake.has(endpoint), lastUplink: e.lastUplink, awakeUntil: e.awakeUntil, nextExpectedUplink: e.nextExpectedUplink };
  }

  isAwake(endpoint: string): boolean {
    return this.#awake.has(endpoint);
  }

  /** Closes every window that has ended (run by the timer, or by tests that move the clock). */
  tick(): void {
    const now = this.#clock.now();
    this.#lastTick = now;
    let next = Infinity;
    for (const endpoint of [...this.#awake]) {
      const e = this.#entries.get(endpoint);
      if (e === undefined) continue;
      if (e.awakeUntil <= now) {
        this.#awake.delete(endpoint);
        this.emit('sleeping', endpoint);
      } else next = Math.min(next, e.awakeUntil);
    }
    this.#timerAt = Infinity;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    if (next < Infinity) this.#arm(next);
  }

  close(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #arm(wanted: number): void {
    // Windows close in batches at most every TICK_RESOLUTION_MS, so a fleet waking at once costs a few
    // scans per second rather than one scan per device.
    const at = Math.max(wanted, this.#lastTick + TICK_RESOLUTION_MS);
    if (at >= this.#timerAt && this.#timer) return;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timerAt = at;
    this.#timer = setTimeout(() => this.tick(), Math.max(0, at - this.#clock.now()) + 5);
    this.#timer.unref();
  }
}
