/**
 * Bridge between LwM2M object 3443 "eSIM IoT" and the transport-free ESipa layer (SGP.32 §6.3 ASN.1
 * binding carried in 3443/0/2 and 3443/0/3; shared/notes/lwm2m.md §1.4), plus the standard SGP.32 CoAP
 * binding POST /gsma/rsp2/asn1 on the same CoAP server.
 *
 * After each Register it reads /3443/0/1 (EID) and binds endpoint <-> EID, then observes /3443/0/0 (State)
 * and /3443/0/3 (IPA message). IPA -> eIM: whatever arrives in /3443/0/3 (Send, notification, or the
 * value read at observe time) goes to EsipaPort.handleIpaMessage; a value obtained by reading or by a
 * non-confirmable notification is then cleared with Execute /3443/0/4 (Send and CON notifications confirm
 * delivery themselves). eIM -> IPA: answers and injected messages wait in a per-EID outbox until the device
 * is awake and State is 0, then go as a Write of /3443/0/2 (opaque, Content-Format 42), one at a time.
 * Correlation of requests and answers is the ESipa layer's job (ASN.1 content), not CoAP tokens.
 *
 * Events: 'bound' (endpoint, eid), 'eidMismatch' (endpoint, reported, expected), 'delivered' (eid, message),
 * 'deliveryFailed' (eid, message, reason); it also repeats the server's 'registered', 'updated',
 * 'deregistered', 'awake' and 'sleeping' so the scheduler can listen to one object.
 */
import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import { pino } from 'pino';
import { hexPreview } from '../asn1/hex.js';
import { systemClock } from '../scheduler/clock.js';
import type { CancelTimer, Clock } from '../scheduler/ports.js';
import { Code } from './coap/message.js';
import { ContentFormat } from './content/formats.js';
import type { Lwm2mNode } from './content/values.js';
import { objectLinks, type Registration } from './registration.js';
import type { NotificationEvent, SendEvent } from './requests.js';
import type { Lwm2mServer } from './server.js';

/** The ESipa layer as seen from a transport (implemented in src/esipa). */
export interface EsipaPort {
  /**
   * Handles one DER message from the IPA for the eUICC `eid` ('' when the transport does not know the EID,
   * as on POST /gsma/rsp2/asn1: the ESipa layer reads it from the message). Returns the eIM -> IPA answer
   * to deliver, or undefined when there is none.
   */
  handleIpaMessage(eid: string, message: Uint8Array): Promise<Uint8Array | undefined>;
}

export type DeliveryOutcome = { readonly delivered: true } | { readonly delivered: false; readonly reason: string };

export interface EsimBridgeOptions {
  readonly server: Lwm2mServer;
  readonly esipa: EsipaPort;
  readonly logger?: Logger;
  /** The EID the registry expects for an endpoint; undefined when it has no opinion. */
  readonly expectedEid?: (endpoint: string) => string | undefined;
  /** Error answers (4.xx/5.xx other than "not ready") before a message is given up (default 3). */
  readonly maxAttempts?: number;
  /**
   * Time for the freshness of reported State and the re-read sweep (default: the scheduler's systemClock);
   * tests pass a ManualClock to move it.
   */
  readonly clock?: Clock;
}

interface Outgoing {
  readonly message: Uint8Array;
  readonly done: (outcome: DeliveryOutcome) => void;
  attempts: number;
}

interface Device {
  endpoint: string | undefined;
  /** Last known /3443/0/0; undefined = unknown, read before writing. */
  state: number | undefined;
  /** When a notification or Send last reported State (Clock ms); 0 = never. */
  stateReportedAt: number;
  /** NO_OUTGOING (shared, frozen) while empty: an idle device holds no array of its own (issue 5). */
  outbox: Outgoing[];
  sending: boolean;
  /** The message being written now, if any. */
  inFlight: Outgoing | undefined;
  /** NO_INBOX (shared, frozen) while empty. */
  inbox: Uint8Array[];
  handling: boolean;
}

