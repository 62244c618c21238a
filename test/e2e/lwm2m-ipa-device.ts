/**
 * A simulated device whose IPA runs the indirect profile download (SGP.32 v1.2 §3.2.3.2, ESipa relay
 * functions §5.14.1-.3, .7, .8) over LwM2M object 3443 (shared/notes/lwm2m.md §1.4): every IPA -> eIM
 * message goes into /3443/0/3 (confirmable notification to the observing server, or Send), and the eIM's
 * answer is the next Write of /3443/0/2. Built from the simulator's parts (DeviceLink for coaps:// with PSK,
 * Lwm2mClient for object 3443, the Ipa for everything but the relay, runIndirectDownload for the relay).
 *
 * SimDevice hands every /3443/0/2 write to Ipa.handleEimMessage, which knows no relay answers (BF39, BF3B,
 * BF3A, BF41), so this test adapter keeps its own inbox of eIM messages instead. Between the link and the
 * client sits a counting socket that records the Block1 transfers the server writes to /3443/0/2.
 */
import { EventEmitter } from 'node:events';
import { GetEimPackageResponse, TransferEimPackageRequest, TransferEimPackageResponse } from '../../src/asn1/esipa.js';
import { decode } from '../../src/asn1/schema.js';
import { blockSize, Code, decodeBlock, decodeMessage, getOption, Opt, readUint, uriPath } from '../../src/lwm2m/coap/message.js';
import type { EndpointOptions } from '../../src/lwm2m/coap/endpoint.js';
import type { DatagramInfo, DatagramSocket, Peer } from '../../src/lwm2m/coap/socket.js';
import { DeviceLink, type LinkSecurity } from '../../src/sim/device-link.js';
import type { VirtualEuicc } from '../../src/sim/euicc/euicc.js';
import type { Es10bTrust } from '../../src/sim/euicc/indirect-download.js';
import { Ipa } from '../../src/sim/ipa.js';
import { type IndirectDownloadOptions, type IndirectDownloadResult, runIndirectDownload } from '../../src/sim/ipa-download.js';
import { Lwm2mClient } from '../../src/sim/lwm2m-client.js';

export interface IpaDownloadDeviceOptions {
  readonly endpoint: string;
  readonly eid: string;
  readonly euicc: VirtualEuicc;
  readonly server: Peer;
  readonly security: LinkSecurity;
  readonly trust: Es10bTrust;
  readonly coap?: Omit<EndpointOptions, 'handler' | 'logger'>;
  /** How /3443/0/3 reaches the server (default 'notify', falling back to Send when not observed). */
  readonly delivery?: 'send' | 'notify';
  /** How long the IPA waits for the eIM's answer in /3443/0/2, ms (default 15 s). */
  readonly answerTimeoutMs?: number;
}

/** One Block1 transfer of a Write to /3443/0/2 as seen by the device. */
export interface Block1Transfer {
  /** Blocks received (retransmissions not counted twice). */
  blocks: number;
  /** Block size, bytes (from the SZX of the first block). */
  blockSize: number;
  /** Size1 of the first block, or the bytes received. */
  bytes: number;
  /** performance.now() at the first block and at the device's 2.04 to the last one. */
  startedAt: number;
  endedAt?: number;
}

export type PollOutcome =
  | { readonly kind: 'nothing'; readonly error: string }
  | { readonly kind: 'download'; readonly result: IndirectDownloadResult }
  | { readonly kind: 'package' }
  | { readonly kind: 'no answer' };

/** Hooks around each relay message, to make the device sleep or give up at a chosen step. */
export interface SendHooks {
  /** Before the message goes out; 'drop' = the device never sends it (it fell asleep first). */
  before?(der: Uint8Array): 'drop' | void | Promise<'drop' | void>;
  /** After the message was delivered, before waiting for the answer. */
  after?(der: Uint8Array): void | Promise<void>;
}

const TAG_HANDLE_NOTIFICATION = [0xbf, 0x3d];
const PATH_EIM = '/3443/0/2';

/** Passes datagrams both ways and records the Block1 requests to /3443/0/2 and the answers to them. */
class CountingSocket extends EventEmitter implements DatagramSocket {
  readonly transfers: Block1Transfer[] = [];
  readonly #inner: DatagramSocket;
  /** message IDs of Block1 requests to /3443/0/2 seen, to skip retransmissions */
  readonly #seen = new Set<number>();
  #lastBlockMid: number | undefined;

