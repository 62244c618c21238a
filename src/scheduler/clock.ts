/**
 * Clock implementations: `systemClock` (Date.now and Node timers) for the server, `ManualClock` for tests
 * and simulations, where time moves only when `advance` is called (house style B5: no global fake timers).
 */
import type { CancelTimer, Clock } from './ports.js';

/** setTimeout takes at most 2^31-1 ms; longer waits re-arm. */
const MAX_TIMEOUT_MS = 2_147_483_647;

/** Wall-clock time; timers are unref'd so a pending scheduler timer never keeps a process alive on its own. */
export const systemClock: Clock = {
  now: () => Date.now(),
  setTimer(at: number, fn: () => void): CancelTimer {
    let handle: NodeJS.Timeout | undefined;
    let cancelled = false;
    const arm = (): void => {
      const wait = Math.max(0, at - Date.now());
      handle = setTimeout(() => {
        if (cancelled) return;
        if (Date.now() < at) arm();
        else fn();
      }, Math.min(wait, MAX_TIMEOUT_MS));
      handle.unref();
    };
    arm();
    return () => {
      cancelled = true;
      if (handle !== undefined) clearTimeout(handle);
    };
  },
};

interface ManualTimer {
  readonly at: number;
  readonly seq: number;
  readonly fn: () => void;
  cancelled: boolean;
}

/** A clock that only moves when told to; timers fire synchronously inside `advance`/`set`, in time order. */
export class ManualClock implements Clock {
  #now: number;
  #seq = 0;
  #timers: ManualTimer[] = [];

  constructor(start = 0) {
    this.#now = start;
  }

  now(): number {
    return this.#now;
  }

  setTimer(at: number, fn: () => void): CancelTimer {
    const timer: ManualTimer = { at, seq: this.#seq++, fn, cancelled: false };
    this.#timers.push(timer);
    return () => {
      timer.cancelled = true;
    };
  }

  /** Timers not yet fired nor cancelled. */
  get pendingTimers(): number {
    return this.#timers.filter((t) => !t.cancelled).length;
  }

  /** Moves time forward by `ms`, firing every due timer (including ones set by fired timers) in order. */
  advance(ms: number): void {
    if (!(ms >= 0)) throw new RangeError('ms must be >= 0');
    this.set(this.#now + ms);
  }

  /** Moves time to `at` (never backwards), firing due timers in order of their instant, then creation. */
  set(at: number): void {
    if (at < this.#now) throw new RangeError('a ManualClock does not go backwards');
    for (;;) {
      this.#timers = this.#timers.filter((t) => !t.cancelled);
      let next: ManualTimer | undefined;
      for (const t of this.#timers) if (t.at <= at && (next === undefined || t.at < next.at || (t.at === next.at && t.seq < next.seq))) next = t;
      if (next === undefined) break;
      next.cancelled = true;
      this.#now = Math.max(this.#now, next.at);
      next.fn();
    }
    this.#now = at;
  }
}
