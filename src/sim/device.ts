/**
 * One simulated IoT device: a virtual eUICC, its IPA and an LwM2M 1.1 client carrying ESipa on object 3443
 * "eSIM IoT" (SGP.32 v1.2 §3.1.1 eIM Package retrieval and injection, §6.3 ASN.1 binding; object 3443 as in
 * shared/notes/lwm2m.md §1.4; LwM2M 1.1.1 Transport §6.5 queue mode).
 *
 * - Injection: the eIM writes a TransferEimPackageRequest to /3443/0/2; the client answers 2.04, then the
 *   device reports /3443/0/0 = 1 (busy), runs the package on the card, publishes the response in /3443/0/3
 *   (Send, or a confirmable notification when observed), then anything the IPA queued, and reports 0 again.
 * - Retrieval: on each wake the IPA puts a GetEimPackageRequest in /3443/0/3; the eIM answers in /3443/0/2;
 *   after a package the IPA delivers the result, takes the acknowledgement and polls again (bounded).
 * - Execute /3443/0/4 clears resource 3 (done by the client); the device counts it.
 *
 * The device never sleeps while it works: `sleep()` waits for the work in hand. The card is created on
 * first need (lazy), so an idle fleet holds only endpoints and sockets.
 */
import type { Logger } from 'pino';
import { readSingle, childrenOf } from '../asn1/tlv.js';
import type { Peer } from '../lwm2m/coap/socket.js';
import type { EndpointOptions } from '../lwm2m/coap/endpoint.js';
import { RequestTimeoutError } from '../lwm2m/errors.js';
import type { VirtualEuicc } from './euicc/euicc.js';
import { DeviceLink, type LinkSecurity } from './device-link.js';
import { Ipa, type IpaOptions } from './ipa.js';
import { Lwm2mClient } from './lwm2m-client.js';

export type EsipaMode = 'injection' | 'retrieval';
export type IpaDelivery = 'send' | 'notify';

export type DeviceEvent =
  | { readonly type: 'registered' | 'woke' | 'slept' | 'cleared' | 'rebound'; readonly endpoint: string }
  | { readonly type: 'packageExecuted'; readonly endpoint: string; readonly kind: 'euiccPackage' | 'ipaEuiccData' | 'profileDownload' }
  | { readonly type: 'resultDelivered'; readonly endpoint: string; readonly message: Uint8Array }
  | { readonly type: 'error'; readonly endpoint: string; readonly reason: string };

export interface SimDeviceOptions {
  readonly endpoint: string;
  readonly eid: string;
  readonly server: Peer;
  readonly security?: LinkSecurity;
  /** Local address of coap:// sockets (default 0.0.0.0). */
  readonly localAddress?: string;
  /** The card, or how to obtain it the first time it is needed. */
  readonly euicc: VirtualEuicc | (() => VirtualEuicc | Promise<VirtualEuicc>);
  readonly ipa?: IpaOptions;
  /** 'retrieval' polls on every wake; 'injection' waits for the eIM (default 'injection'). */
  readonly mode?: EsipaMode;
  /** How /3443/0/3 is delivered (default 'send'; 'notify' falls back to Send when nothing observes it). */
  readonly delivery?: IpaDelivery;
  /** Register with the queue-mode flag (default true). */
  readonly queueMode?: boolean;
  /**
   * How State (/3443/0/0) changes are notified (default 'non-confirmable', the LwM2M 1.2 default notification
   * mode): a busy/ready flag the server can re-read is not worth an acknowledgement each time, which would
   * double the datagrams of every eIM message. /3443/0/3 notifications stay confirmable (delivery clears it).
   */
  readonly stateNotifications?: 'confirmable' | 'non-confirmable';
  /** Registration lifetime, s (default 86,400). */
  readonly lifetime?: number;
  readonly coap?: Omit<EndpointOptions, 'handler' | 'logger'>;
  readonly handshakeTimeoutMs?: number;
  /**
   * Retrieval mode: after Register, wait up to this long for the server to observe /3443/0/3 before the
   * first poll, so the poll does not arrive before the server has bound the EID (default 2000 ms).
   */
  readonly settleMs?: number;
  /** Polls per wake-up in retrieval mode (default 8). */
  readonly maxPollsPerWake?: number;
  /** Called after each processed eIM message, to persist the card (a package ran, acknowledgements applied). */
  readonly save?: (card: VirtualEuicc) => Promise<void>;
  readonly onEvent?: (event: DeviceEvent) => void;
  readonly logger?: Logger;
}

const PATH_STATE = '/3443/0/0';
const PACKAGE_KIND: Record<number, 'euiccPackage' | 'ipaEuiccData' | 'profileDownload'> = { 0xbf51: 'euiccPackage', 0xbf52: 'ipaEuiccData', 0xbf54: 'profileDownload' };