  constructor(inner: DatagramSocket) {
    super();
    this.#inner = inner;
    inner.on('message', (message: Buffer, rinfo: DatagramInfo) => {
      this.#inbound(message);
      this.emit('message', message, rinfo);
    });
    inner.on('error', (error: Error) => this.emit('error', error));
  }

  #inbound(datagram: Uint8Array): void {
    let m;
    try {
      m = decodeMessage(datagram);
    } catch {
      return;
    }
    if (m.code !== Code.PUT && m.code !== Code.POST) return;
    if (uriPath(m) !== PATH_EIM) return;
    const raw = getOption(m, Opt.Block1);
    const block = raw === undefined ? undefined : decodeBlock(raw);
    if (block === undefined || this.#seen.has(m.messageId)) return;
    this.#seen.add(m.messageId);
    if (block.num === 0) {
      const size1 = getOption(m, Opt.Size1);
      this.transfers.push({ blocks: 0, blockSize: blockSize(block.szx), bytes: size1 === undefined ? 0 : readUint(size1), startedAt: performance.now() });
    }
    const t = this.transfers.at(-1);
    if (t === undefined) return;
    t.blocks++;
    this.#lastBlockMid = block.more ? undefined : m.messageId;
  }

  send(message: Uint8Array, port: number, address: string, callback?: (error: Error | null) => void): void {
    if (this.#lastBlockMid !== undefined) {
      try {
        const m = decodeMessage(message);
        if (m.type === 'ACK' && m.messageId === this.#lastBlockMid) {
          const t = this.transfers.at(-1);
          if (t !== undefined && t.endedAt === undefined) t.endedAt = performance.now();
          this.#lastBlockMid = undefined;
        }
      } catch {
        // not CoAP: pass on
      }
    }
    this.#inner.send(message, port, address, callback);
  }
}

export class IpaDownloadDevice {
  readonly endpoint: string;
  readonly eid: string;
  readonly link: DeviceLink;
  readonly client: Lwm2mClient;
  readonly ipa: Ipa;
  readonly #options: IpaDownloadDeviceOptions;
  readonly #counting: CountingSocket;
  readonly #inbox: Uint8Array[] = [];
  #waiter: (() => void) | undefined;
  /** Every IPA -> eIM message put in /3443/0/3, and every eIM -> IPA message taken from /3443/0/2. */
  readonly sent: Uint8Array[] = [];
  readonly received: Uint8Array[] = [];

  private constructor(options: IpaDownloadDeviceOptions, link: DeviceLink, counting: CountingSocket, client: Lwm2mClient) {
    this.#options = options;
    this.endpoint = options.endpoint;
    this.eid = options.eid;
    this.link = link;
    this.#counting = counting;
    this.client = client;
    this.ipa = new Ipa(options.euicc, { capabilities: { ipaFeatures: ['indirectRspServerCommunication'], ipaSupportedProtocols: ['ipaRetrieveCoaps', 'ipaInjectCoaps'] } });
    client.on('eimMessage', (der: Uint8Array) => {
      this.received.push(der);
      this.#inbox.push(der);
      this.#waiter?.();
    });
  }

  static async create(options: IpaDownloadDeviceOptions): Promise<IpaDownloadDevice> {
    const link = new DeviceLink({ server: options.server, security: options.security, localAddress: '127.0.0.1' });
    const counting = new CountingSocket(link);
    const client = await Lwm2mClient.create({
      endpoint: options.endpoint, server: options.server, socket: counting, eid: options.eid, queueMode: true, lifetime: 300,
      ...(options.coap !== undefined ? { coap: options.coap } : {}),
    });
    return new IpaDownloadDevice(options, link, counting, client);
  }

  get card(): VirtualEuicc {
    return this.ipa.euicc;
  }

  /** Block1 transfers the server wrote to /3443/0/2, oldest first. */
  get block1Transfers(): readonly Block1Transfer[] {
    return this.#counting.transfers;
  }

