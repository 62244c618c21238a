/**
 * CoAP endpoint (RFC 7252 message layer, RFC 7641 Observe, RFC 7959 block-wise, RFC 9175 Request-Tag)
 * over one DatagramSocket: it serves inbound requests (server role) and sends outbound requests (client
 * role) from the same socket, as LwM2M needs (downlinks must leave from the port the device registered to).
 *
 * Why our own and not node-coap's message layer: node-coap reassembles Block1 by token, which fails for
 * libcoap clients that change the token on every block; its timing parameters are process-global (we
 * need per-request timeouts for queue mode); and its error replies are lost on non-dgram sockets
 * (shared/notes/dependencies.md §3). This layer keys Block1 by peer + URI + Request-Tag, caps transfers,
 * and never lets a bad datagram throw past the 'message' handler.
 */
import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import { pino } from 'pino';
import { systemClock } from '../../scheduler/clock.js';
import type { TimeSource } from '../../scheduler/ports.js';
import { RequestCancelledError, RequestTimeoutError } from '../errors.js';
import { BlockReassembler, type ReassemblyLimits } from './block1-reassembler.js';
import { followBlock2, sendBlock1 } from './blockwise-sender.js';
import {
  blockSize, Code, decodeBlock, decodeMessage, encodeBlock, encodeMessage, getOption, getStrings,
  isRequestCode, Opt, pathOptions, uintOption, unknownCriticalOption, uriPath,
  type CoapMessage, type CoapOption,
} from './message.js';
import { peerKey, type DatagramInfo, type DatagramSocket, type DtlsPeerInfo, type Peer } from './socket.js';
import { TimerQueue } from './timer-queue.js';

export interface InboundRequest {
  readonly peer: Peer;
  readonly dtls: DtlsPeerInfo | undefined;
  /** The request as received; for a Block1 transfer, the last block with the whole body as payload. */
  readonly message: CoapMessage;
  readonly path: string;
  readonly query: readonly string[];
}

export interface OutboundResponse {
  readonly code: number;
  readonly options?: readonly CoapOption[];
  readonly payload?: Uint8Array;
}

export type RequestHandler = (request: InboundRequest) => OutboundResponse | Promise<OutboundResponse>;

export interface OutboundRequest {
  readonly code: number;
  readonly path: string;
  readonly query?: readonly string[];
  readonly options?: readonly CoapOption[];
  readonly payload?: Uint8Array;
  /** Non-confirmable when false (default true). */
  readonly confirmable?: boolean;
  /** Overall deadline for the whole exchange including blocks (default exchangeTimeoutMs). */
  readonly timeoutMs?: number;
  /** Block size exponent for Block1 sending (default endpoint blockSzx). */
  readonly blockSzx?: number;
}

export interface CoapResponse {
  readonly code: number;
  readonly options: readonly CoapOption[];
  /** Whole body (Block2 followed). */
  readonly payload: Uint8Array;
  readonly message: CoapMessage;
}

export interface Notification {
  readonly peer: Peer;
  readonly response: CoapResponse;
  /** The observation's token (hex, as `observe` returned it), so one handler can serve many observations. */
  readonly token: string;
}

export interface EndpointOptions {
  readonly handler: RequestHandler;
  readonly logger?: Logger;
  readonly clock?: TimeSource;
  /** RFC 7252 ACK_TIMEOUT in ms (default 2000). */
  readonly ackTimeoutMs?: number;
  /** RFC 7252 MAX_RETRANSMIT (default 4). */
  readonly maxRetransmit?: number;
  /** How long to wait for a separate response after an empty ACK, and overall per exchange (default 93 s). */
  readonly exchangeTimeoutMs?: number;
  /** Preferred block size exponent for bodies we send (default 6 = 1024 bytes). */
  readonly blockSzx?: number;
  /** A CON request whose handler takes longer than this gets an empty ACK and a separate response (default 1000 ms). */
  readonly separateResponseAfterMs?: number;
  /** Block1 reassembly limits (max body default 64 KiB). */
  readonly reassembly?: Partial<ReassemblyLimits>;
}

