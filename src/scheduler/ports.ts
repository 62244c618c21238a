/**
 * The seams the scheduler owns (house style B1/B2.3): time (Clock), device reachability (Presence) and the
 * way a package reaches a device (Downlink). Queue-mode semantics follow OMA LwM2M 1.1.1 Transport §6.5: a
 * device is reachable for an awake window after each uplink and asleep otherwise. The LwM2M layer implements
 * Presence and Downlink; main.ts wires them; tests use a ManualClock and fakes.
 */

/** Cancels a timer set with Clock.setTimer; calling it twice, or after the timer fired, does nothing. */
export type CancelTimer = () => void;

/** Time as the scheduler sees it: epoch milliseconds and one-shot timers at absolute instants. */
export interface Clock {
  now(): number;
  /** Calls `fn` once at (or soon after) the instant `at`; an instant in the past fires as soon as possible. */
  setTimer(at: number, fn: () => void): CancelTimer;
}

/** What a module that only reads time needs of a Clock (lifetimes, awake windows, transfer expiry). */
export type TimeSource = Pick<Clock, 'now'>;

/** 'awake': the device's window opened (or was extended) and closes at `windowClosesAt` (Clock ms). */
export interface AwakeEvent {
  readonly eid: string;
  readonly windowClosesAt: number;
}

/** 'sleeping': the device's window closed (or the device stopped answering). */
export interface SleepingEvent {
  readonly eid: string;
}

/**
 * Reachability of devices by EID (the LwM2M layer maps endpoints to EIDs). Shaped like an EventEmitter so a
 * Node EventEmitter satisfies it. 'awake' fires on every window opening and may fire again while awake when
 * the window is extended (a later windowClosesAt); 'sleeping' fires once when it closes.
 */
export interface Presence {
  isAwake(eid: string): boolean;
  /** When the current window closes, or undefined when the device is asleep or unknown. */
  windowClosesAt(eid: string): number | undefined;
  /** When the device is next expected to send an uplink (e.g. its registration lifetime), or undefined. */
  nextExpectedUplink(eid: string): number | undefined;
  on(event: 'awake', listener: (e: AwakeEvent) => void): unknown;
  on(event: 'sleeping', listener: (e: SleepingEvent) => void): unknown;
  off(event: 'awake', listener: (e: AwakeEvent) => void): unknown;
  off(event: 'sleeping', listener: (e: SleepingEvent) => void): unknown;
}

/**
 * What became of one delivery: 'delivered' the device accepted the bytes (e.g. LwM2M Write 2.04 on
 * /3443/0/2; its TransferEimPackageResponse comes later through ESipa); 'asleep' the device was not
 * reachable (no DTLS session, timeout): nothing was delivered; 'failed' it refused or the transport failed.
 */
export type DeliveryOutcome = 'delivered' | 'asleep' | 'failed';

/** Injection-mode transport (SGP.32 v1.2 §3.1.1.2). Must not throw: failures are the 'failed' outcome. */
export interface Downlink {
  deliver(eid: string, der: Uint8Array): Promise<DeliveryOutcome>;
}

/**
 * Where the next transfer for a device comes from: EsipaHandler.nextTransfer satisfies it. Returns the
 * next TransferEimPackageRequest DER, or undefined when there is nothing for this device now.
 */
export interface TransferSource {
  nextTransfer(eid: string): Promise<Uint8Array | undefined>;
}
