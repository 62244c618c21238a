/**
 * LwM2M server over one CoAP endpoint (OMA LwM2M 1.1.1 Core §6.2 Registration, §6.3 Device Management,
 * §6.4 Information Reporting incl. Send; Transport §6.5 queue mode). The socket is a parameter: a plain
 * node:dgram socket for coap://, or the DTLS socket for coaps://, where `authorize(endpoint, rinfo.dtls)`
 * binds the endpoint name to the authenticated identity so one device cannot register as another.
 *
 * Events (emitted after the uplink has been answered): 'registered' (Registration), 'updated'
 * (Registration, previous), 'deregistered' (Registration, reason: 'deregistered' | 'expired' | 'replaced'),
 * 'awake' (endpoint), 'sleeping' (endpoint), 'notification' (NotificationEvent), 'send' (SendEvent).
 */
import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import { pino } from 'pino';
import { systemClock } from '../scheduler/clock.js';
import type { TimeSource } from '../scheduler/ports.js';
import { CoapEndpoint, type CoapResponse, type EndpointOptions, type InboundRequest, type Notification, type OutboundRequest, type OutboundResponse } from './coap/endpoint.js';
import { Code, codeString, getUintOption, isSuccess, Opt, uintOption, type CoapOption } from './coap/message.js';
import { peerKey, type DatagramSocket, type DtlsPeerInfo, type Peer } from './coap/socket.js';
import { ContentFormat, decodeContent, encodeContent, UnsupportedContentFormatError } from './content/formats.js';
import { parseLinkFormat } from './content/link-format.js';
import { parsePath, type Lwm2mNode, type Lwm2mPath } from './content/values.js';
import { DownlinkQueue } from './downlink-queue.js';
import { Lwm2mError, RequestCancelledError } from './errors.js';
import { loadObjectRegistry, type ObjectRegistry } from './objects.js';
import { DEFAULT_AWAKE_TIME_MS, Presence, type PresenceView } from './presence.js';
import {
  checkObjectLinks, objectLinks, parseRegisterQuery, parseUpdateQuery, peerId, peerOf, type Registration,
} from './registration.js';
import { MemoryRegistrationStore, type RegistrationStore } from './registration-store.js';
import type { DownlinkRequest, NotificationEvent, ReadResponse, ResponseOf, SendEvent } from './requests.js';

export type Authorize = (endpoint: string, dtls: DtlsPeerInfo | undefined) => boolean;

export interface RouteRequest extends InboundRequest {
  /** The registration of the peer that sent it, if any. */
  readonly registration: Registration | undefined;
}

export type RouteHandler = (request: RouteRequest) => OutboundResponse | Promise<OutboundResponse>;

export interface Lwm2mServerOptions {
  readonly socket: DatagramSocket;
  readonly logger?: Logger;
  /** Time for lifetimes, awake windows and transfer expiry (default: the scheduler's systemClock). */
  readonly clock?: TimeSource;
  readonly objects?: ObjectRegistry;
  readonly registrationStore?: RegistrationStore;
  /** Synchronous check at Register: may this DTLS identity (undefined over plain CoAP) use this endpoint name? */
  readonly authorize?: Authorize;
  /** Awake window after each uplink, ms (default 93 s), or a per-device function. */
  readonly awakeTimeMs?: number | ((endpoint: string) => number);
  /** Extra time after lifetime before an un-updated registration is removed (default 30 s). */
  readonly lifetimeGraceMs?: number;
  /** Deadline for one downlink exchange including retransmissions and blocks (default 93 s). */
  readonly requestTimeoutMs?: number;
  /** CoAP layer settings (ACK timeout, retransmissions, block sizes, Block1 limits). */
  readonly coap?: Omit<EndpointOptions, 'handler' | 'logger' | 'clock'>;
}

export interface SendOptions {
  /** Give up if the request could not be sent by this long from now (default: wait forever). */
  readonly queueTimeoutMs?: number;
  readonly timeoutMs?: number;
}

type DeregistrationReason = 'deregistered' | 'expired' | 'replaced';

/** Distinct observe requests kept for sharing between observations (paths are few in practice). */
const MAX_SHARED_OBSERVE_REQUESTS = 256;