interface Exchange {
  readonly peer: Peer;
  readonly token: string;
  messageId: number;
  datagram: Uint8Array | undefined;
  retransmits: number;
  /** Next retransmission (Infinity: none, e.g. NON or acknowledged) and its back-off delay, ms. */
  retransmitAt: number;
  retransmitDelay: number;
  /** End of the whole exchange, ms, and the timeout it came from (for the error). */
  readonly deadlineAt: number;
  readonly timeoutMs: number;
  /** TimerQueue bookkeeping: the earlier of retransmitAt and deadlineAt. */
  due: number;
  slot: number;
  resolve(message: CoapMessage): void;
  reject(error: Error): void;
}

/** An inbound CON request whose handler runs: it gets an empty ACK if the handler is slow (RFC 7252 §5.2.2). */
interface Running {
  readonly peer: Peer;
  readonly messageId: number;
  readonly dedupKey: string;
  /** The empty ACK went out: the answer must follow as a separate response. */
  separate: boolean;
  due: number;
  slot: number;
}

interface Observation {
  readonly peer: Peer;
  readonly request: OutboundRequest;
  readonly onNotify: (notification: Notification) => void;
}

/** Responses kept for duplicate CON requests; EXCHANGE_LIFETIME is 247 s but duplicates come quickly. */
const DEDUP_LIFETIME_MS = 60_000;
const DEDUP_MAX = 10_000;

/** An empty ACK or RST for a message ID (RFC 7252 §4.2). */
function emptyMessage(type: 'ACK' | 'RST', messageId: number): Uint8Array {
  return encodeMessage({ type, code: Code.Empty, messageId, token: new Uint8Array(0), options: [], payload: new Uint8Array(0) });
}
/** Large response bodies kept for Block2 follow-ups. */
const BLOCK2_CACHE_MAX = 1000;
/** Random bytes drawn at once for tokens: one call to the CSPRNG per 256 tokens instead of one per token. */
const TOKEN_POOL_BYTES = 1024;
const monotonicNow = (): number => performance.now();

export class CoapEndpoint extends EventEmitter {
  readonly #socket: DatagramSocket;
  readonly #handler: RequestHandler;
  readonly #log: Logger;
  readonly #clock: TimeSource;
  readonly #ackTimeoutMs: number;
  readonly #maxRetransmit: number;
  readonly #exchangeTimeoutMs: number;
  readonly #blockSzx: number;
  readonly #separateAfterMs: number;
  readonly #reassembler: BlockReassembler;
  /** peer|mid -> encoded response (undefined while the handler runs). */
  readonly #dedup = new Map<string, { at: number; response: Uint8Array | undefined }>();
  /** token hex -> pending exchange (our requests). */
  readonly #exchanges = new Map<string, Exchange>();
  /** peer|mid -> token hex, to match empty ACK / RST to our CON requests. */
  readonly #byMessageId = new Map<string, string>();
  readonly #observations = new Map<string, Observation>();
  /** Large response bodies served block by block: peer|path -> body. */
  readonly #block2 = new Map<string, { at: number; code: number; body: Uint8Array; format: Uint8Array | undefined }>();
  #messageId = randomBytes(2).readUInt16BE(0);
  #tokenPool = Buffer.alloc(0);
  #tokenOffset = 0;
  /** Retransmissions and deadlines of our requests, and separate-response delays of inbound ones: two timers in all. */
  readonly #exchangeTimers = new TimerQueue<Exchange>((exchange) => this.#onExchangeDue(exchange), monotonicNow);
  readonly #running = new TimerQueue<Running>((running) => this.#onSlowHandler(running), monotonicNow);
  readonly #onMessage = (datagram: Buffer, rinfo: DatagramInfo): void => this.#receive(datagram, rinfo);
  readonly #onError = (error: Error): void => this.#log.warn({ err: error.message }, 'socket error');
  readonly #housekeeping: NodeJS.Timeout;
  #closed = false;