const PATH_STATE = '/3443/0/0';
const PATH_EID = '/3443/0/1';
const PATH_EIM_MESSAGE = '/3443/0/2';
const PATH_IPA_MESSAGE = '/3443/0/3';
const PATH_CLEAR = '/3443/0/4';
const EID_PATTERN = /^[0-9]{32}$/;
/** Bounds on IPA messages held while an endpoint's EID is being read. */
const MAX_EARLY_PER_ENDPOINT = 4;
const MAX_EARLY_ENDPOINTS = 10_000;
/** The empty outbox and inbox of every idle device; frozen, so a push that skipped replacing them throws. */
const NO_OUTGOING = Object.freeze([]) as unknown as Outgoing[];
const NO_INBOX = Object.freeze([]) as unknown as Uint8Array[];
/** A State the device reported (notification, Send) younger than this is trusted without a Read. */
const FRESH_STATE_MS = 2000;

export class EsimBridge extends EventEmitter {
  readonly #server: Lwm2mServer;
  readonly #esipa: EsipaPort;
  readonly #log: Logger;
  readonly #expectedEid: (endpoint: string) => string | undefined;
  readonly #maxAttempts: number;
  readonly #devices = new Map<string, Device>();
  readonly #eidByEndpoint = new Map<string, string>();
  /**
   * IPA messages that arrived before the endpoint's EID was read (a device may Send right after Register):
   * kept, bounded, and handed on once bound, instead of being lost.
   */
  readonly #early = new Map<string, { message: Uint8Array; clearAfter: boolean }[]>();
  /**
   * EIDs whose write waits for a "ready" State notification: if none comes (a lost non-confirmable
   * notification), one sweep for all of them re-reads State once the report is stale.
   */
  readonly #awaitingReady = new Set<string>();
  #readySweep: CancelTimer | undefined;
  readonly #clock: Clock;
  #closed = false;
  readonly #listeners: [string, Parameters<EventEmitter['on']>[1]][] = [];

  constructor(options: EsimBridgeOptions) {
    super();
    this.#server = options.server;
    this.#esipa = options.esipa;
    this.#log = (options.logger ?? pino({ level: 'silent' })).child({ component: 'esim-bridge' });
    this.#expectedEid = options.expectedEid ?? (() => undefined);
    this.#maxAttempts = options.maxAttempts ?? 3;
    this.#clock = options.clock ?? systemClock;
    const on = <A extends unknown[]>(event: string, listener: (...args: A) => void): void => {
      this.#server.on(event, listener);
      this.#listeners.push([event, listener as Parameters<EventEmitter['on']>[1]]);
    };
    on('registered', (r: Registration) => {
      this.emit('registered', r);
      void this.#setup(r);
    });
    on('updated', (r: Registration, previous: Registration) => this.emit('updated', r, previous));
    on('deregistered', (r: Registration, reason: string) => {
      if (reason !== 'replaced') this.#unbind(r.endpoint);
      this.emit('deregistered', r, reason);
    });
    on('awake', (endpoint: string) => {
      this.emit('awake', endpoint);
      const eid = this.#eidByEndpoint.get(endpoint);
      if (eid !== undefined) this.#kick(eid);
    });
    on('sleeping', (endpoint: string) => this.emit('sleeping', endpoint));
    on('notification', (n: NotificationEvent) => this.#onNotification(n));
    on('send', (s: SendEvent) => this.#onSend(s));
    this.#server.route(Code.POST, '/gsma/rsp2/asn1', async (request) => {
      const body = request.message.payload;
      if (body.length === 0) return { code: Code.BadRequest };
      const eid = request.registration ? this.#eidByEndpoint.get(request.registration.endpoint) ?? '' : '';
      const answer = await this.#esipa.handleIpaMessage(eid, body);
      return { code: Code.Changed, payload: answer ?? new Uint8Array(0) };
    });
  }

  eidOf(endpoint: string): string | undefined {
    return this.#eidByEndpoint.get(endpoint);
  }

  endpointOf(eid: string): string | undefined {
    return this.#devices.get(eid)?.endpoint;
  }

  /** Messages waiting for the device with this EID (not counting one being written). */
  pending(eid: string): number {
    const d = this.#devices.get(eid);
    return d === undefined ? 0 : d.outbox.filter((o) => o !== d.inFlight).length;
  }

