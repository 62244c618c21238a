/**
 * Minimal simulated LwM2M 1.1 client (OMA LwM2M 1.1.1 Core §6.2 registration, §6.3/§6.4 device side,
 * Transport §6.5 queue mode) with objects 0 Security, 1 Server, 3 Device and 3443 eSIM IoT. It registers
 * with b=U and queue mode, updates, deregisters, answers Read/Write/Execute/Discover/Observe, sends
 * (POST /dp, SenML-CBOR), and can "sleep" (ignore every datagram) between uplinks. Transport-agnostic:
 * give it any datagram socket (plain UDP or DTLS) or let it open a UDP socket itself.
 */
import { createSocket, type Socket } from 'node:dgram';
import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import { CoapEndpoint, type EndpointOptions, type InboundRequest, type OutboundResponse } from '../lwm2m/coap/endpoint.js';
import { Code, codeString, getOption, getUintOption, Opt, uintOption } from '../lwm2m/coap/message.js';
import { peerKey, type DatagramInfo, type DatagramSocket, type Peer } from '../lwm2m/coap/socket.js';
import { ContentFormat, decodeContent, encodeContent } from '../lwm2m/content/formats.js';
import { formatLinkFormat } from '../lwm2m/content/link-format.js';
import { formatPath, parsePath, type Lwm2mNode, type Lwm2mValue, type ResourceType } from '../lwm2m/content/values.js';

export interface Lwm2mClientOptions {
  readonly endpoint: string;
  readonly server: Peer;
  /** A ready socket (e.g. DTLS); when absent a UDP socket is bound on 127.0.0.1, port 0. */
  readonly socket?: DatagramSocket;
  readonly lifetime?: number;
  readonly lwm2mVersion?: '1.0' | '1.1' | '1.2';
  readonly queueMode?: boolean;
  readonly eid?: string;
  /**
   * Send CON notifications (default true), for every observed path or as decided per path. RFC 7641 leaves
   * the choice to the notifying side; LwM2M 1.2 (Server object /1/x/26 Default Notification Mode) defaults to NON.
   */
  readonly confirmableNotifications?: boolean | ((path: string) => boolean);
  readonly logger?: Logger;
  readonly coap?: Omit<EndpointOptions, 'handler' | 'logger'>;
  /** Extra attributes on the root link, e.g. ct="60 110 112 11542". */
  readonly contentFormats?: readonly number[];
}

interface Resource {
  value: Lwm2mValue | Map<number, Lwm2mValue> | undefined;
  readonly type: ResourceType;
  readonly operations: string;
}

interface Observer {
  readonly peer: Peer;
  readonly token: Uint8Array;
  readonly path: string;
  sequence: number;
}

/** A datagram socket wrapper that drops traffic while the device sleeps (PSM: radio off). */
class GatedSocket extends EventEmitter implements DatagramSocket {
  asleep = false;
  readonly #inner: DatagramSocket;

  constructor(inner: DatagramSocket) {
    super();
    this.#inner = inner;
    inner.on('message', (message: Buffer, rinfo: DatagramInfo) => {
      if (!this.asleep) this.emit('message', message, rinfo);
    });
    inner.on('error', (error: Error) => this.emit('error', error));
  }

  send(message: Uint8Array, port: number, address: string, callback?: (error: Error | null) => void): void {
    if (this.asleep) {
      callback?.(null);
      return;
    }
    this.#inner.send(message, port, address, callback);
  }
}

export class Lwm2mClient extends EventEmitter {
  readonly endpointName: string;
  readonly #options: Lwm2mClientOptions;
  readonly #owned: Socket | undefined;
  readonly #socket: GatedSocket;
  readonly #coap: CoapEndpoint;
  readonly #resources = new Map<string, Resource>();
  readonly #observers = new Map<string, Observer>();
  #location: string | undefined;
  /** Write-Attributes received, by path (query strings as sent). */
  readonly attributes = new Map<string, string[]>();
  /** Messages written to /3443/0/2, oldest first. */
  readonly eimMessages: Uint8Array[] = [];

