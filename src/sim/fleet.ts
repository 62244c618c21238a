/**
 * A fleet of simulated devices in one process (issue 4 "sleeping fleet"; LwM2M 1.1.1 Transport §6.5 queue
 * mode; shared/notes/lwm2m.md §2.2): N devices register (a bounded number at a time, spread over a ramp),
 * then each follows its own sleep schedule (sleep.ts) with jitter: PSM wake-ups with a Registration Update
 * and an awake window, eDRX paging occasions, or always-on (never sleeps: stays awake on the socket of its
 * Register and sends a Registration Update every updateEveryMs). A device that sleeps longer than the NAT
 * timeout drops its transport when it falls asleep and comes back from a new port (new DTLS handshake).
 *
 * Cheap per device: one FleetTimer for every deadline, devices (client, card) created when they first
 * register, cards created when first needed, no socket held while asleep past the NAT timeout.
 */
import { pino, type Logger } from 'pino';
import type { EndpointOptions } from '../lwm2m/coap/endpoint.js';
import type { Peer } from '../lwm2m/coap/socket.js';
import type { LinkSecurity } from './device-link.js';
import { SimDevice, type DeviceEvent, type EsipaMode, type IpaDelivery } from './device.js';
import type { VirtualEuicc } from './euicc/euicc.js';
import type { IpaOptions } from './ipa.js';
import { awakeWindow, DEFAULT_NAT_TIMEOUT_MS, firstWakeDelay, FleetTimer, jittered, seededRandom, wakeInterval, type SleepSchedule } from './sleep.js';

/** One silent logger for every device: a pino instance per CoAP endpoint would cost kilobytes each. */
const SILENT = pino({ level: 'silent' });

export interface FleetDeviceSpec {
  readonly endpoint: string;
  readonly eid: string;
  readonly euicc: () => VirtualEuicc | Promise<VirtualEuicc>;
  readonly security?: LinkSecurity;
  readonly save?: (card: VirtualEuicc) => Promise<void>;
}

export interface FleetOptions {
  readonly server: Peer;
  readonly devices: readonly FleetDeviceSpec[];
  readonly schedule: SleepSchedule;
  readonly mode?: EsipaMode;
  readonly delivery?: IpaDelivery;
  readonly ipa?: IpaOptions;
  /** Sleep longer than this and the NAT mapping is gone (default 120 s); Infinity keeps ports. */
  readonly natTimeoutMs?: number;
  /** Registrations in flight at once (default 64). */
  readonly registerConcurrency?: number;
  /** Spread first registrations over this long (default 0: as fast as concurrency allows). */
  readonly rampMs?: number;
  /** Retry a failed registration after about this long (default 30 s, jittered). */
  readonly retryMs?: number;
  readonly localAddress?: string;
  readonly coap?: Omit<EndpointOptions, 'handler' | 'logger'>;
  readonly handshakeTimeoutMs?: number;
  /** Seed for schedules and jitter (default 1). */
  readonly seed?: number;
  readonly logger?: Logger;
  readonly onEvent?: (event: DeviceEvent) => void;
}

export interface FleetStats {
  readonly devices: number;
  registered: number;
  awake: number;
  wakes: number;
  /** Registration Updates due on schedule: one per PSM/eDRX wake-up, one per always-on period. */
  updates: number;
  rebinds: number;
  packagesExecuted: number;
  resultsDelivered: number;
  errors: number;
  /** Last few error reasons, newest last. */
  readonly lastErrors: string[];
}

interface Slot {
  readonly spec: FleetDeviceSpec;
  device: SimDevice | undefined;
  /** When the device last fell asleep (ms), for the NAT timeout. */
  asleepSince: number;
  released: boolean;
  awake: boolean;
  registered: boolean;
}

export class Fleet {
  readonly stats: FleetStats;
  readonly timer: FleetTimer;
  readonly #options: FleetOptions;
  readonly #slots: Slot[];
  readonly #random: () => number;
  #nextToRegister = 0;
  #registering = 0;
  #started = 0;
  #stopped = false;