  /**
   * Queues an eIM -> IPA message (e.g. TransferEimPackageRequest) for the eUICC `eid`. It is written to
   * /3443/0/2 when the device is registered, awake and ready; resolves when the device answered the Write
   * (2.04) or when it is given up. Never rejects.
   */
  deliver(eid: string, message: Uint8Array): Promise<DeliveryOutcome> {
    if (!EID_PATTERN.test(eid)) return Promise.resolve({ delivered: false, reason: 'eid must be 32 decimal digits' });
    if (!(message instanceof Uint8Array) || message.length === 0) return Promise.resolve({ delivered: false, reason: 'message must be non-empty bytes' });
    return new Promise<DeliveryOutcome>((resolve) => {
      const d = this.#device(eid);
      if (d.outbox === NO_OUTGOING) d.outbox = [];
      d.outbox.push({ message: Uint8Array.from(message), done: resolve, attempts: 0 });
      this.#kick(eid);
    });
  }

  close(): void {
    this.#closed = true;
    this.#readySweep?.();
    this.#readySweep = undefined;
    this.#awaitingReady.clear();
    for (const [event, listener] of this.#listeners) this.#server.removeListener(event, listener);
    this.#listeners.length = 0;
  }

  #device(eid: string): Device {
    let d = this.#devices.get(eid);
    if (d === undefined) {
      d = { endpoint: undefined, state: undefined, stateReportedAt: 0, outbox: NO_OUTGOING, sending: false, inFlight: undefined, inbox: NO_INBOX, handling: false };
      this.#devices.set(eid, d);
    }
    return d;
  }