  private constructor(options: Lwm2mClientOptions, socket: DatagramSocket, owned: Socket | undefined) {
    super();
    this.endpointName = options.endpoint;
    this.#options = options;
    this.#owned = owned;
    this.#socket = new GatedSocket(socket);
    const coapOptions: EndpointOptions = { ...options.coap, handler: (r) => this.#handle(r) };
    this.#coap = new CoapEndpoint(this.#socket, options.logger ? { ...coapOptions, logger: options.logger } : coapOptions);
    this.#seed();
  }

  static async create(options: Lwm2mClientOptions): Promise<Lwm2mClient> {
    if (options.socket) return new Lwm2mClient(options, options.socket, undefined);
    const socket = createSocket('udp4');
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(0, '127.0.0.1', () => {
        socket.removeListener('error', reject);
        resolve();
      });
    });
    return new Lwm2mClient(options, socket, socket);
  }

  get registered(): boolean {
    return this.#location !== undefined;
  }

  get location(): string | undefined {
    return this.#location;
  }

  #seed(): void {
    const set = (path: string, type: ResourceType, operations: string, value?: Resource['value']): void => {
      this.#resources.set(path, { value, type, operations });
    };
    const o = this.#options;
    const binding = o.queueMode === false ? 'U' : 'UQ';
    set('/0/0/0', 'String', '', `coap://${o.server.address}:${o.server.port}`);
    set('/0/0/1', 'Boolean', '', false);
    set('/0/0/2', 'Integer', '', 3);
    set('/0/0/10', 'Integer', '', 1);
    set('/1/0/0', 'Integer', 'R', 1);
    set('/1/0/1', 'Integer', 'RW', o.lifetime ?? 86_400);
    set('/1/0/6', 'Boolean', 'RW', true);
    set('/1/0/7', 'String', 'RW', 'U');
    set('/1/0/8', 'none', 'E');
    set('/1/0/23', 'Boolean', 'RW', false);
    set('/3/0/0', 'String', 'R', 'lwm2m-eim simulator');
    set('/3/0/1', 'String', 'R', 'sim-1');
    set('/3/0/2', 'String', 'R', o.endpoint);
    set('/3/0/3', 'String', 'R', '0.1.0');
    set('/3/0/4', 'none', 'E');
    set('/3/0/11', 'Integer', 'R', new Map([[0, 0]]));
    set('/3/0/16', 'String', 'R', binding);
    set('/3443/0/0', 'Integer', 'R', 0);
    set('/3443/0/1', 'String', 'R', o.eid ?? '89049032123451234512345678901235');
    set('/3443/0/2', 'Opaque', 'W', new Uint8Array(0));
    set('/3443/0/3', 'Opaque', 'R', new Uint8Array(0));
    set('/3443/0/4', 'none', 'E');
  }

  #version(): string {
    return this.#options.lwm2mVersion ?? '1.1';
  }

  #objectLinks(): string {
    const ct = this.#options.contentFormats ?? [ContentFormat.TEXT, ContentFormat.OPAQUE, ContentFormat.SENML_JSON, ContentFormat.SENML_CBOR, ContentFormat.TLV];
    const root = { target: '/', attributes: new Map<string, string | true>([['rt', 'oma.lwm2m'], ['ct', ct.join(' ')]]) };
    const instances = [...new Set([...this.#resources.keys()].map((p) => p.split('/').slice(0, 3).join('/')))];
    return formatLinkFormat([
      ...(this.#version() === '1.0' ? [] : [root]),
      ...instances.map((target) => ({ target, attributes: new Map<string, string | true>(target.startsWith('/3443/') ? [['ver', '1.0']] : []) })),
    ]);
  }

  /** Wakes the radio and registers (POST /rd). Resolves when the server answered 2.01. */
  async register(): Promise<void> {
    this.#socket.asleep = false;
    const o = this.#options;
    const query = [`ep=${o.endpoint}`, `lt=${o.lifetime ?? 86_400}`, `lwm2m=${this.#version()}`];
    if (o.queueMode === false) query.push('b=U');
    else if (this.#version() === '1.0') query.push('b=UQ');
    else query.push('b=U', 'Q');
    const response = await this.#coap.request(o.server, {
      code: Code.POST, path: '/rd', query,
      options: [{ number: Opt.ContentFormat, value: uintOption(ContentFormat.LINK_FORMAT) }],
      payload: Buffer.from(this.#objectLinks()),
    });
    if (response.code !== Code.Created) throw new Error(`register answered ${codeString(response.code)}`);
    const location = response.options.filter((x) => x.number === Opt.LocationPath).map((x) => Buffer.from(x.value).toString());
    this.#location = '/' + location.join('/');
    this.emit('registered', this.#location);
  }

  /** Wakes the radio and sends a registration Update; throws when the server does not answer 2.04. */
  async update(options: { lifetime?: number } = {}): Promise<void> {
    this.#socket.asleep = false;
    if (this.#location === undefined) throw new Error('not registered');
    const query = options.lifetime === undefined ? [] : [`lt=${options.lifetime}`];
    const response = await this.#coap.request(this.#options.server, { code: Code.POST, path: this.#location, query });
    if (response.code !== Code.Changed) throw new Error(`update answered ${codeString(response.code)}`);
  }

  async deregister(): Promise<void> {
    this.#socket.asleep = false;
    if (this.#location === undefined) return;
    const response = await this.#coap.request(this.#options.server, { code: Code.DELETE, path: this.#location });
    if (response.code !== Code.Deleted) throw new Error(`deregister answered ${codeString(response.code)}`);
    this.#location = undefined;
    this.#observers.clear();
  }

  /** Radio off: every datagram in or out is dropped until the next uplink call. */
  sleep(): void {
    this.#socket.asleep = true;
  }

  get asleep(): boolean {
    return this.#socket.asleep;
  }

  /** Sends values with LwM2M Send (POST /dp, SenML-CBOR); resolves with the response code. */
  async send(nodes: readonly Lwm2mNode[], format: number = ContentFormat.SENML_CBOR): Promise<string> {
    this.#socket.asleep = false;
    const response = await this.#coap.request(this.#options.server, {
      code: Code.POST, path: '/dp',
      options: [{ number: Opt.ContentFormat, value: uintOption(format) }],
      payload: encodeContent(format, nodes, { objectId: 0 }, () => undefined),
    });
    return codeString(response.code);
  }

  /**
   * Puts an IPA message in /3443/0/3 and delivers it: 'send' (POST /dp; cleared on 2.04), 'notify'
   * (to observers; cleared when a CON notification is acknowledged), or 'store' (the server reads it
   * and executes /3443/0/4).
   */
  async putIpaMessage(message: Uint8Array, via: 'send' | 'notify' | 'store'): Promise<void> {
    this.#socket.asleep = false;
    const resource = this.#resources.get('/3443/0/3')!;
    resource.value = Uint8Array.from(message);
    if (via === 'send') {
      const code = await this.send([{ path: '/3443/0/3', value: message }]);
      if (code === '2.04') resource.value = new Uint8Array(0);
      else throw new Error(`Send answered ${code}`);
    } else if (via === 'notify') {
      const delivered = await this.#notify('/3443/0/3');
      if (delivered && this.#confirmable('/3443/0/3')) resource.value = new Uint8Array(0);
    }
  }

  /** Sets a resource value (as the device application would) and notifies observers. */
  async setValue(path: string, value: Lwm2mValue): Promise<void> {
    const resource = this.#resources.get(path);
    if (resource === undefined) throw new Error(`no resource ${path}`);
    resource.value = value;
    await this.#notify(path);
  }

  getValue(path: string): Lwm2mValue | undefined {
    const v = this.#resources.get(path)?.value;
    return v instanceof Map ? undefined : v;
  }

  observedPaths(): string[] {
    return [...this.#observers.values()].map((o) => o.path);
  }

  async close(): Promise<void> {
    this.#coap.close();
    if (this.#owned) await new Promise<void>((resolve) => this.#owned!.close(() => resolve()));
  }

  #confirmable(path: string): boolean {
    const c = this.#options.confirmableNotifications ?? true;
    return typeof c === 'function' ? c(path) : c;
  }

  async #notify(path: string): Promise<boolean> {
    let delivered = false;
    for (const [key, observer] of this.#observers) {
      if (!(path === observer.path || path.startsWith(observer.path + '/'))) continue;
      observer.sequence++;
      try {
        await this.#coap.notify(observer.peer, observer.token, observer.sequence, this.#read(observer.path, undefined), this.#confirmable(observer.path), observer.path);
        delivered = true;
      } catch {
        this.#observers.delete(key);
      }
    }
    return delivered;
  }

  #nodes(path: string): Lwm2mNode[] {
    const out: Lwm2mNode[] = [];
    for (const [p, r] of this.#resources) {
      if (!(p === path || p.startsWith(path + '/')) || !r.operations.includes('R') || r.value === undefined) continue;
      if (r.value instanceof Map) for (const [i, v] of r.value) out.push({ path: `${p}/${i}`, value: v });
      else out.push({ path: p, value: r.value });
    }
    return out;
  }

  #read(path: string, accept: number | undefined): OutboundResponse {
    const p = parsePath(path);
    const typeOf = (q: ReturnType<typeof parsePath>): ResourceType | undefined => this.#resources.get(formatPath({ objectId: q.objectId, instanceId: q.instanceId, resourceId: q.resourceId }))?.type;
    const nodes = this.#nodes(path);
    const single = p.resourceId !== undefined && nodes.length === 1 && nodes[0]!.path === path;
    let format = accept;
    if (format === undefined) {
      if (single) format = typeOf(p) === 'Opaque' ? ContentFormat.OPAQUE : ContentFormat.TEXT;
      else format = this.#version() === '1.0' ? ContentFormat.TLV : ContentFormat.SENML_CBOR;
    }
    const payload = format === ContentFormat.TLV && p.resourceId === undefined
      ? encodeContent(format, nodes.filter((n) => parsePath(n.path).resourceInstanceId === undefined), p, typeOf)
      : encodeContent(format, nodes, p, typeOf);
    return { code: Code.Content, options: [{ number: Opt.ContentFormat, value: uintOption(format) }], payload };
  }

  async #handle(request: InboundRequest): Promise<OutboundResponse> {
    const { message, path } = request;
    if (path.startsWith('/rd') || path === '/dp') return { code: Code.NotFound };
    let p: ReturnType<typeof parsePath>;
    try {
      p = parsePath(path);
    } catch {
      return { code: Code.NotFound };
    }
    const known = [...this.#resources.keys()].some((k) => k === path || k.startsWith(path + '/'));
    if (!known) return { code: Code.NotFound };
    const resource = this.#resources.get(path);
    try {
      switch (message.code) {
        case Code.GET: {
          const accept = getUintOption(message, Opt.Accept);
          if (accept === ContentFormat.LINK_FORMAT) {
            const links = [...this.#resources.keys()].filter((k) => k === path || k.startsWith(path + '/')).map((target) => ({ target, attributes: new Map<string, string | true>() }));
            return { code: Code.Content, options: [{ number: Opt.ContentFormat, value: uintOption(ContentFormat.LINK_FORMAT) }], payload: Buffer.from(formatLinkFormat([{ target: path, attributes: new Map() }, ...links])) };
          }
          if (resource && !resource.operations.includes('R')) return { code: Code.MethodNotAllowed };
          const observe = getOption(message, Opt.Observe);
          const key = `${peerKey(request.peer)}|${path}`;
          const response = this.#read(path, accept);
          if (observe !== undefined && getUintOption(message, Opt.Observe) === 0) {
            const previous = this.#observers.get(key);
            const observer: Observer = { peer: request.peer, token: message.token, path, sequence: previous?.sequence ?? 0 };
            this.#observers.set(key, observer);
            return { ...response, options: [...(response.options ?? []), { number: Opt.Observe, value: uintOption(observer.sequence) }] };
          }
          if (observe !== undefined) this.#observers.delete(key);
          return response;
        }
        case Code.PUT:
        case Code.POST: {
          if (message.code === Code.POST && resource?.operations.includes('E')) return this.#execute(path);
          if (message.code === Code.PUT && message.payload.length === 0 && request.query.length > 0) {
            this.attributes.set(path, [...request.query]); // Write-Attributes: stored, not acted upon
            return { code: Code.Changed };
          }
          const format = getUintOption(message, Opt.ContentFormat) ?? ContentFormat.TEXT;
          const nodes = decodeContent(format, message.payload, p, (q) => this.#resources.get(formatPath({ objectId: q.objectId, instanceId: q.instanceId, resourceId: q.resourceId }))?.type);
          for (const n of nodes) {
            const r = this.#resources.get(n.path);
            if (r === undefined || !r.operations.includes('W')) return { code: Code.MethodNotAllowed };
          }
          if (nodes.some((n) => n.path === '/3443/0/2') && this.getValue('/3443/0/0') !== 0) return { code: Code.MethodNotAllowed };
          for (const n of nodes) this.#resources.get(n.path)!.value = n.value;
          const eim = nodes.find((n) => n.path === '/3443/0/2');
          if (eim && eim.value instanceof Uint8Array) {
            this.eimMessages.push(eim.value);
            setImmediate(() => this.emit('eimMessage', eim.value));
          }
          return { code: Code.Changed };
        }
        default:
          return { code: Code.MethodNotAllowed };
      }
    } catch (error) {
      return { code: Code.BadRequest, payload: Buffer.from((error as Error).message.slice(0, 100)) };
    }
  }

  #execute(path: string): OutboundResponse {
    if (path === '/3443/0/4') this.#resources.get('/3443/0/3')!.value = new Uint8Array(0);
    if (path === '/1/0/8') setImmediate(() => void this.update().catch(() => undefined));
    setImmediate(() => this.emit('executed', path));
    return { code: Code.Changed };
  }
}
