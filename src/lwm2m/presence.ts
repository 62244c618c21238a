/**
 * Presence of queue-mode devices (OMA LwM2M 1.1.1 Transport §6.5): any uplink opens or extends an awake
 * window (MAX_TRANSMIT_WAIT = 93 s by default, per device if configured); when it closes the device is
 * asleep until its next uplink. One timer for all devices, armed for the earliest window end; state per
 * device is three numbers in shared columns. Events: 'awake' (endpoint), 'sleeping' (endpoint).
 */
import { EventEmitter } from 'node:events';
import type { TimeSource } from '../scheduler/ports.js';

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

/**
 * Per-device times in three Float64Array columns indexed by a slot, one Map entry (endpoint -> slot, a
 * small integer) per device: 24 bytes of state instead of an object with three boxed numbers (issue 5).
 * Freed slots are reused; NaN stands for "no next uplink expected".
 */
class TimeTable {
  readonly #slots = new Map<string, number>();
  #free: number[] = [];
  #lastUplink: Float64Array = new Float64Array(64);
  #awakeUntil: Float64Array = new Float64Array(64);
  #nextExpected: Float64Array = new Float64Array(64);
  #used = 0;

  get size(): number {
    return this.#slots.size;
  }

  slot(endpoint: string): number | undefined {
    return this.#slots.get(endpoint);
  }

  /** The endpoint's slot, taken (times zero, no next uplink) when it had none. */
  take(endpoint: string): number {
    const existing = this.#slots.get(endpoint);
    if (existing !== undefined) return existing;
    let slot = this.#free.pop();
    if (slot === undefined) {
      if (this.#used === this.#lastUplink.length) this.#grow();
      slot = this.#used++;
    }
    this.#lastUplink[slot] = 0;
    this.#awakeUntil[slot] = 0;
    this.#nextExpected[slot] = NaN;
    this.#slots.set(endpoint, slot);
    return slot;
  }

  release(endpoint: string): void {
    const slot = this.#slots.get(endpoint);
    if (slot === undefined) return;
    this.#slots.delete(endpoint);
    this.#free.push(slot);
  }

  lastUplink(slot: number): number {
    return this.#lastUplink[slot]!;
  }

  awakeUntil(slot: number): number {
    return this.#awakeUntil[slot]!;
  }

  nextExpected(slot: number): number | undefined {
    const v = this.#nextExpected[slot]!;
    return Number.isNaN(v) ? undefined : v;
  }

  setUplink(slot: number, at: number, awakeUntil: number): void {
    this.#lastUplink[slot] = at;
    this.#awakeUntil[slot] = awakeUntil;
  }

  setAwakeUntil(slot: number, at: number): void {
    this.#awakeUntil[slot] = at;
  }

  setNextExpected(slot: number, at: number): void {
    this.#nextExpected[slot] = at;
  }

  #grow(): void {
    const n = this.#lastUplink.length * 2;
    const grown = (from: Float64Array): Float64Array => {
      const to = new Float64Array(n);
      to.set(from);
      return to;
    };
    this.#lastUplink = grown(this.#lastUplink);
    this.#awakeUntil = grown(this.#awakeUntil);
    this.#nextExpected = grown(this.#nextExpected);
  }
}

export class Presence extends EventEmitter implements PresenceView {
  readonly #clock: TimeSource;
  readonly #awakeTimeOf: (endpoint: string) => number;
  readonly #times = new TimeTable();
  /** Endpoints currently awake, ordered lazily: checked at each tick. */
  readonly #awake = new Set<string>();
  #timer: NodeJS.Timeout | undefined;
  #timerAt = Infinity;
  #lastTick = -Infinity;

  constructor(clock: TimeSource, awakeTimeOf: (endpoint: string) => number = () => DEFAULT_AWAKE_TIME_MS) {
    super();
    this.#clock = clock;
    this.#awakeTimeOf = awakeTimeOf;
  }

  /** Devices with presence state (registered ones). */
  get size(): number {
    return this.#times.size;
  }

  /** Records an uplink: the device is awake for its awake time from now. Emits 'awake' on a transition. */
  uplink(endpoint: string): void {
    const now = this.#clock.now();
    const slot = this.#times.take(endpoint);
    const until = now + this.#awakeTimeOf(endpoint);
    this.#times.setUplink(slot, now, until);
    if (!this.#awake.has(endpoint)) {
      this.#awake.add(endpoint);
      this.#arm(until);
      this.emit('awake', endpoint);
    } else this.#arm(until);
  }

  /** Records when the next Update is due (Register/Update with lifetime in seconds). */
  expectUplink(endpoint: string, lifetimeS: number): void {
    const slot = this.#times.slot(endpoint);
    if (slot !== undefined) this.#times.setNextExpected(slot, this.#clock.now() + lifetimeS * 1000);
  }

  /** The device did not answer: treat it as asleep now (Leshan: a timeout means sleeping). */
  sleep(endpoint: string): void {
    const slot = this.#times.slot(endpoint);
    if (slot === undefined || !this.#awake.has(endpoint)) return;
    this.#times.setAwakeUntil(slot, this.#clock.now());
    this.#awake.delete(endpoint);
    this.emit('sleeping', endpoint);
  }

  /** Drops all state of a device (deregistered or expired); emits nothing. */
  forget(endpoint: string): void {
    this.#times.release(endpoint);
    this.#awake.delete(endpoint);
  }

  state(endpoint: string): PresenceState | undefined {
    const slot = this.#times.slot(endpoint);
    if (slot === undefined) return undefined;
    const t = this.#times;
    return { awake: this.#awake.has(endpoint), lastUplink: t.lastUplink(slot), awakeUntil: t.awakeUntil(slot), nextExpectedUplink: t.nextExpected(slot) };
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
      const slot = this.#times.slot(endpoint);
      if (slot === undefined) continue;
      const until = this.#times.awakeUntil(slot);
      if (until <= now) {
        this.#awake.delete(endpoint);
        this.emit('sleeping', endpoint);
      } else next = Math.min(next, until);
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