export class SimDevice {
  readonly endpoint: string;
  readonly eid: string;
  readonly link: DeviceLink;
  readonly client: Lwm2mClient;
  readonly #options: SimDeviceOptions;
  #ipa: Ipa | undefined;
  #loading: Promise<Ipa> | undefined;
  /** Serialises the work on eIM messages and polls. */
  #work: Promise<void> = Promise.resolve();
  #pending = 0;
  #polls = 0;
  #awake = false;
  readonly counters = { wakes: 0, packagesExecuted: 0, resultsDelivered: 0, errors: 0, cleared: 0 };

  private constructor(options: SimDeviceOptions, link: DeviceLink, client: Lwm2mClient) {
    this.#options = options;
    this.endpoint = options.endpoint;
    this.eid = options.eid;
    this.link = link;
    this.client = client;
    client.on('eimMessage', (der: Uint8Array) => this.#enqueue(() => this.#onEimMessage(der)));
    client.on('executed', (path: string) => {
      if (path !== '/3443/0/4') return;
      this.counters.cleared++;
      this.#emit({ type: 'cleared', endpoint: this.endpoint });
    });
    link.on('linkError', (e: Error) => this.#error(`link: ${e.message}`));
  }

  static async create(options: SimDeviceOptions): Promise<SimDevice> {
    const link = new DeviceLink({
      server: options.server,
      security: options.security ?? { kind: 'nosec' },
      ...(options.localAddress !== undefined ? { localAddress: options.localAddress } : {}),
      ...(options.handshakeTimeoutMs !== undefined ? { handshakeTimeoutMs: options.handshakeTimeoutMs } : {}),
    });
    const client = await Lwm2mClient.create({
      endpoint: options.endpoint,
      server: options.server,
      socket: link,
      eid: options.eid,
      queueMode: options.queueMode ?? true,
      confirmableNotifications: (options.stateNotifications ?? 'non-confirmable') === 'confirmable' ? true : (path: string) => path !== PATH_STATE,
      lifetime: options.lifetime ?? 86_400,
      ...(options.coap !== undefined ? { coap: options.coap } : {}),
      ...(options.logger !== undefined ? { logger: options.logger } : {}),
    });
    return new SimDevice(options, link, client);
  }

  get registered(): boolean {
    return this.client.registered;
  }

  get awake(): boolean {
    return this.#awake;
  }

  /** The IPA, creating the card on first use. */
  ipa(): Promise<Ipa> {
    if (this.#ipa !== undefined) return Promise.resolve(this.#ipa);
    this.#loading ??= (async () => {
      const e = this.#options.euicc;
      const card = typeof e === 'function' ? await e() : e;
      this.#ipa = new Ipa(card, this.#options.ipa ?? {});
      return this.#ipa;
    })();
    return this.#loading;
  }

  /** Whether the card has been created (lazy state). */
  get cardLoaded(): boolean {
    return this.#ipa !== undefined;
  }

  /** Powers on and registers (POST /rd). In retrieval mode the first poll follows. */
  async register(): Promise<void> {
    this.link.radioOn();
    this.#awake = true;
    await this.client.register();
    this.#emit({ type: 'registered', endpoint: this.endpoint });
    if ((this.#options.mode ?? 'injection') === 'retrieval') {
      await this.#settle();
      this.#startPolling();
    }
  }

  async #settle(): Promise<void> {
    const end = Date.now() + (this.#options.settleMs ?? 2000);
    while (!this.client.observedPaths().includes('/3443/0/3') && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
  }

  /**
   * A wake-up: radio on, Registration Update (a full Register if the server forgot us), then in retrieval
   * mode a poll. `rebind` first drops the transport: new source port, new DTLS handshake.
   */
  async wake(options: { rebind?: boolean } = {}): Promise<void> {
    if (options.rebind === true) {
      this.link.release();
      this.#emit({ type: 'rebound', endpoint: this.endpoint });
    }
    this.link.radioOn();
    this.#awake = true;
    this.counters.wakes++;
    if (!this.client.registered) {
      await this.register();
      return;
    }
    try {
      await this.#update();
    } catch (e) {
      if (!(e instanceof RequestTimeoutError)) throw e;
      // Silence after sleeping: the server may have lost our DTLS session or the NAT our mapping. Start over
      // from a new port with a new handshake once, rather than retrying into the void (Californium #1928).
      this.link.release();
      this.#emit({ type: 'rebound', endpoint: this.endpoint });
      await this.#update();
    }
    this.#emit({ type: 'woke', endpoint: this.endpoint });
    if ((this.#options.mode ?? 'injection') === 'retrieval') this.#startPolling();
  }

  /** Registration Update; a full Register when the server answers 4.04 (expired, or the server restarted). */
  async #update(): Promise<void> {
    try {
      await this.client.update();
    } catch (e) {
      if (!/answered 4\.04/.test((e as Error).message)) throw e;
      await this.client.register();
      this.#emit({ type: 'registered', endpoint: this.endpoint });
      if ((this.#options.mode ?? 'injection') === 'retrieval') await this.#settle();
    }
  }

  /** eDRX paging occasion: reachable again without an uplink. */
  page(): void {
    this.link.radioOn();
    this.#awake = true;
  }

  /** Ends the awake window once the work in hand is done: PSM (radio off) or eDRX (idle, paged). */
  async sleep(mode: 'psm' | 'edrx' = 'psm'): Promise<void> {
    await this.idle();
    this.link.radioOff(mode);
    this.#awake = false;
    this.#emit({ type: 'slept', endpoint: this.endpoint });
  }

  /** Resolves when no eIM message or poll is being processed. */
  async idle(): Promise<void> {
    while (this.#pending > 0) await this.#work;
  }

  /** Deregisters (best effort) and closes the client and its transport. */
  async stop(options: { deregister?: boolean } = {}): Promise<void> {
    if (options.deregister === true && this.client.registered) {
      this.link.radioOn();
      await this.client.deregister().catch((e: Error) => this.#error(`deregister: ${e.message}`));
    }
    await this.client.close();
    this.link.shutdown();
  }

  #startPolling(): void {
    this.#polls = 0;
    this.#enqueue(() => this.#poll());
  }

  async #poll(): Promise<void> {
    if (this.#polls >= (this.#options.maxPollsPerWake ?? 8)) return;
    this.#polls++;
    const ipa = await this.ipa();
    await this.#publish(ipa.pollRequest());
  }

  #enqueue(task: () => Promise<void>): void {
    this.#pending++;
    this.#work = this.#work
      .then(task)
      .catch((e: Error) => this.#error(e.message))
      .finally(() => {
        this.#pending--;
      });
  }

  async #onEimMessage(der: Uint8Array): Promise<void> {
    const ipa = await this.ipa();
    await this.client.setValue(PATH_STATE, 1);
    try {
      const executed = packageKind(der);
      const answer = ipa.handleEimMessage(der);
      if (executed !== undefined) {
        this.counters.packagesExecuted++;
        this.#emit({ type: 'packageExecuted', endpoint: this.endpoint, kind: executed });
      }
      if (answer !== undefined) await this.#publish(answer);
      for (const message of ipa.takeOutbox()) await this.#publish(message);
      // Every eIM message may change the card (a package, acknowledgements removing results): keep it.
      if (this.#options.save !== undefined) await this.#options.save(ipa.euicc);
      // Retrieval: the acknowledgement of a delivered result closes one exchange; ask for the next package.
      if ((this.#options.mode ?? 'injection') === 'retrieval' && der[0] === 0xbf && der[1] === 0x50) this.#enqueue(() => this.#poll());
    } finally {
      await this.client.setValue(PATH_STATE, 0);
    }
  }

  /** Puts one IPA -> eIM message in /3443/0/3 and delivers it. */
  async #publish(message: Uint8Array): Promise<void> {
    const observed = this.client.observedPaths().includes('/3443/0/3');
    const via = this.#options.delivery === 'notify' && observed ? 'notify' : 'send';
    await this.client.putIpaMessage(message, via);
    if (isResult(message)) {
      this.counters.resultsDelivered++;
      this.#emit({ type: 'resultDelivered', endpoint: this.endpoint, message });
    }
  }

  #error(reason: string): void {
    this.counters.errors++;
    this.#options.logger?.warn({ endpoint: this.endpoint, reason }, 'simulated device error');
    this.#emit({ type: 'error', endpoint: this.endpoint, reason });
  }

  #emit(event: DeviceEvent): void {
    this.#options.onEvent?.(event);
  }
}

/** The package inside a GetEimPackageResponse / TransferEimPackageRequest, if it carries one. */
function packageKind(der: Uint8Array): 'euiccPackage' | 'ipaEuiccData' | 'profileDownload' | undefined {
  if (der[0] !== 0xbf || (der[1] !== 0x4f && der[1] !== 0x4e)) return undefined;
  try {
    const inner = childrenOf(readSingle(der))[0];
    return inner === undefined ? undefined : PACKAGE_KIND[inner.tag];
  } catch {
    return undefined;
  }
}

/** A ProvideEimPackageResult, or a TransferEimPackageResponse other than eimPackageReceived (BF4E 02 05 00). */
function isResult(message: Uint8Array): boolean {
  if (message[0] !== 0xbf) return false;
  if (message[1] === 0x50) return true;
  return message[1] === 0x4e && !(message.length === 5 && message[3] === 0x05);
}
