/**
 * Injection-mode dispatcher (SGP.32 v1.2 §3.1.1.2 over LwM2M queue mode, Transport §6.5): when a device's
 * awake window opens, its next TransferEimPackageRequest is fetched and delivered at once. One ESipa exchange
 * per eUICC at a time (delivered, then wait for its answer); across devices, a bounded number of fetches and
 * deliveries run concurrently, and waiting devices are served earliest-closing window first, so a wake storm
 * spends the capacity where a window is about to be lost.
 *
 * Retries: a failed delivery is retried with exponential backoff inside the window; an exchange whose
 * answer does not come before the window closes (or within resultTimeoutMs) is left to the core, which hands
 * out the same package again at the next opportunity (after the backoff) and fails it after maxAttempts,
 * requesting an inventory re-read.
 */
import { pino, type Logger } from 'pino';
import { readSingle } from '../asn1/tlv.js';
import type { EimEvent } from '../eim/events.js';
import type { CancelTimer, Clock, Downlink, Presence, AwakeEvent, SleepingEvent, TransferSource } from './ports.js';
import { PriorityQueue } from './priority-queue.js';

export interface DispatcherOptions {
  readonly source: TransferSource;
  readonly downlink: Downlink;
  readonly presence: Presence;
  readonly clock: Clock;
  readonly logger?: Logger;
  /** Fetches + deliveries running at once across all devices (default 64). */
  readonly maxConcurrent?: number;
  /** How long a delivered exchange waits for the device's answer before the eUICC is free again (default 60 s). */
  readonly resultTimeoutMs?: number;
  /** First retry delay after a failed delivery or an unanswered exchange (default 1 s), doubling each time. */
  readonly retryBaseMs?: number;
  /** Longest retry delay (default 5 min). */
  readonly retryMaxMs?: number;
}

type Phase = 'idle' | 'queued' | 'fetching' | 'delivering' | 'awaiting-result';

interface Device {
  awake: boolean;
  windowClosesAt: number;
  phase: Phase;
  /** Bumped on every enqueue and sleep: heap entries with an older generation are stale. */
  generation: number;
  /** Consecutive failed or unanswered exchanges: drives the backoff. */
  retries: number;
  /** No delivery before this instant (backoff). */
  notBefore: number;
  /** The backoff timer, if one is armed. */
  timer?: CancelTimer;
}

export interface DispatcherStats {
  readonly awake: number;
  readonly waiting: number;
  readonly active: number;
  readonly awaitingResult: number;
}

export class Dispatcher {
  readonly #source: TransferSource;
  readonly #downlink: Downlink;
  readonly #presence: Presence;
  readonly #clock: Clock;
  readonly #log: Logger;
  readonly #maxConcurrent: number;
  readonly #resultTimeoutMs: number;
  readonly #retryBaseMs: number;
  readonly #retryMaxMs: number;
  readonly #devices = new Map<string, Device>();
  readonly #ready = new PriorityQueue<{ eid: string; generation: number }>();
  readonly #inFlight = new Set<Promise<void>>();
  /**
   * Exchanges awaiting the device's answer, by EID, with their deadline. The timeout is the same for all, so
   * insertion order is deadline order: one timer for the earliest serves them all (no timer per exchange).
   */
  readonly #awaiting = new Map<string, number>();
  #resultTimer: CancelTimer | undefined;
  #active = 0;
  #pumpScheduled = false;
  #started = false;

  constructor(options: DispatcherOptions) {
    this.#source = options.source;
    this.#downlink = options.downlink;
    this.#presence = options.presence;
    this.#clock = options.clock;
    this.#log = (options.logger ?? pino({ level: 'silent' })).child({ component: 'scheduler' });
    this.#maxConcurrent = positive(options.maxConcurrent ?? 64, 'maxConcurrent');
    this.#resultTimeoutMs = positive(options.resultTimeoutMs ?? 60_000, 'resultTimeoutMs');
    this.#retryBaseMs = positive(options.retryBaseMs ?? 1000, 'retryBaseMs');
    this.#retryMaxMs = positive(options.retryMaxMs ?? 300_000, 'retryMaxMs');
  }