  constructor(socket: DatagramSocket, options: EndpointOptions) {
    super();
    this.#socket = socket;
    this.#handler = options.handler;
    this.#log = (options.logger ?? pino({ level: 'silent' })).child({ component: 'coap' });
    this.#clock = options.clock ?? systemClock;
    this.#ackTimeoutMs = options.ackTimeoutMs ?? 2000;
    this.#maxRetransmit = options.maxRetransmit ?? 4;
    this.#exchangeTimeoutMs = options.exchangeTimeoutMs ?? 93_000;
    this.#blockSzx = options.blockSzx ?? 6;
    this.#separateAfterMs = options.separateResponseAfterMs ?? 1000;
    this.#reassembler = new BlockReassembler(options.reassembly ?? {}, this.#clock);
    socket.on('message', this.#onMessage);
    socket.on('error', this.#onError);
    this.#housekeeping = setInterval(() => this.#sweep(), 1000);
    this.#housekeeping.unref();
  }

  /** Stops listening on the socket (the socket itself belongs to the caller) and fails pending requests. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#housekeeping);
    this.#socket.removeListener('message', this.#onMessage);
    this.#socket.removeListener('error', this.#onError);
    for (const exchange of [...this.#exchanges.values()]) this.#finish(exchange, new RequestCancelledError('endpoint closed'));
    this.#exchangeTimers.clear();
    this.#running.clear();
    this.#observations.clear();
  }

  /** Sends a request and resolves with the (Block2-reassembled) response; rejects on timeout or RST. */
  async request(peer: Peer, request: OutboundRequest): Promise<CoapResponse> {
    const payload = request.payload ?? new Uint8Array(0);
    const szx = request.blockSzx ?? this.#blockSzx;
    let first: CoapMessage;
    if (payload.length > blockSize(szx)) first = await this.#sendBlock1(peer, request, payload, szx);
    else first = await this.#exchange(peer, request, request.options ?? [], payload, undefined);
    return this.#followBlock2(peer, request, first);
  }

  /**
   * Sends an Observe registration (GET with Observe 0). Resolves with the first response; later
   * notifications for the same token go to onNotify (with Block2 followed) until cancelObservation.
   */
  async observe(peer: Peer, request: OutboundRequest, onNotify: (notification: Notification) => void): Promise<{ response: CoapResponse; token: string }> {
    const token = this.#newToken();
    const tokenHex = token.toString('hex');
    const options = [...(request.options ?? []), { number: Opt.Observe, value: uintOption(0) }];
    this.#observations.set(tokenHex, { peer, request, onNotify });
    try {
      const first = await this.#exchange(peer, { ...request, code: Code.GET }, options, new Uint8Array(0), token);
      const response = await this.#followBlock2(peer, request, first);
      if (getOption(first, Opt.Observe) === undefined) this.#observations.delete(tokenHex);
      return { response, token: tokenHex };
    } catch (error) {
      this.#observations.delete(tokenHex);
      throw error;
    }
  }

  /** Forgets an observation; the next notification gets a RST, which ends it on the device (RFC 7641 §3.6). */
  cancelObservation(token: string): boolean {
    return this.#observations.delete(token);
  }

  /**
   * Ends an observation actively: a GET with Observe 1 and the same token (RFC 7641 §3.6). Resolves with
   * the device's answer; the observation is forgotten first, so late notifications get a RST anyway.
   */
  async deregisterObservation(token: string, timeoutMs?: number): Promise<CoapResponse | undefined> {
    const observation = this.#observations.get(token);
    if (observation === undefined) return undefined;
    this.#observations.delete(token);
    const options = [...(observation.request.options ?? []).filter((o) => o.number !== Opt.Observe), { number: Opt.Observe, value: uintOption(1) }];
    const first = await this.#exchange(observation.peer, { ...observation.request, code: Code.GET, timeoutMs }, options, new Uint8Array(0), Buffer.from(token, 'hex'));
    return this.#followBlock2(observation.peer, observation.request, first);
  }

  /** Forgets every observation towards a peer (a new registration starts without them). */
  cancelObservationsOf(peer: Peer): void {
    const key = peerKey(peer);
    for (const [token, observation] of this.#observations) if (peerKey(observation.peer) === key) this.#observations.delete(token);
  }

  /**
   * Sends a notification (client role) for an Observe relation we accepted. CON notifications resolve when
   * acknowledged and reject on timeout or RST (the observer is gone). A body over one block goes as its
   * first block; `path` keys the cached rest for the observer's follow-up GETs (RFC 7959 §2.6).
   */
  async notify(peer: Peer, token: Uint8Array, sequence: number, response: OutboundResponse, confirmable: boolean, path?: string): Promise<void> {
    const payload = response.payload ?? new Uint8Array(0);
    const options: CoapOption[] = [...(response.options ?? []), { number: Opt.Observe, value: uintOption(sequence & 0xffffff) }];
    let body = payload;
    if (payload.length > blockSize(this.#blockSzx)) {
      body = payload.subarray(0, blockSize(this.#blockSzx));
      if (path !== undefined) {
        const format = response.options?.find((o) => o.number === Opt.ContentFormat)?.value;
        this.#cacheBlock2(`${peerKey(peer)}|${path}`, { at: this.#clock.now(), code: Code.Content, body: payload, format });
      }
      options.push({ number: Opt.Block2, value: encodeBlock({ num: 0, more: true, szx: this.#blockSzx }) }, { number: Opt.Size2, value: uintOption(payload.length) });
    }
    const messageId = this.#nextMessageId();
    const message: CoapMessage = { type: confirmable ? 'CON' : 'NON', code: response.code, messageId, token, options, payload: body };
    if (!confirmable) {
      this.#send(peer, encodeMessage(message));
      return;
    }
    await this.#transmit(peer, message, `n${Buffer.from(token).toString('hex')}:${messageId}`);
  }

  get activeTransfers(): number {
    return this.#reassembler.size;
  }

  // ---------------------------------------------------------------- inbound

  #receive(datagram: Buffer, rinfo: DatagramInfo): void {
    if (this.#closed) return;
    const peer: Peer = { address: rinfo.address, port: rinfo.port };
    let message: CoapMessage;
    try {
      message = decodeMessage(datagram);
    } catch (error) {
      this.#log.warn({ peer: peerKey(peer), reason: (error as Error).message, bytes: datagram.length }, 'dropped bad CoAP datagram');
      return;
    }
    this.emit('traffic', peer, rinfo.dtls);
    try {
      if (message.type === 'ACK' || message.type === 'RST') this.#onAckOrReset(peer, message);
      else if (isRequestCode(message.code)) void this.#onRequest(peer, rinfo.dtls, message);
      else if (message.code === Code.Empty) {
        // CoAP ping: answer with RST (RFC 7252 §4.3).
        if (message.type === 'CON') this.#send(peer, emptyMessage('RST', message.messageId));
      } else this.#onSeparateResponse(peer, message);
    } catch (error) {
      this.#log.error({ peer: peerKey(peer), err: (error as Error).message }, 'failed to process CoAP message');
    }
  }

  #onAckOrReset(peer: Peer, message: CoapMessage): void {
    const key = `${peerKey(peer)}|${message.messageId}`;
    const tokenHex = this.#byMessageId.get(key);
    if (tokenHex === undefined) return;
    const exchange = this.#exchanges.get(tokenHex);
    if (exchange === undefined) return;
    this.#byMessageId.delete(key);
    if (message.type === 'RST') {
      this.#finish(exchange, new RequestCancelledError(`peer ${peerKey(peer)} reset the message`));
      return;
    }
    if (message.code !== Code.Empty) this.#finish(exchange, message);
    else if (tokenHex.startsWith('n') || tokenHex.startsWith('s')) this.#finish(exchange, message); // acknowledged notification or separate response
    else {
      // Empty ACK: no more retransmissions; the separate response follows before the exchange deadline.
      exchange.retransmitAt = Infinity;
      this.#exchangeTimers.schedule(exchange, exchange.deadlineAt);
    }
  }

  #onSeparateResponse(peer: Peer, message: CoapMessage): void {
    const tokenHex = Buffer.from(message.token).toString('hex');
    const ack = (): void => {
      if (message.type === 'CON') this.#send(peer, emptyMessage('ACK', message.messageId));
    };
    if (message.type === 'CON') {
      // A retransmitted notification or separate response (same message ID, its ACK was lost) is acknowledged
      // again but not processed twice (RFC 7252 §4.5): a relayed ESipa request must reach the eIM once.
      const key = `n|${peerKey(peer)}|${message.messageId}`;
      if (this.#dedup.has(key)) return ack();
      this.#remember(key);
    }
    const exchange = this.#exchanges.get(tokenHex);
    if (exchange !== undefined && peerKey(exchange.peer) === peerKey(peer)) {
      ack();
      this.#finish(exchange, message);
      return;
    }
    const observation = this.#observations.get(tokenHex);
    if (observation !== undefined && peerKey(observation.peer) === peerKey(peer) && getOption(message, Opt.Observe) !== undefined) {
      ack();
      void this.#followBlock2(peer, observation.request, message).then(
        (response) => observation.onNotify({ peer, response, token: tokenHex }),
        (error: Error) => this.#log.warn({ peer: peerKey(peer), reason: error.message }, 'could not complete a block-wise notification'),
      );
      return;
    }
    // Unknown token: reject so the peer stops (RFC 7252 §4.2, RFC 7641 §3.6).
    if (message.type === 'CON') this.#send(peer, emptyMessage('RST', message.messageId));
  }

  async #onRequest(peer: Peer, dtls: DtlsPeerInfo | undefined, message: CoapMessage): Promise<void> {
    const dedupKey = `${peerKey(peer)}|${message.messageId}`;
    if (message.type === 'CON') {
      const seen = this.#dedup.get(dedupKey);
      if (seen !== undefined) {
        if (seen.response !== undefined) this.#send(peer, seen.response);
        return;
      }
      this.#remember(dedupKey);
    }
    // A slow handler (e.g. the ESipa layer calling an SM-DP+) gets an empty ACK first, so the device stops
    // retransmitting, and the answer follows as a separate CON response (RFC 7252 §5.2.2): #onSlowHandler.
    let running: Running | undefined;
    if (message.type === 'CON') {
      running = { peer, messageId: message.messageId, dedupKey, separate: false, due: 0, slot: -1 };
      this.#running.schedule(running, monotonicNow() + this.#separateAfterMs);
    }
    let response: OutboundResponse;
    try {
      response = await this.#respond(peer, dtls, message);
    } finally {
      if (running !== undefined) this.#running.cancel(running);
    }
    const separate = running?.separate === true;
    if (separate) {
      const reply: CoapMessage = { type: 'CON', code: response.code, messageId: this.#nextMessageId(), token: message.token, options: response.options ?? [], payload: response.payload ?? new Uint8Array(0) };
      void this.#transmit(peer, reply, `s${Buffer.from(message.token).toString('hex')}:${reply.messageId}`).catch((error: Error) =>
        this.#log.warn({ peer: peerKey(peer), reason: error.message }, 'separate response not acknowledged'));
      return;
    }
    const encoded = encodeMessage({
      type: message.type === 'CON' ? 'ACK' : 'NON',
      code: response.code,
      messageId: message.type === 'CON' ? message.messageId : this.#nextMessageId(),
      token: message.token,
      options: response.options ?? [],
      payload: response.payload ?? new Uint8Array(0),
    });
    if (message.type === 'CON') {
      const entry = this.#dedup.get(dedupKey);
      if (entry) entry.response = encoded;
    }
    this.#send(peer, encoded);
  }

  #onSlowHandler(running: Running): void {
    if (this.#closed) return;
    running.separate = true;
    const ack = emptyMessage('ACK', running.messageId);
    const entry = this.#dedup.get(running.dedupKey);
    if (entry) entry.response = ack;
    this.#send(running.peer, ack);
  }

  async #respond(peer: Peer, dtls: DtlsPeerInfo | undefined, message: CoapMessage): Promise<OutboundResponse> {
    const critical = unknownCriticalOption(message);
    if (critical !== undefined) {
      this.#log.warn({ peer: peerKey(peer), option: critical }, 'rejected request with an unknown critical option');
      return { code: Code.BadOption };
    }
    const path = uriPath(message);
    const query = getStrings(message, Opt.UriQuery);
    let request: InboundRequest = { peer, dtls, message, path, query };

    const block1 = getOption(message, Opt.Block1);
    let block1Echo: CoapOption | undefined;
    if (block1 !== undefined) {
      const outcome = this.#reassembler.accept(peerKey(peer), message, path, query);
      if (outcome.kind === 'error') {
        this.#log.warn({ peer: peerKey(peer), path, reason: outcome.reason }, 'rejected a Block1 transfer');
        return { code: outcome.code, options: outcome.options ?? [] };
      }
      if (outcome.kind === 'continue') return { code: Code.Continue, options: [{ number: Opt.Block1, value: outcome.block1 }] };
      block1Echo = { number: Opt.Block1, value: outcome.block1 };
      request = { ...request, message: { ...message, payload: outcome.body } };
    }

    const block2 = getOption(message, Opt.Block2);
    const wanted = block2 === undefined ? undefined : decodeBlock(block2);
    const cacheKey = `${peerKey(peer)}|${path}`;
    if (wanted !== undefined && wanted.num > 0) {
      const cached = this.#block2.get(cacheKey);
      if (cached !== undefined) return this.#slice(cached.code, cached.body, cached.format, wanted.num, wanted.szx, [], cacheKey);
      if (message.code !== Code.GET && message.code !== Code.FETCH) return { code: Code.RequestEntityIncomplete };
    }

    let response: OutboundResponse;
    try {
      response = await this.#handler(request);
    } catch (error) {
      this.#log.error({ peer: peerKey(peer), path, err: (error as Error).message }, 'request handler failed');
      return { code: Code.InternalServerError };
    }
    const extra = block1Echo ? [block1Echo] : [];
    const payload = response.payload ?? new Uint8Array(0);
    const szx = Math.min(wanted?.szx ?? this.#blockSzx, this.#blockSzx);
    if (payload.length > blockSize(szx) || (wanted !== undefined && wanted.num > 0)) {
      const format = response.options?.find((o) => o.number === Opt.ContentFormat)?.value;
      const others = (response.options ?? []).filter((o) => o.number !== Opt.ContentFormat);
      return this.#slice(response.code, payload, format, wanted?.num ?? 0, szx, [...others, ...extra], cacheKey);
    }
    return block1Echo === undefined ? response : { ...response, options: [...(response.options ?? []), block1Echo] };
  }

  /** Keeps a large body for follow-up Block2 requests; bounded, the oldest entry goes first. */
  #cacheBlock2(key: string, entry: { at: number; code: number; body: Uint8Array; format: Uint8Array | undefined }): void {
    this.#block2.delete(key);
    if (this.#block2.size >= BLOCK2_CACHE_MAX) this.#block2.delete(this.#block2.keys().next().value as string);
    this.#block2.set(key, entry);
  }

  #slice(code: number, body: Uint8Array, format: Uint8Array | undefined, num: number, szx: number, options: readonly CoapOption[], cacheKey: string): OutboundResponse {
    const size = blockSize(szx);
    const start = num * size;
    if (start >= body.length && !(start === 0 && body.length === 0)) return { code: Code.BadOption };
    const more = start + size < body.length;
    if (more) this.#cacheBlock2(cacheKey, { at: this.#clock.now(), code, body, format });
    else this.#block2.delete(cacheKey);
    const opts: CoapOption[] = [...options, { number: Opt.Block2, value: encodeBlock({ num, more, szx }) }];
    if (num === 0) opts.push({ number: Opt.Size2, value: uintOption(body.length) });
    if (format !== undefined) opts.push({ number: Opt.ContentFormat, value: format });
    return { code, options: opts, payload: body.subarray(start, start + size) };
  }

  // ---------------------------------------------------------------- outbound

  #nextMessageId(): number {
    this.#messageId = (this.#messageId + 1) & 0xffff;
    return this.#messageId;
  }

  /**
   * Fire and forget, like the network itself: a datagram that could not leave is a lost datagram, which CoAP
   * already survives (retransmission, deadlines). No callback: with one, dgram schedules a tick per send.
   */
  #send(peer: Peer, datagram: Uint8Array): void {
    this.#socket.send(datagram, peer.port, peer.address);
  }

  /** Records a CON message ID as seen (bounded: the oldest entry goes first), its response not known yet. */
  #remember(key: string): void {
    if (this.#dedup.size >= DEDUP_MAX) this.#dedup.delete(this.#dedup.keys().next().value as string);
    this.#dedup.set(key, { at: this.#clock.now(), response: undefined });
  }

  /** A fresh 4-byte token (RFC 7252 §5.3.1: random, so an off-path attacker cannot guess it). */
  #newToken(): Buffer {
    if (this.#tokenOffset + 4 > this.#tokenPool.length) {
      this.#tokenPool = randomBytes(TOKEN_POOL_BYTES);
      this.#tokenOffset = 0;
    }
    const token = Buffer.from(this.#tokenPool.subarray(this.#tokenOffset, this.#tokenOffset + 4));
    this.#tokenOffset += 4;
    return token;
  }

  async #exchange(peer: Peer, request: OutboundRequest, options: readonly CoapOption[], payload: Uint8Array, token: Uint8Array | undefined): Promise<CoapMessage> {
    const tok = token ?? this.#newToken();
    const message: CoapMessage = {
      type: request.confirmable === false ? 'NON' : 'CON',
      code: request.code,
      messageId: this.#nextMessageId(),
      token: tok,
      options: [...pathOptions(request.path), ...(request.query ?? []).map((q) => ({ number: Opt.UriQuery, value: Buffer.from(q, 'utf8') })), ...options],
      payload,
    };
    return this.#transmit(peer, message, Buffer.from(tok).toString('hex'), request.timeoutMs);
  }

  #transmit(peer: Peer, message: CoapMessage, tokenHex: string, timeoutMs?: number): Promise<CoapMessage> {
    if (this.#closed) return Promise.reject(new RequestCancelledError('endpoint closed'));
    return new Promise<CoapMessage>((resolve, reject) => {
      const datagram = encodeMessage(message);
      const now = monotonicNow();
      const t = timeoutMs ?? this.#exchangeTimeoutMs;
      const confirmable = message.type === 'CON';
      const delay = confirmable ? this.#ackTimeoutMs * (1 + Math.random() * 0.5) : Infinity;
      const exchange: Exchange = {
        peer, token: tokenHex, messageId: message.messageId, datagram, retransmits: 0,
        retransmitAt: now + delay, retransmitDelay: delay, deadlineAt: now + t, timeoutMs: t, due: 0, slot: -1, resolve, reject,
      };
      this.#exchanges.set(tokenHex, exchange);
      if (confirmable) this.#byMessageId.set(`${peerKey(peer)}|${message.messageId}`, tokenHex);
      this.#exchangeTimers.schedule(exchange, Math.min(exchange.retransmitAt, exchange.deadlineAt));
      this.#send(peer, datagram);
    });
  }

  /** The exchange's next retransmission or its deadline has come (RFC 7252 §4.2: exponential back-off). */
  #onExchangeDue(exchange: Exchange): void {
    const now = monotonicNow();
    if (now >= exchange.deadlineAt) {
      this.#finish(exchange, new RequestTimeoutError(`no response from ${peerKey(exchange.peer)} within ${exchange.timeoutMs} ms`));
      return;
    }
    if (exchange.retransmitAt > now) {
      this.#exchangeTimers.schedule(exchange, Math.min(exchange.retransmitAt, exchange.deadlineAt));
      return;
    }
    if (exchange.retransmits >= this.#maxRetransmit) {
      this.#finish(exchange, new RequestTimeoutError(`no acknowledgement from ${peerKey(exchange.peer)} after ${exchange.retransmits} retransmissions`));
      return;
    }
    exchange.retransmits++;
    this.#send(exchange.peer, exchange.datagram!);
    exchange.retransmitDelay *= 2;
    exchange.retransmitAt = now + exchange.retransmitDelay;
    this.#exchangeTimers.schedule(exchange, Math.min(exchange.retransmitAt, exchange.deadlineAt));
  }

  #finish(exchange: Exchange, outcome: CoapMessage | Error): void {
    if (this.#exchanges.get(exchange.token) !== exchange) return;
    this.#exchanges.delete(exchange.token);
    this.#byMessageId.delete(`${peerKey(exchange.peer)}|${exchange.messageId}`);
    this.#exchangeTimers.cancel(exchange);
    if (outcome instanceof Error) exchange.reject(outcome);
    else exchange.resolve(outcome);
  }

  #sendBlock1(peer: Peer, request: OutboundRequest, payload: Uint8Array, szx: number): Promise<CoapMessage> {
    return sendBlock1((options, chunk) => this.#exchange(peer, request, options, chunk, undefined), request.options ?? [], payload, szx);
  }

  async #followBlock2(peer: Peer, request: OutboundRequest, first: CoapMessage): Promise<CoapResponse> {
    const method = request.code === Code.GET || request.code === Code.FETCH ? request.code : Code.GET;
    const body = await followBlock2((options) => this.#exchange(peer, { ...request, code: method }, options, new Uint8Array(0), undefined), request.options ?? [], first, this.#reassembler.maxBodySize);
    if (body instanceof Uint8Array) return { code: first.code, options: first.options, payload: body, message: first };
    return { code: body.code, options: body.options, payload: body.payload, message: body };
  }

  #sweep(): void {
    const now = this.#clock.now();
    for (const [key, entry] of this.#dedup) {
      if (now - entry.at < DEDUP_LIFETIME_MS) break;
      this.#dedup.delete(key);
    }
    for (const [key, entry] of this.#block2) if (now - entry.at > DEDUP_LIFETIME_MS * 4) this.#block2.delete(key);
    for (const expired of this.#reassembler.expire()) this.#log.warn({ transfer: expired }, 'abandoned Block1 transfer expired');
  }

  /** Runs housekeeping now (tests with a controlled clock). */
  sweep(): void {
    this.#sweep();
  }
}