  constructor(options: FleetOptions) {
    this.#options = options;
    this.timer = new FleetTimer();
    this.#random = seededRandom(options.seed ?? 1);
    this.#slots = options.devices.map((spec) => ({ spec, device: undefined, asleepSince: 0, released: false, awake: false, registered: false }));
    this.stats = { devices: this.#slots.length, registered: 0, awake: 0, wakes: 0, updates: 0, rebinds: 0, packagesExecuted: 0, resultsDelivered: 0, errors: 0, lastErrors: [] };
  }

  /** Devices created so far (in registration order). */
  devices(): SimDevice[] {
    return this.#slots.flatMap((s) => (s.device === undefined ? [] : [s.device]));
  }

  /** Starts registering; resolves at once (watch `stats` or `whenRegistered`). */
  start(): void {
    this.#started = Date.now();
    this.#pump();
  }

  /** Resolves when every device registered at least once, or rejects after `timeoutMs`. */
  async whenRegistered(timeoutMs: number): Promise<void> {
    const end = Date.now() + timeoutMs;
    while (this.stats.registered < this.stats.devices) {
      if (Date.now() > end) throw new Error(`${this.stats.registered}/${this.stats.devices} devices registered within ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  /** Stops every schedule and closes every device (deregistering when asked), a bounded number at a time. */
  async stop(options: { deregister?: boolean } = {}): Promise<void> {
    this.#stopped = true;
    this.timer.close();
    const devices = this.devices();
    for (let i = 0; i < devices.length; i += 64) {
      await Promise.all(devices.slice(i, i + 64).map((d) => d.stop(options).catch(() => undefined)));
    }
  }

  #pump(): void {
    const limit = this.#options.registerConcurrency ?? 64;
    const ramp = this.#options.rampMs ?? 0;
    while (!this.#stopped && this.#registering < limit && this.#nextToRegister < this.#slots.length) {
      const index = this.#nextToRegister++;
      const slot = this.#slots[index]!;
      const due = ramp > 0 ? this.#started + Math.floor((ramp * index) / this.#slots.length) : 0;
      this.#registering++;
      const go = (): void => void this.#register(slot).finally(() => {
        this.#registering--;
        this.#pump();
      });
      if (due > Date.now()) this.timer.after(due - Date.now(), go);
      else go();
    }
  }

  async #register(slot: Slot): Promise<void> {
    if (this.#stopped) return;
    const o = this.#options;
    try {
      slot.device ??= await SimDevice.create({
        endpoint: slot.spec.endpoint,
        eid: slot.spec.eid,
        server: o.server,
        euicc: slot.spec.euicc,
        queueMode: o.schedule.kind !== 'edrx',
        lifetime: lifetimeFor(o.schedule),
        onEvent: (e) => this.#onEvent(e),
        ...(slot.spec.security !== undefined ? { security: slot.spec.security } : {}),
        ...(slot.spec.save !== undefined ? { save: slot.spec.save } : {}),
        ...(o.mode !== undefined ? { mode: o.mode } : {}),
        ...(o.delivery !== undefined ? { delivery: o.delivery } : {}),
        ...(o.ipa !== undefined ? { ipa: o.ipa } : {}),
        ...(o.localAddress !== undefined ? { localAddress: o.localAddress } : {}),
        ...(o.coap !== undefined ? { coap: o.coap } : {}),
        ...(o.handshakeTimeoutMs !== undefined ? { handshakeTimeoutMs: o.handshakeTimeoutMs } : {}),
        logger: o.logger ?? SILENT,
      });
      await slot.device.register();
    } catch (e) {
      this.#error(slot, `register: ${(e as Error).message}`);
      slot.device?.link.release();
      if (!this.#stopped) this.timer.after(jittered(o.retryMs ?? 30_000, 0.5, this.#random), () => void this.#register(slot));
      return;
    }
    if (!slot.registered) {
      slot.registered = true;
      this.stats.registered++;
    }
    this.#setAwake(slot, true);
    const s = o.schedule;
    if (s.kind === 'always-on') {
      // No window to close (awakeWindow is Infinity): only the Update rhythm, counted from the Register.
      this.timer.after(wakeInterval(s, this.#random), () => void this.#refresh(slot));
      return;
    }
    // The first window after Register; then the device's own rhythm, phase-shifted at random.
    this.timer.after(awakeWindow(s, this.#random), () => void this.#sleep(slot, Date.now() + firstWakeDelay(s, this.#random)));
  }

  async #sleep(slot: Slot, nextWakeAt: number): Promise<void> {
    const device = slot.device;
    if (device === undefined || this.#stopped) return;
    const s = this.#options.schedule;
    await device.sleep(s.kind === 'edrx' ? 'edrx' : 'psm');
    if (this.#stopped) return;
    this.#setAwake(slot, false);
    slot.asleepSince = Date.now();
    const sleepFor = Math.max(0, nextWakeAt - Date.now());
    // Radio off past the NAT timeout: the mapping will be gone, so the socket can go now.
    if (sleepFor > (this.#options.natTimeoutMs ?? DEFAULT_NAT_TIMEOUT_MS)) {
      device.link.release();
      slot.released = true;
    }
    if (s.kind === 'edrx') this.timer.after(sleepFor, () => this.#page(slot, Date.now() + s.updateEveryMs));
    else this.timer.after(sleepFor, () => void this.#wake(slot));
  }

  /** eDRX paging occasion: reachable for the paging window, then idle until the next one. */
  #page(slot: Slot, updateDueAt: number): void {
    const device = slot.device;
    if (device === undefined || this.#stopped || this.#options.schedule.kind !== 'edrx') return;
    if (Date.now() >= updateDueAt) {
      void this.#wake(slot);
      return;
    }
    const s = this.#options.schedule;
    device.page();
    this.#setAwake(slot, true);
    this.timer.after(s.pagingWindowMs, () => {
      if (this.#stopped) return;
      void device.sleep('edrx').then(() => {
        this.#setAwake(slot, false);
        this.timer.after(s.cycleMs - s.pagingWindowMs, () => this.#page(slot, updateDueAt));
      });
    });
  }

  async #wake(slot: Slot): Promise<void> {
    const device = slot.device;
    if (device === undefined || this.#stopped) return;
    const s = this.#options.schedule;
    const started = Date.now();
    // Only a device that slept can have lost its NAT mapping.
    const rebind = slot.released || (slot.asleepSince > 0 && started - slot.asleepSince > (this.#options.natTimeoutMs ?? DEFAULT_NAT_TIMEOUT_MS));
    slot.released = false;
    this.#setAwake(slot, true);
    this.stats.wakes++;
    this.stats.updates++;
    if (rebind) this.stats.rebinds++;
    try {
      await device.wake({ rebind });
    } catch (e) {
      this.#error(slot, `wake: ${(e as Error).message}`);
    }
    if (this.#stopped) return;
    this.timer.after(awakeWindow(s, this.#random), () => void this.#sleep(slot, started + wakeInterval(s, this.#random)));
  }

  /**
   * Always-on: a Registration Update every updateEveryMs (a full Register if the server forgot us), from the
   * socket the device already has: a device that never sleeps keeps its NAT mapping alive, so nothing is
   * released and no rebind is counted. The next Update is due one period after this one started.
   */
  async #refresh(slot: Slot): Promise<void> {
    const device = slot.device;
    const s = this.#options.schedule;
    if (device === undefined || this.#stopped || s.kind !== 'always-on') return;
    const started = Date.now();
    this.stats.updates++;
    try {
      await device.wake();
    } catch (e) {
      this.#error(slot, `update: ${(e as Error).message}`);
    }
    if (this.#stopped) return;
    this.timer.after(Math.max(0, started + wakeInterval(s, this.#random) - Date.now()), () => void this.#refresh(slot));
  }

  #setAwake(slot: Slot, awake: boolean): void {
    if (slot.awake === awake) return;
    slot.awake = awake;
    this.stats.awake += awake ? 1 : -1;
  }

  #onEvent(e: DeviceEvent): void {
    if (e.type === 'packageExecuted') this.stats.packagesExecuted++;
    else if (e.type === 'resultDelivered') this.stats.resultsDelivered++;
    else if (e.type === 'error') this.#noteError(`${e.endpoint}: ${e.reason}`);
    this.#options.onEvent?.(e);
  }

  #error(slot: Slot, reason: string): void {
    this.#noteError(`${slot.spec.endpoint}: ${reason}`);
    this.#options.logger?.warn({ endpoint: slot.spec.endpoint, reason }, 'fleet device error');
  }

  #noteError(reason: string): void {
    this.stats.errors++;
    this.stats.lastErrors.push(reason);
    if (this.stats.lastErrors.length > 5) this.stats.lastErrors.shift();
  }
}

/** A registration lifetime (s) that outlives the longest sleep with margin. */
function lifetimeFor(s: SleepSchedule): number {
  const longest = s.kind === 'psm' ? s.periodMs * (1 + s.jitter) : s.updateEveryMs * 1.1;
  return Math.max(300, Math.ceil((longest * 2) / 1000));
}