  #unbind(endpoint: string): void {
    this.#early.delete(endpoint);
    const eid = this.#eidByEndpoint.get(endpoint);
    if (eid === undefined) return;
    this.#eidByEndpoint.delete(endpoint);
    const d = this.#devices.get(eid);
    if (d !== undefined && d.endpoint === endpoint) {
      d.endpoint = undefined;
      d.state = undefined;
    }
  }

  async #setup(registration: Registration): Promise<void> {
    const endpoint = registration.endpoint;
    if (!objectLinks(registration).objectVersions.has(3443)) return;
    const log = this.#log.child({ endpoint });
    try {
      const read = await this.#server.send(endpoint, { kind: 'read', path: PATH_EID });
      const value = read.nodes.find((n) => n.path === PATH_EID)?.value;
      if (!read.success || typeof value !== 'string' || !EID_PATTERN.test(value)) {
        log.warn({ code: read.code }, 'could not read a valid EID from /3443/0/1');
        return;
      }
      const expected = this.#expectedEid(endpoint);
      if (expected !== undefined && expected !== value) {
        log.error({ eid: value, expectedEid: expected }, 'EID reported by the device does not match the registry; not bound');
        this.emit('eidMismatch', endpoint, value, expected);
        return;
      }
      if (this.#server.registrations.getByEndpoint(endpoint)?.id !== registration.id) return; // replaced meanwhile
      const previousEid = this.#eidByEndpoint.get(endpoint);
      if (previousEid !== undefined && previousEid !== value) this.#unbind(endpoint);
      const device = this.#device(value);
      if (device.endpoint !== undefined && device.endpoint !== endpoint) {
        log.warn({ eid: value, previousEndpoint: device.endpoint }, 'EID moved to another endpoint');
        this.#eidByEndpoint.delete(device.endpoint);
      }
      device.endpoint = endpoint;
      device.state = undefined;
      this.#eidByEndpoint.set(endpoint, value);
      log.info({ eid: value }, 'endpoint bound to EID');
      this.emit('bound', endpoint, value);
      const early = this.#early.get(endpoint) ?? [];
      this.#early.delete(endpoint);
      for (const e of early) this.#inbound(endpoint, e.message, e.clearAfter);

      const state = await this.#server.send(endpoint, { kind: 'observe', path: PATH_STATE });
      this.#takeState(device, state.nodes);
      if (Number(registration.lwm2mVersion.split('.')[1] ?? 0) >= 2) {
        // LwM2M 1.2 lets the server ask for confirmable notifications (con=1); a refusal is not fatal.
        const attributes = { pmin: undefined, pmax: undefined, gt: undefined, lt: undefined, st: undefined, epmin: undefined, epmax: undefined, con: 1 };
        const answer = await this.#server.send(endpoint, { kind: 'write-attributes', path: PATH_IPA_MESSAGE, attributes });
        if (!answer.success) log.info({ code: answer.code }, 'device refused con=1 on /3443/0/3');
      }
      const ipa = await this.#server.send(endpoint, { kind: 'observe', path: PATH_IPA_MESSAGE, format: ContentFormat.OPAQUE });
      if (ipa.success && ipa.payload.length > 0) this.#inbound(endpoint, ipa.payload, true);
      this.#kick(value);
    } catch (error) {
      log.warn({ reason: (error as Error).message }, 'object 3443 setup did not complete');
    }
  }

  #takeState(device: Device, nodes: readonly Lwm2mNode[]): void {
    const v = nodes.find((n) => n.path === PATH_STATE)?.value;
    if (typeof v === 'number') device.state = v;
  }

  /** State the device reported itself (a notification or a Send): trusted while fresh, and it may unblock a write. */
  #stateReported(eid: string, nodes: readonly Lwm2mNode[]): void {
    const device = this.#device(eid);
    this.#takeState(device, nodes);
    device.stateReportedAt = this.#clock.now();
    this.#kick(eid);
  }

  #onNotification(n: NotificationEvent): void {
    const eid = this.#eidByEndpoint.get(n.endpoint);
    if (eid === undefined) return;
    if (n.path === PATH_STATE) {
      this.#stateReported(eid, n.nodes);
    } else if (n.path === PATH_IPA_MESSAGE && n.payload.length > 0) {
      const value = n.nodes.find((x) => x.path === PATH_IPA_MESSAGE)?.value;
      const message = value instanceof Uint8Array ? value : n.payload;
      if (message.length > 0) this.#inbound(n.endpoint, message, !n.confirmable);
    }
  }

  #onSend(s: SendEvent): void {
    const eid = this.#eidByEndpoint.get(s.endpoint);
    for (const node of s.nodes) {
      if (node.path === PATH_IPA_MESSAGE && node.value instanceof Uint8Array && node.value.length > 0) this.#inbound(s.endpoint, node.value, false);
      else if (node.path === PATH_STATE && eid !== undefined) {
        this.#stateReported(eid, [node]);
      }
    }
  }

  /** Serialises IPA -> eIM messages per device: one handleIpaMessage call in flight. */
  #inbound(endpoint: string, message: Uint8Array, clearAfter: boolean): void {
    const eid = this.#eidByEndpoint.get(endpoint);
    if (eid === undefined) {
      const early = this.#early.get(endpoint) ?? [];
      if (this.#server.registrations.getByEndpoint(endpoint) === undefined || early.length >= MAX_EARLY_PER_ENDPOINT || this.#early.size >= MAX_EARLY_ENDPOINTS) {
        this.#log.warn({ endpoint, message: hexPreview(message, 16) }, 'IPA message from an endpoint with no bound EID dropped');
        return;
      }
      early.push({ message: Uint8Array.from(message), clearAfter });
      this.#early.set(endpoint, early);
      return;
    }
    if (clearAfter) void this.#server.send(endpoint, { kind: 'execute', path: PATH_CLEAR }).catch((error: Error) => this.#log.warn({ endpoint, reason: error.message }, 'could not clear /3443/0/3'));
    const device = this.#device(eid);
    if (device.inbox === NO_INBOX) device.inbox = [];
    device.inbox.push(message);
    if (!device.handling) void this.#drainInbox(eid, device);
  }

  async #drainInbox(eid: string, device: Device): Promise<void> {
    device.handling = true;
    try {
      while (device.inbox.length > 0) {
        const message = device.inbox.shift()!;
        let answer: Uint8Array | undefined;
        try {
          answer = await this.#esipa.handleIpaMessage(eid, message);
        } catch (error) {
          this.#log.error({ eid, reason: (error as Error).message }, 'ESipa layer failed on an IPA message');
          continue;
        }
        if (answer !== undefined && answer.length > 0) {
          // An answer to an IPA request goes ahead of queued injections that have not started.
          const position = device.sending ? 1 : 0;
          const outgoing: Outgoing = {
            message: Uint8Array.from(answer),
            done: (outcome) => { if (!outcome.delivered) this.#log.warn({ eid, reason: outcome.reason }, 'answer to the IPA not delivered'); },
            attempts: 0,
          };
          if (device.outbox === NO_OUTGOING) device.outbox = [];
          device.outbox.splice(Math.min(position, device.outbox.length), 0, outgoing);
          this.#kick(eid);
        }
      }
    } finally {
      device.handling = false;
      if (device.inbox.length === 0) device.inbox = NO_INBOX;
    }
  }

  /** Writes the head of the outbox if the device is bound, awake and ready. */
  #kick(eid: string): void {
    const device = this.#devices.get(eid);
    if (this.#closed || device === undefined || device.sending || device.outbox.length === 0 || device.endpoint === undefined) return;
    const endpoint = device.endpoint;
    if (!this.#server.presence.isAwake(endpoint) && this.#server.registrations.getByEndpoint(endpoint)?.queueMode !== false) return;
    device.sending = true;
    void this.#write(eid, device, endpoint).then((progressed) => {
      device.sending = false;
      // Only move on after progress; a failed write waits for the next 'awake', State change or Register.
      if (progressed && !this.#closed) this.#kick(eid);
    });
  }

  #awaitReady(eid: string): void {
    this.#awaitingReady.add(eid);
    if (this.#readySweep === undefined) this.#armReadySweep();
  }

  /** One sweep every FRESH_STATE_MS / 2 while some EID waits (a Clock timer, so a ManualClock drives it). */
  #armReadySweep(): void {
    this.#readySweep = this.#clock.setTimer(this.#clock.now() + FRESH_STATE_MS / 2, () => {
      this.#readySweep = undefined;
      if (this.#closed) return;
      const now = this.#clock.now();
      for (const waiting of this.#awaitingReady) {
        const d = this.#devices.get(waiting);
        if (d !== undefined && d.state === 0) this.#awaitingReady.delete(waiting); // the notification came
        else if (d === undefined || now - d.stateReportedAt >= FRESH_STATE_MS) {
          this.#awaitingReady.delete(waiting);
          this.#kick(waiting); // stale: the next write reads State
        }
      }
      if (this.#awaitingReady.size > 0 && this.#readySweep === undefined) this.#armReadySweep();
    });
  }

  /** Resolves true when the head of the outbox was settled (delivered or given up). */
  async #write(eid: string, device: Device, endpoint: string): Promise<boolean> {
    const head = device.outbox[0]!;
    device.inFlight = head;
    try {
      if (device.state !== 0) {
        // "Busy", reported by the device itself moments ago: its return to 0 comes as a notification (which
        // kicks the outbox again), so a Read now would only cost a round trip and return the same 1.
        if (device.state !== undefined && this.#clock.now() - device.stateReportedAt < FRESH_STATE_MS) {
          this.#awaitReady(eid);
          return false;
        }
        const read = await this.#server.send(endpoint, { kind: 'read', path: PATH_STATE });
        this.#takeState(device, read.nodes);
        if (device.state !== 0) return false; // wait for a State notification or the next awake window
      }
      const response = await this.#server.send(endpoint, { kind: 'write', path: PATH_EIM_MESSAGE, value: head.message, format: ContentFormat.OPAQUE });
      if (response.success) {
        device.outbox.shift();
        this.emit('delivered', eid, head.message);
        head.done({ delivered: true });
        return true;
      }
      if (response.code === '4.05') {
        device.state = 1; // the IPA says it cannot take a message now
        return false;
      }
      head.attempts++;
      if (head.attempts >= this.#maxAttempts) {
        device.outbox.shift();
        const reason = `device answered ${response.code} ${head.attempts} times`;
        this.#log.warn({ eid, endpoint, reason }, 'eIM message given up');
        this.emit('deliveryFailed', eid, head.message, reason);
        head.done({ delivered: false, reason });
        return true;
      }
      return false;
    } catch (error) {
      // Deregistered or undecodable: the message stays queued for the device's next registration.
      this.#log.warn({ eid, endpoint, reason: (error as Error).message }, 'eIM message write interrupted; kept queued');
      return false;
    } finally {
      device.inFlight = undefined;
      if (device.outbox.length === 0) device.outbox = NO_OUTGOING;
    }
  }
}