export class Lwm2mServer extends EventEmitter {
  readonly objects: ObjectRegistry;
  readonly #log: Logger;
  readonly #clock: TimeSource;
  readonly #store: RegistrationStore;
  readonly #presence: Presence;
  readonly #queue: DownlinkQueue;
  readonly #endpoint: CoapEndpoint;
  readonly #authorize: Authorize;
  readonly #graceMs: number;
  readonly #requestTimeoutMs: number;
  /** peer (`peerId`) -> endpoint name, for uplinks that are not /rd (Send, notifications, responses). */
  readonly #peers = new Map<number | string, string>();
  /** DTLS identity -> endpoint name. */
  readonly #identities = new Map<string, string>();
  /** observation token -> endpoint and path. */
  readonly #observations = new Map<string, { endpoint: string; path: string }>();
  readonly #routes = new Map<string, RouteHandler>();
  readonly #observeRequests = new Map<string, OutboundRequest>();
  readonly #expiryTimer: NodeJS.Timeout;

  constructor(options: Lwm2mServerOptions) {
    super();
    this.#log = (options.logger ?? pino({ level: 'silent' })).child({ component: 'lwm2m' });
    this.#clock = options.clock ?? systemClock;
    this.objects = options.objects ?? loadObjectRegistry();
    this.#store = options.registrationStore ?? new MemoryRegistrationStore();
    this.#authorize = options.authorize ?? (() => true);
    this.#graceMs = options.lifetimeGraceMs ?? 30_000;
    this.#requestTimeoutMs = options.requestTimeoutMs ?? 93_000;
    const awake = options.awakeTimeMs ?? DEFAULT_AWAKE_TIME_MS;
    this.#presence = new Presence(this.#clock, typeof awake === 'number' ? () => awake : awake);
    this.#presence.on('awake', (endpoint: string) => {
      this.emit('awake', endpoint);
      setImmediate(() => this.#queue.kick(endpoint));
    });
    this.#presence.on('sleeping', (endpoint: string) => this.emit('sleeping', endpoint));
    this.#queue = new DownlinkQueue({
      isReady: (endpoint) => {
        const r = this.#store.getByEndpoint(endpoint);
        return r !== undefined && (!r.queueMode || this.#presence.isAwake(endpoint));
      },
      onTimeout: (endpoint) => {
        const r = this.#store.getByEndpoint(endpoint);
        if (r === undefined || !r.queueMode) return false;
        this.#presence.sleep(endpoint);
        return true;
      },
      now: () => this.#clock.now(),
    });
    this.#endpoint = new CoapEndpoint(options.socket, {
      ...options.coap,
      exchangeTimeoutMs: options.coap?.exchangeTimeoutMs ?? this.#requestTimeoutMs,
      handler: (request) => this.#handle(request),
      logger: options.logger ?? pino({ level: 'silent' }),
      clock: this.#clock,
    });
    this.#endpoint.on('traffic', (peer: Peer, dtls: DtlsPeerInfo | undefined) => {
      const registration = this.#resolvePeer(peer, dtls);
      if (registration !== undefined) this.#presence.uplink(registration.endpoint);
    });
    this.#expiryTimer = setInterval(() => this.tick(), 1000);
    this.#expiryTimer.unref();
  }

  /** Reachability of devices, for the scheduler and the API. */
  get presence(): PresenceView {
    return this.#presence;
  }

  get registrations(): Pick<RegistrationStore, 'get' | 'getByEndpoint' | 'all' | 'size'> {
    return this.#store;
  }

  /** Requests waiting for a device. */
  pendingRequests(endpoint: string): number {
    return this.#queue.pending(endpoint);
  }

  /** Adds a handler for another uplink resource (e.g. POST /gsma/rsp2/asn1) on the same CoAP server. */
  route(method: number, path: string, handler: RouteHandler): void {
    this.#routes.set(`${method} ${path}`, handler);
  }

  /**
   * Sends a downlink request, queued until the device is awake (queue mode) and after the requests before
   * it. Resolves with the device's answer (error codes included, as data); rejects when the device
   * deregisters, the queue timeout passes, or the answer cannot be decoded. A timeout keeps a queue-mode
   * request queued for the next awake window.
   */
  send<R extends DownlinkRequest>(endpoint: string, request: R, options: SendOptions = {}): Promise<ResponseOf<R>> {
    if (this.#store.getByEndpoint(endpoint) === undefined) return Promise.reject(new Lwm2mError(`no registration for endpoint ${endpoint}`));
    let path: Lwm2mPath;
    try {
      path = parsePath(request.path);
    } catch (error) {
      return Promise.reject(error as Error);
    }
    const deadline = options.queueTimeoutMs === undefined ? undefined : this.#clock.now() + options.queueTimeoutMs;
    return this.#queue.enqueue(endpoint, () => this.#perform(endpoint, request, path, options.timeoutMs), deadline) as Promise<ResponseOf<R>>;
  }

  /** Runs expiry and presence bookkeeping now (the server also does this every second). */
  tick(): void {
    for (const registration of this.#store.removeExpired(this.#clock.now(), this.#graceMs)) {
      this.#log.info({ endpoint: registration.endpoint }, 'registration expired');
      this.#cleanup(registration, 'expired');
    }
    this.#presence.tick();
    this.#endpoint.sweep();
  }

  close(): void {
    clearInterval(this.#expiryTimer);
    this.#presence.close();
    this.#endpoint.close();
    this.#queue.dropAll(new RequestCancelledError('server closed'));
  }

  // ------------------------------------------------------------------ uplink

  async #handle(request: InboundRequest): Promise<OutboundResponse> {
    const { message, path } = request;
    try {
      if (path === '/rd' && message.code === Code.POST) return this.#register(request);
      if (path.startsWith('/rd/')) {
        const id = path.slice(4);
        if (message.code === Code.POST) return this.#update(request, id);
        if (message.code === Code.DELETE) return this.#deregister(request, id);
        return { code: Code.MethodNotAllowed };
      }
      if (path === '/dp' && message.code === Code.POST) return this.#send(request);
      const route = this.#routes.get(`${message.code} ${path}`);
      if (route) return await route({ ...request, registration: this.#registrationOfPeer(request) });
      return { code: Code.NotFound };
    } catch (error) {
      const reason = (error as Error).message;
      this.#log.warn({ peer: peerKey(request.peer), path, reason }, 'rejected uplink');
      if (error instanceof UnsupportedContentFormatError) return { code: Code.UnsupportedContentFormat };
      return { code: Code.BadRequest, payload: Buffer.from(reason.slice(0, 120)) };
    }
  }

  #registrationOfPeer(request: InboundRequest): Registration | undefined {
    return this.#resolvePeer(request.peer, request.dtls);
  }

  /**
   * The registration a datagram belongs to: by source address, or, over DTLS, by the authenticated
   * identity, in which case the registration follows the device to its new address (NAT rebinding
   * without an Update; Leshan #580/#1350 lessons in shared/notes/lwm2m.md §3.4).
   */
  #resolvePeer(peer: Peer, dtls: DtlsPeerInfo | undefined): Registration | undefined {
    const byAddress = this.#peers.get(peerId(peer));
    if (byAddress !== undefined) return this.#store.getByEndpoint(byAddress);
    const identity = this.#identity(dtls);
    if (identity === undefined) return undefined;
    const endpoint = this.#identities.get(identity);
    const registration = endpoint === undefined ? undefined : this.#store.getByEndpoint(endpoint);
    if (registration === undefined || registration.identity !== identity) return undefined;
    const moved: Registration = { ...registration, address: peer.address, port: peer.port, peer: { address: peer.address, port: peer.port } };
    this.#store.update(moved);
    this.#peers.delete(peerId(peerOf(registration)));
    this.#peers.set(peerId(peer), moved.endpoint);
    this.#log.info({ endpoint: moved.endpoint, peer: peerKey(peer) }, 'device moved to a new address');
    return moved;
  }

  #identity(dtls: DtlsPeerInfo | undefined): string | undefined {
    const id = dtls?.pskIdentity;
    if (id === undefined) return undefined;
    return typeof id === 'string' ? id : Buffer.from(id).toString('utf8');
  }

  #register(request: InboundRequest): OutboundResponse {
    const params = parseRegisterQuery(request.query);
    const format = getUintOption(request.message, Opt.ContentFormat);
    if (format !== undefined && format !== ContentFormat.LINK_FORMAT) return { code: Code.UnsupportedContentFormat };
    const links = checkObjectLinks(request.message.payload);
    if (!this.#authorize(params.endpoint, request.dtls)) {
      this.#log.warn({ endpoint: params.endpoint, peer: peerKey(request.peer) }, 'registration refused: identity does not match endpoint');
      return { code: Code.Forbidden };
    }
    const now = this.#clock.now();
    const registration: Registration = {
      id: randomBytes(6).toString('base64url'),
      endpoint: params.endpoint,
      lifetime: params.lifetime,
      lwm2mVersion: params.lwm2mVersion,
      binding: params.binding,
      queueMode: params.queueMode,
      links,
      address: request.peer.address,
      port: request.peer.port,
      peer: { address: request.peer.address, port: request.peer.port },
      identity: this.#identity(request.dtls),
      registeredAt: now,
      lastUpdate: now,
    };
    const replaced = this.#store.add(registration);
    if (replaced) this.#cleanup(replaced, 'replaced');
    this.#peers.set(peerId(request.peer), registration.endpoint);
    if (registration.identity !== undefined) this.#identities.set(registration.identity, registration.endpoint);
    this.#presence.uplink(registration.endpoint);
    this.#presence.expectUplink(registration.endpoint, registration.lifetime);
    this.#log.info({ endpoint: registration.endpoint, lwm2mVersion: registration.lwm2mVersion, queueMode: registration.queueMode }, 'registered');
    setImmediate(() => {
      this.emit('registered', registration);
      this.#queue.kick(registration.endpoint);
    });
    return { code: Code.Created, options: [{ number: Opt.LocationPath, value: Buffer.from('rd') }, { number: Opt.LocationPath, value: Buffer.from(registration.id) }] };
  }

  /** The uplink must come from the identity bound at Register (DTLS), or carry the registration id (NoSec). */
  #sameIdentity(registration: Registration, request: InboundRequest): boolean {
    return registration.identity === this.#identity(request.dtls);
  }

  #update(request: InboundRequest, id: string): OutboundResponse {
    const previous = this.#store.get(id);
    if (previous === undefined) return { code: Code.NotFound };
    if (!this.#sameIdentity(previous, request)) return { code: Code.Forbidden };
    const params = parseUpdateQuery(request.query);
    const links = request.message.payload.length > 0 ? checkObjectLinks(request.message.payload) : previous.links;
    const registration: Registration = {
      ...previous,
      lifetime: params.lifetime ?? previous.lifetime,
      binding: params.binding ?? previous.binding,
      // 1.0 carries queue mode in the binding (b=UQ), so a new b decides; from 1.1 it is fixed at Register.
      queueMode: previous.lwm2mVersion === '1.0' && params.binding !== undefined ? params.queueMode === true : params.queueMode ?? previous.queueMode,
      links,
      address: request.peer.address,
      port: request.peer.port,
      // Unchanged address: keep the peer object the device's observations already point at.
      peer: previous.address === request.peer.address && previous.port === request.peer.port ? peerOf(previous) : { address: request.peer.address, port: request.peer.port },
      lastUpdate: this.#clock.now(),
    };
    this.#store.update(registration);
    // The device may have a new address (Core §6.2.2); later uplinks and downlinks use it.
    if (peerId(peerOf(previous)) !== peerId(request.peer)) this.#peers.delete(peerId(peerOf(previous)));
    this.#peers.set(peerId(request.peer), registration.endpoint);
    this.#presence.uplink(registration.endpoint);
    this.#presence.expectUplink(registration.endpoint, registration.lifetime);
    setImmediate(() => {
      this.emit('updated', registration, previous);
      this.#queue.kick(registration.endpoint);
    });
    return { code: Code.Changed };
  }

  #deregister(request: InboundRequest, id: string): OutboundResponse {
    const registration = this.#store.get(id);
    if (registration === undefined) return { code: Code.NotFound };
    if (!this.#sameIdentity(registration, request)) return { code: Code.Forbidden };
    this.#store.remove(id);
    this.#cleanup(registration, 'deregistered');
    return { code: Code.Deleted };
  }

  #cleanup(registration: Registration, reason: DeregistrationReason): void {
    const peer = peerOf(registration);
    if (this.#peers.get(peerId(peer)) === registration.endpoint) this.#peers.delete(peerId(peer));
    if (registration.identity !== undefined && this.#identities.get(registration.identity) === registration.endpoint && reason !== 'replaced') this.#identities.delete(registration.identity);
    this.#endpoint.cancelObservationsOf(peer);
    for (const [token, o] of this.#observations) if (o.endpoint === registration.endpoint) this.#observations.delete(token);
    if (reason !== 'replaced') {
      this.#presence.forget(registration.endpoint);
      this.#queue.drop(registration.endpoint, new RequestCancelledError(`registration of ${registration.endpoint} ended (${reason})`));
    }
    setImmediate(() => this.emit('deregistered', registration, reason));
  }

  #send(request: InboundRequest): OutboundResponse {
    const registration = this.#registrationOfPeer(request);
    if (registration === undefined || !this.#sameIdentity(registration, request)) return { code: Code.BadRequest, payload: Buffer.from('no registration') };
    const format = getUintOption(request.message, Opt.ContentFormat);
    if (format !== ContentFormat.SENML_CBOR && format !== ContentFormat.SENML_JSON && format !== ContentFormat.LWM2M_CBOR) return { code: Code.UnsupportedContentFormat };
    const nodes = decodeContent(format, request.message.payload, { objectId: 0 }, this.objects.typeOf);
    const problem = this.objects.validate(nodes, 'send');
    if (problem !== undefined) {
      this.#log.warn({ endpoint: registration.endpoint, reason: problem }, 'rejected Send');
      return { code: Code.BadRequest, payload: Buffer.from(problem.slice(0, 120)) };
    }
    const event: SendEvent = { endpoint: registration.endpoint, nodes };
    setImmediate(() => this.emit('send', event));
    return { code: Code.Changed };
  }

  // ---------------------------------------------------------------- downlink

  #defaultFormat(registration: Registration, path: Lwm2mPath, nodes: readonly Lwm2mNode[]): number {
    if (path.resourceId !== undefined && path.resourceInstanceId === undefined && nodes.length === 1) {
      const type = this.objects.typeOf(path);
      if (type === 'Opaque') return ContentFormat.OPAQUE;
      if (registration.lwm2mVersion !== '1.0') return ContentFormat.TEXT;
    }
    const announced = objectLinks(registration).contentFormats;
    if (announced.includes(ContentFormat.SENML_CBOR)) return ContentFormat.SENML_CBOR;
    if (announced.includes(ContentFormat.SENML_JSON)) return ContentFormat.SENML_JSON;
    return ContentFormat.TLV;
  }

  #decode(response: CoapResponse, path: Lwm2mPath): ReadResponse {
    const format = getUintOption(response.message, Opt.ContentFormat);
    const code = codeString(response.code);
    if (!isSuccess(response.code) || response.payload.length === 0) return { code, success: isSuccess(response.code), format, nodes: [], payload: response.payload };
    const nodes = decodeContent(format ?? ContentFormat.TEXT, response.payload, path, this.objects.typeOf);
    return { code, success: true, format, nodes, payload: response.payload };
  }

  /** Observe GET requests by path, Accept and timeout: shared, immutable, bounded (paths come from API callers). */
  #observeRequest(path: string, format: number | undefined, timeoutMs: number): OutboundRequest {
    const key = `${path}|${format ?? ''}|${timeoutMs}`;
    let request = this.#observeRequests.get(key);
    if (request === undefined) {
      request = Object.freeze({ code: Code.GET, path, options: Object.freeze(format === undefined ? [] : [{ number: Opt.Accept, value: uintOption(format) }]), timeoutMs });
      if (this.#observeRequests.size < MAX_SHARED_OBSERVE_REQUESTS) this.#observeRequests.set(key, request);
    }
    return request;
  }

  /** Every notification of every observation: the token says which device and path it belongs to. */
  readonly #onNotify = (n: Notification): void => {
    const current = this.#observations.get(n.token);
    if (current === undefined) return;
    try {
      const decoded = this.#decode(n.response, parsePath(current.path));
      const event: NotificationEvent = {
        endpoint: current.endpoint, path: current.path, observationId: n.token, nodes: decoded.nodes,
        payload: n.response.payload, format: decoded.format, confirmable: n.response.message.type === 'CON',
      };
      this.emit('notification', event);
    } catch (error) {
      this.#log.warn({ endpoint: current.endpoint, path: current.path, reason: (error as Error).message }, 'undecodable notification');
    }
  };

  async #perform(endpoint: string, request: DownlinkRequest, path: Lwm2mPath, timeoutMs: number | undefined): Promise<unknown> {
    const registration = this.#store.getByEndpoint(endpoint);
    if (registration === undefined) throw new RequestCancelledError(`no registration for endpoint ${endpoint}`);
    const peer = peerOf(registration);
    const t = timeoutMs ?? this.#requestTimeoutMs;
    const accept = (format: number | undefined): CoapOption[] => (format === undefined ? [] : [{ number: Opt.Accept, value: uintOption(format) }]);
    switch (request.kind) {
      case 'read': {
        const response = await this.#endpoint.request(peer, { code: Code.GET, path: request.path, options: accept(request.format), timeoutMs: t });
        return this.#decode(response, path);
      }
      case 'write': {
        const nodes = request.nodes ?? (request.value === undefined ? [] : [{ path: request.path, value: request.value }]);
        const format = request.format ?? this.#defaultFormat(registration, path, nodes);
        const payload = encodeContent(format, nodes, path, this.objects.typeOf);
        const response = await this.#endpoint.request(peer, {
          code: request.partial ? Code.POST : Code.PUT,
          path: request.path,
          options: [{ number: Opt.ContentFormat, value: uintOption(format) }],
          payload,
          timeoutMs: t,
        });
        return { code: codeString(response.code), success: isSuccess(response.code) };
      }
      case 'execute': {
        const response = await this.#endpoint.request(peer, { code: Code.POST, path: request.path, payload: Buffer.from(request.arguments ?? '', 'utf8'), timeoutMs: t });
        return { code: codeString(response.code), success: isSuccess(response.code) };
      }
      case 'discover': {
        const response = await this.#endpoint.request(peer, { code: Code.GET, path: request.path, options: accept(ContentFormat.LINK_FORMAT), timeoutMs: t });
        const ok = isSuccess(response.code);
        return { code: codeString(response.code), success: ok, links: ok ? parseLinkFormat(Buffer.from(response.payload).toString('utf8')) : [] };
      }
      case 'write-attributes': {
        const query = Object.entries(request.attributes).filter(([, v]) => v !== undefined).map(([k, v]) => `${k}=${v}`);
        const response = await this.#endpoint.request(peer, { code: Code.PUT, path: request.path, query, timeoutMs: t });
        return { code: codeString(response.code), success: isSuccess(response.code) };
      }
      case 'observe': {
        // The request and the notification handler are shared by every observation of the same path, so an
        // idle observation costs the endpoint one small record (issue 5).
        const { response, token } = await this.#endpoint.observe(peer, this.#observeRequest(request.path, request.format, t), this.#onNotify);
        const accepted = isSuccess(response.code) && getUintOption(response.message, Opt.Observe) !== undefined;
        if (accepted) this.#observations.set(token, { endpoint, path: request.path });
        return { ...this.#decode(response, path), observationId: accepted ? token : undefined };
      }
      case 'cancel-observe': {
        const tokens = [...this.#observations].filter(([, o]) => o.endpoint === endpoint && o.path === request.path).map(([token]) => token);
        if (tokens.length === 0) return { code: '4.04', success: false };
        let code = '2.05';
        for (const token of tokens) {
          this.#observations.delete(token);
          const answer = await this.#endpoint.deregisterObservation(token, t);
          if (answer !== undefined) code = codeString(answer.code);
        }
        return { code, success: code.startsWith('2.') };
      }
    }
  }
}