  /** Radio on, Register, and wait (bounded) until the server observes /3443/0/3. */
  async register(): Promise<void> {
    this.link.radioOn();
    await this.client.register();
    const end = Date.now() + 3000;
    while (!this.client.observedPaths().includes('/3443/0/3') && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
  }

  /** Radio on and a Registration Update: the server sees the device awake again. */
  async wake(): Promise<void> {
    this.link.radioOn();
    await this.client.update();
  }

  /** PSM: every datagram in or out is lost until the next wake. */
  sleep(): void {
    this.link.radioOff('psm');
  }

  /** Puts one IPA -> eIM message in /3443/0/3 and delivers it. */
  async publish(der: Uint8Array): Promise<void> {
    this.link.radioOn();
    this.sent.push(der);
    const observed = this.client.observedPaths().includes('/3443/0/3');
    await this.client.putIpaMessage(der, (this.#options.delivery ?? 'notify') === 'notify' && observed ? 'notify' : 'send');
  }

  /** The next message the eIM wrote to /3443/0/2, or undefined after `ms`. */
  async next(ms = this.#options.answerTimeoutMs ?? 15_000): Promise<Uint8Array | undefined> {
    const end = Date.now() + ms;
    while (this.#inbox.length === 0) {
      const left = end - Date.now();
      if (left <= 0) return undefined;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, left);
        this.#waiter = done;
        function done(): void {
          clearTimeout(timer);
          resolve();
        }
      });
      this.#waiter = undefined;
    }
    return this.#inbox.shift();
  }

  /** One ESipa exchange over object 3443: the message out, the eIM's answer back (none for HandleNotification). */
  async exchange(der: Uint8Array, hooks: SendHooks = {}): Promise<Uint8Array | undefined> {
    if ((await hooks.before?.(der)) === 'drop') return undefined;
    await this.publish(der);
    await hooks.after?.(der);
    if (der[0] === TAG_HANDLE_NOTIFICATION[0] && der[1] === TAG_HANDLE_NOTIFICATION[1]) return undefined;
    return this.next();
  }

  /**
   * Retrieval (SGP.32 §3.1.1.2): a GetEimPackageRequest over 3443; a ProfileDownloadTriggerRequest is run as
   * an indirect download through the eIM; any other package goes to the Ipa, its result is delivered and
   * the acknowledgement applied.
   */
  async poll(options: { hooks?: SendHooks; download?: Partial<IndirectDownloadOptions> } = {}): Promise<PollOutcome> {
    const answer = await this.exchange(this.ipa.pollRequest());
    if (answer === undefined) return { kind: 'no answer' };
    const pkg = decode(GetEimPackageResponse, answer);
    if ('eimPackageError' in pkg) return { kind: 'nothing', error: String(pkg.eimPackageError) };
    if ('profileDownloadTriggerRequest' in pkg) {
      const result = await runIndirectDownload(pkg.profileDownloadTriggerRequest, {
        euicc: this.card, trust: this.#options.trust,
        send: (der) => this.exchange(der, options.hooks),
        ...options.download,
      });
      return { kind: 'download', result };
    }
    const result = this.ipa.handleEimMessage(answer);
    if (result !== undefined) {
      const ack = await this.exchange(result);
      if (ack !== undefined) this.ipa.handleEimMessage(ack);
    }
    return { kind: 'package' };
  }

  /**
   * Injection (SGP.32 §3.1.1.1): takes the next eIM write, which must be a TransferEimPackageRequest; a
   * ProfileDownloadTriggerRequest is acknowledged with eimPackageReceived and run as an indirect download.
   */
  async takeInjected(options: { hooks?: SendHooks; download?: Partial<IndirectDownloadOptions> } = {}): Promise<PollOutcome> {
    const der = await this.next();
    if (der === undefined) return { kind: 'no answer' };
    const req = decode(TransferEimPackageRequest, der);
    if (!('profileDownloadTriggerRequest' in req)) {
      const answer = this.ipa.handleEimMessage(der);
      if (answer !== undefined) await this.publish(answer);
      return { kind: 'package' };
    }
    await this.publish(TransferEimPackageResponse.encode({ eimPackageReceived: true }));
    const result = await runIndirectDownload(req.profileDownloadTriggerRequest, {
      euicc: this.card, trust: this.#options.trust,
      send: (m) => this.exchange(m, options.hooks),
      ...options.download,
    });
    return { kind: 'download', result };
  }

  async stop(): Promise<void> {
    this.#waiter?.();
    await this.client.close();
    this.link.shutdown();
  }
}