  /** Starts listening to presence; devices already awake are picked up. */
  start(): void {
    if (this.#started) return;
    this.#started = true;
    this.#presence.on('awake', this.#onAwake);
    this.#presence.on('sleeping', this.#onSleeping);
  }

  /** Stops listening and waits for the fetches and deliveries under way; exchanges awaiting an answer are dropped. */
  async stop(): Promise<void> {
    if (!this.#started) return;
    this.#started = false;
    this.#presence.off('awake', this.#onAwake);
    this.#presence.off('sleeping', this.#onSleeping);
    for (const d of this.#devices.values()) d.timer?.();
    this.#resultTimer?.();
    this.#resultTimer = undefined;
    this.#awaiting.clear();
    await Promise.allSettled([...this.#inFlight]);
    this.#devices.clear();
  }

  /** Resolves once no fetch or delivery is under way (tests, shutdown). */
  async idle(): Promise<void> {
    while (this.#inFlight.size > 0 || this.#pumpScheduled) {
      await Promise.allSettled([...this.#inFlight]);
      await new Promise<void>((r) => setImmediate(r));
    }
  }

  stats(): DispatcherStats {
    let awake = 0;
    let waiting = 0;
    let awaitingResult = 0;
    for (const d of this.#devices.values()) {
      if (d.awake) awake++;
      if (d.phase === 'queued') waiting++;
      if (d.phase === 'awaiting-result') awaitingResult++;
    }
    return { awake, waiting, active: this.#active, awaitingResult };
  }

  /**
   * The device's answer ended the exchange (a TransferEimPackageResponse carrying a result or an error was
   * handled): the eUICC is free for its next exchange. Called by the transport bridge; unknown or idle devices
   * are ignored. Do NOT call it for `eimPackageReceived`: the result is still to come, and the core would hand
   * out the same package again; the dispatcher then waits for the operation's result event (onEvent) or
   * resultTimeoutMs. Acknowledgement-only transfers need no call: delivering them ends their exchange.
   */
  exchangeFinished(eid: string): void {
    const d = this.#devices.get(eid);
    if (d === undefined || d.phase !== 'awaiting-result') return;
    this.#awaiting.delete(eid);
    d.phase = 'idle';
    d.retries = 0;
    d.notBefore = 0;
    this.#enqueue(eid, d);
  }

  /** There may be new work for this device (an operation was queued): dispatch it if the device is awake and free. */
  poke(eid: string): void {
    const d = this.#devices.get(eid);
    if (d !== undefined && d.phase === 'idle') this.#enqueue(eid, d);
  }

  /** Feed of the core's events: a new queued operation pokes its device; a result frees a waiting exchange. */
  onEvent(e: EimEvent): void {
    if (e.type !== 'operation.changed') return;
    if (e.state === 'queued') this.poke(e.eid);
    else if (e.state === 'done' || e.state === 'failed') this.exchangeFinished(e.eid);
  }

  readonly #onAwake = (e: AwakeEvent): void => {
    let d = this.#devices.get(e.eid);
    if (d === undefined) {
      d = { awake: true, windowClosesAt: e.windowClosesAt, phase: 'idle', generation: 0, retries: 0, notBefore: 0 };
      this.#devices.set(e.eid, d);
    }
    d.awake = true;
    d.windowClosesAt = e.windowClosesAt;
    // A fresh window starts an exchange for an idle device; an extension re-keys a waiting one.
    if (d.phase === 'queued' || d.phase === 'idle') this.#enqueue(e.eid, d);
  };

  readonly #onSleeping = (e: SleepingEvent): void => {
    const d = this.#devices.get(e.eid);
    if (d === undefined) return;
    d.awake = false;
    d.generation++;
    if (d.phase === 'queued') d.phase = 'idle';
    if (d.phase === 'awaiting-result') this.#interrupted(e.eid, d, 'window closed before the answer');
    // Fetching or delivering: that exchange finishes and sees the device asleep.
    if (d.phase === 'idle') {
      d.timer?.();
      d.timer = undefined;
      // Forget idle devices (memory stays proportional to awake ones) unless a backoff must outlive the window.
      if (d.retries === 0) this.#devices.delete(e.eid);
    }
  };

  /** The answer did not come: count a retry and back off before the core hands out the package again. */
  #interrupted(eid: string, d: Device, why: string): void {
    d.timer?.();
    d.timer = undefined;
    this.#awaiting.delete(eid);
    d.phase = 'idle';
    d.retries++;
    d.notBefore = this.#clock.now() + this.#backoff(d.retries);
    this.#log.info({ eid, retries: d.retries, retryAt: d.notBefore }, why);
  }

  #backoff(retries: number): number {
    return Math.min(this.#retryMaxMs, this.#retryBaseMs * 2 ** Math.min(30, retries - 1));
  }

  #enqueue(eid: string, d: Device): void {
    if (!this.#started || !d.awake) return;
    const now = this.#clock.now();
    if (d.windowClosesAt <= now) return;
    d.timer?.();
    d.timer = undefined;
    if (d.notBefore > now) {
      d.phase = 'idle';
      // Retry inside this window if the backoff ends before it closes; otherwise wait for the next one.
      if (d.notBefore < d.windowClosesAt) d.timer = this.#clock.setTimer(d.notBefore, () => this.#enqueue(eid, d));
      return;
    }
    d.phase = 'queued';
    d.generation++;
    this.#ready.push({ eid, generation: d.generation }, d.windowClosesAt);
    this.#schedulePump();
  }

  /** Pumps on a microtask, so every wake announced in the same tick is ordered before any is served. */
  #schedulePump(): void {
    if (this.#pumpScheduled) return;
    this.#pumpScheduled = true;
    queueMicrotask(() => {
      this.#pumpScheduled = false;
      this.#pump();
    });
  }

  #pump(): void {
    while (this.#active < this.#maxConcurrent) {
      const next = this.#ready.pop();
      if (next === undefined) return;
      const d = this.#devices.get(next.eid);
      if (d === undefined || d.generation !== next.generation || d.phase !== 'queued' || !d.awake) continue;
      if (d.windowClosesAt <= this.#clock.now()) {
        d.phase = 'idle';
        continue;
      }
      this.#active++;
      const run = this.#exchange(next.eid, d).finally(() => {
        this.#active--;
        this.#inFlight.delete(run);
        this.#pump();
      });
      this.#inFlight.add(run);
    }
  }

  #awaitResult(eid: string, deadline: number): void {
    this.#awaiting.delete(eid); // re-inserted last: the map stays in deadline order
    this.#awaiting.set(eid, deadline);
    if (this.#resultTimer === undefined) this.#resultTimer = this.#clock.setTimer(deadline, this.#onResultTimer);
  }

  /** Ends the exchanges whose answer is overdue, then waits for the next deadline. */
  readonly #onResultTimer = (): void => {
    this.#resultTimer = undefined;
    const now = this.#clock.now();
    for (const [eid, deadline] of this.#awaiting) {
      if (deadline > now) {
        this.#resultTimer = this.#clock.setTimer(deadline, this.#onResultTimer);
        return;
      }
      this.#awaiting.delete(eid);
      const d = this.#devices.get(eid);
      if (d === undefined || d.phase !== 'awaiting-result') continue;
      this.#interrupted(eid, d, 'no answer within the result timeout');
      this.#enqueue(eid, d);
    }
  };

  async #exchange(eid: string, d: Device): Promise<void> {
    d.phase = 'fetching';
    let der: Uint8Array | undefined;
    try {
      der = await this.#source.nextTransfer(eid);
    } catch (err) {
      this.#log.error({ eid, err }, 'next transfer could not be prepared');
      this.#interrupted(eid, d, 'transfer preparation failed');
      if (d.awake) this.#enqueue(eid, d);
      return;
    }
    if (der === undefined) {
      d.phase = 'idle';
      d.retries = 0;
      if (!d.awake) this.#devices.delete(eid);
      return;
    }
    d.phase = 'delivering';
    let outcome;
    try {
      outcome = await this.#downlink.deliver(eid, der);
    } catch (err) {
      this.#log.error({ eid, err }, 'downlink threw; treated as a failed delivery');
      outcome = 'failed' as const;
    }
    if (outcome === 'delivered' && isAcknowledgementsOnly(der)) {
      // Acknowledgements carry no operation: delivered is the end of that exchange, the next one can start.
      d.phase = 'idle';
      d.retries = 0;
      this.#enqueue(eid, d);
      return;
    }
    if (outcome === 'delivered') {
      if (!d.awake) {
        // The window closed while we were writing: the answer may still come, but we no longer wait for it.
        this.#interrupted(eid, d, 'window closed during delivery');
        return;
      }
      d.phase = 'awaiting-result';
      this.#awaitResult(eid, this.#clock.now() + this.#resultTimeoutMs);
      return;
    }
    if (outcome === 'asleep') {
      // Nothing reached the device: no backoff, it gets the same package when it next wakes.
      d.phase = 'idle';
      d.awake = false;
      d.generation++;
      return;
    }
    this.#interrupted(eid, d, 'delivery failed');
    this.#enqueue(eid, d);
  }
}

/** EimAcknowledgements: TransferEimPackageRequest (BF4E) whose chosen arm is [83] SEQUENCE (BF53). */
function isAcknowledgementsOnly(der: Uint8Array): boolean {
  try {
    return readSingle(readSingle(der).value).tag === 0xbf53;
  } catch {
    return false;
  }
}

function positive(value: number, name: string): number {
  if (!(Number.isFinite(value) && value > 0)) throw new RangeError(`${name} must be a positive number`);
  return value;
}
