/**
 * Clock seam: everything in src/lwm2m that reasons about time (lifetimes, awake windows, transfer expiry)
 * asks a Clock, so tests can move time without global fake timers (house style B5).
 */
export interface Clock {
  /** Milliseconds since the epoch (or any monotonic origin shared by one server). */
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };
