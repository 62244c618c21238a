/**
 * DTLS 1.2 server for LwM2M over CoAP (RFC 6347; RFC 7925 profile; LwM2M 1.1 Transport §5.2): owns the
 * UDP socket and one session per peer ip:port, drives the OpenSSL engine of `@eim/dtls`, and exposes the
 * plaintext side as a `DtlsSocket` for node-coap.
 *
 * Bad traffic never throws: a cookie exchange (HelloVerifyRequest) precedes any per-peer state, the
 * number of sessions and of handshakes in progress are capped, handshakes have a deadline, idle sessions
 * expire, and every dropped datagram or failed handshake is reported once through 'dropped'.
 */
import dgram from 'node:dgram';
import { EventEmitter } from 'node:events';
import { isIPv6, type AddressInfo } from 'node:net';
import * as native from '@eim/dtls';
import type { ContextHandle, SessionHandle } from '@eim/dtls';
import { pino, type Logger } from 'pino';
import { InvalidArgumentError } from '../../errors.js';
import type {
  DropReason,
  DtlsPeerInfo,
  SecureDatagramBackend,
  SecureSession,
  SecureTransportEvents,
  SecureTransportStats,
  SendCallback,
  SessionClosedReason,
} from './contract.js';
import {
  clientHelloFingerprint,
  hasApplicationData,
  hasTruncatedProtectedRecord,
  isInitialClientHello,
  looksLikeDtls,
} from './dtls-record.js';
import { DtlsSocket } from './dtls-socket.js';
import { DtlsError } from './errors.js';

export interface DtlsServerOptions {
  /** Address to bind; default '0.0.0.0'. */
  host?: string;
  /** UDP port; default 5684 (coaps). 0 picks a free port. */
  port?: number;
  /**
   * Synchronous PSK lookup, called inside the handshake: the key for an identity, or undefined when the
   * identity is unknown (the handshake then fails with unknown_psk_identity). Enables PSK-AES128-CCM8.
   */
  pskLookup?: (identity: string) => Uint8Array | undefined;
  /** X.509 server credentials (P-256); enable ECDHE-ECDSA-AES128-CCM8. */
  certificate?: {
    /** Leaf certificate first, then any chain certificates. */
    certPem: string;
    keyPem: string;
    /** Require a client certificate (mutual auth). Any certificate is accepted; check `dtls.peerCertificate`. */
    requestClientCert?: boolean;
  };
  /** Path MTU in bytes (IP packet); handshake datagrams stay within it minus 48 (IPv6 + UDP). Default 1280. */
  mtu?: number;
  /** Cap on sessions, handshaking or established. Default 100,000 (about 33 KB of native memory each). */
  maxSessions?: number;
  /** Cap on handshakes in progress. Default 1,000. */
  maxHandshakes?: number;
  /** A handshake not finished after this long is dropped. Default 30 s. */
  handshakeTimeoutMs?: number;
  /** A session with no authenticated inbound data for this long is closed. Default 2 h. */
  idleTimeoutMs?: number;
  logger?: Logger;
}

const STATE_FAILED = 3;
const STATE_CLOSED = 2;
const IP_UDP_OVERHEAD = 48;
/** The addon's per-call scalars (see @eim/dtls `fields`): read right after each call, before the next. */
const fields = native.fields;

interface Peer {
  readonly key: string;
  readonly address: string;
  readonly port: number;
  readonly family: 'IPv4' | 'IPv6';
  handle: SessionHandle | undefined;
  established: boolean;
  /** The ClientHello that opened this session, to recognise retransmissions and replays of it. */
  readonly hello: Buffer;
  lastActivity: number;
  /** Handshake deadline (ms since epoch); one timer serves it and OpenSSL's retransmissions. */
  readonly deadline: number;
  timer: NodeJS.Timeout | undefined;
  session: SecureSession | undefined;
}

/** Kernel receive buffer asked for (Linux caps it at net.core.rmem_max). */
const RECEIVE_BUFFER_BYTES = 4 * 1024 * 1024;

export class DtlsServer extends EventEmitter<SecureTransportEvents> implements SecureDatagramBackend {
  /** The plaintext socket to give node-coap's Server and Agent. */
  readonly socket: DtlsSocket;
  readonly #options: Required<Omit<DtlsServerOptions, 'pskLookup' | 'certificate' | 'logger'>>;
  readonly #log: Logger;
  readonly #ctx: ContextHandle;
  readonly #sessions = new Map<string, Peer>();
  /** Last authenticated peer per source port: node-coap's error replies carry only a port. */
  readonly #lastPeerByPort = new Map<number, string>();
  #udp: dgram.Socket | undefined;
  #sweep: NodeJS.Timeout | undefined;
  #handshakes = 0;
  #helloVerifyRequests = 0;

  constructor(options: DtlsServerOptions) {
    super();
    const { pskLookup, certificate } = options;
    if (pskLookup === undefined && certificate === undefined) {
      throw new InvalidArgumentError('options', 'pskLookup or certificate is required');
    }
    this.#options = {
      host: options.host ?? '0.0.0.0',
      port: options.port ?? 5684,
      mtu: positive(options.mtu, 1280, 'mtu'),
      maxSessions: positive(options.maxSessions, 100_000, 'maxSessions'),
      maxHandshakes: positive(options.maxHandshakes, 1_000, 'maxHandshakes'),
      handshakeTimeoutMs: positive(options.handshakeTimeoutMs, 30_000, 'handshakeTimeoutMs'),
      idleTimeoutMs: positive(options.idleTimeoutMs, 2 * 3600_000, 'idleTimeoutMs'),
    };
    if (this.#options.mtu < 576) throw new InvalidArgumentError('mtu', 'must be at least 576');
    this.#log = (options.logger ?? pino({ level: 'silent' })).child({ component: 'dtls' });
    const ciphers = [pskLookup ? 'PSK-AES128-CCM8' : '', certificate ? 'ECDHE-ECDSA-AES128-CCM8' : ''].filter(Boolean);
    try {
      this.#ctx = native.createContext({
        ciphers: ciphers.join(':'),
        mtu: this.#options.mtu - IP_UDP_OVERHEAD,
        ...(pskLookup ? { psk: this.#wrapLookup(pskLookup) } : {}),
        ...(certificate
          ? { certPem: certificate.certPem, keyPem: certificate.keyPem, requestClientCert: certificate.requestClientCert === true }
          : {}),
      });
    } catch (cause) {
      throw new DtlsError(`cannot create the DTLS context: ${(cause as Error).message}`, { cause });
    }
    this.socket = new DtlsSocket(this);
  }

  /** Binds the UDP socket; resolves with the bound address. */
  async listen(): Promise<AddressInfo> {
    if (this.#udp) throw new DtlsError('already listening');
    const family = isIPv6(this.#options.host) ? 6 : 4;
    const udp = dgram.createSocket({
      type: family === 6 ? 'udp6' : 'udp4',
      // Peers are always IP literals taken from rinfo, of the socket's own family: skip dns.lookup and
      // its extra tick per send, and the IPv6 regex of isIPv6() (it showed in send profiles).
      lookup: (address, _options, callback) => callback(null, address, family),
      // A fleet waking at once arrives faster than a busy loop drains it: the default ~200 KB buffer drops
      // datagrams, and every drop costs the device a CoAP retransmission (seconds).
      recvBufferSize: RECEIVE_BUFFER_BYTES,
    });
    this.#udp = udp;
    udp.on('message', (msg, rinfo) => this.#onDatagram(msg, rinfo));
    udp.on('error', (error) => this.#reportError(error));
    await new Promise<void>((resolve, reject) => {
      udp.once('error', reject);
      udp.bind(this.#options.port, this.#options.host, () => {
        udp.off('error', reject);
        resolve();
      });
    });
    const sweepMs = Math.min(10_000, Math.max(20, Math.floor(this.#options.idleTimeoutMs / 4)));
    this.#sweep = setInterval(() => this.#guard(() => this.#expireIdle(), 'idle sweep'), sweepMs).unref();
    return udp.address();
  }

  /** Sends close_notify to every established peer, frees all sessions and closes both sockets. */
  async close(): Promise<void> {
    if (this.#sweep) clearInterval(this.#sweep);
    this.#sweep = undefined;
    for (const peer of [...this.#sessions.values()]) this.#remove(peer, 'closed', true);
    this.socket.close();
    const udp = this.#udp;
    this.#udp = undefined;
    if (udp) await new Promise<void>((resolve) => udp.close(() => resolve()));
  }

  address(): AddressInfo {
    if (!this.#udp) throw new DtlsError('not listening');
    return this.#udp.address();
  }

  stats(): SecureTransportStats {
    return { sessions: this.#sessions.size, handshakes: this.#handshakes, helloVerifyRequests: this.#helloVerifyRequests };
  }

  /** The established session of a peer, or undefined. */
  getSession(address: string, port: number): SecureSession | undefined {
    const peer = this.#sessions.get(peerKey(address, port));
    return peer?.established ? peer.session : undefined;
  }

  /** Ends a peer's session (close_notify sent). Returns false when there was none. Emits 'sessionClosed'. */
  closeSession(address: string, port: number): boolean {
    const peer = this.#sessions.get(peerKey(address, port));
    if (!peer) return false;
    this.#remove(peer, 'closed', true);
    return true;
  }

  sendPlaintext(data: Uint8Array, port: number, address: string | undefined, callback?: SendCallback): void {
    const key = address !== undefined ? peerKey(address, port) : this.#lastPeerByPort.get(port);
    const peer = key !== undefined ? this.#sessions.get(key) : undefined;
    if (!peer?.established || !peer.handle) {
      if (callback) process.nextTick(callback, new DtlsError(`no established DTLS session for ${key ?? `port ${port}`}`));
      else this.#log.debug({ peer: key ?? `port ${port}` }, 'plaintext for a peer without an established DTLS session dropped');
      return;
    }
    let out: Buffer[];
    try {
      out = native.write(peer.handle, data);
    } catch (cause) {
      if (callback) process.nextTick(callback, new DtlsError(`cannot encrypt for ${key}: ${(cause as Error).message}`, { cause }));
      return;
    }
    const failed = fields[native.F_STATE] === STATE_FAILED;
    this.#send(peer, out, out.length, callback, data.length);
    if (failed) this.#remove(peer, 'failed');
  }

  #wrapLookup(lookup: (identity: string) => Uint8Array | undefined): (identity: string) => Uint8Array | undefined {
    return (identity) => {
      try {
        return lookup(identity);
      } catch (error) {
        this.#log.error({ err: error, pskIdentity: identity.slice(0, 64) }, 'PSK lookup failed');
        throw error; // the engine aborts the handshake and reports psk-lookup-failed
      }
    };
  }

  #onDatagram(msg: Buffer, rinfo: dgram.RemoteInfo): void {
    this.#guard(() => this.#route(msg, rinfo), 'DTLS datagram handling');
  }

  /**
   * Runs work from the event loop (a datagram, a timer) so that nothing escapes to the process: only a
   * bug of ours or a throwing event listener can get here, and the server keeps serving the others.
   */
  #guard(work: () => void, what: string): void {
    try {
      work();
    } catch (error) {
      this.#log.error({ err: error }, `${what} failed`);
    }
  }

  #route(msg: Buffer, rinfo: dgram.RemoteInfo): void {
    const key = peerKey(rinfo.address, rinfo.port);
    const peer = this.#sessions.get(key);
    if (!looksLikeDtls(msg)) {
      this.#drop('malformed-record', rinfo.address, rinfo.port);
      return;
    }
    if (isInitialClientHello(msg)) {
      if (peer && peer.hello.equals(clientHelloFingerprint(msg))) {
        // The same ClientHello again: a retransmission while handshaking, a late duplicate or replay after.
        if (peer.established) this.#drop('replayed-client-hello', rinfo.address, rinfo.port);
        else this.#feed(peer, msg);
        return;
      }
      this.#handshake(key, msg, rinfo, peer);
      return;
    }
    if (!peer) {
      this.#drop('no-session', rinfo.address, rinfo.port);
      return;
    }
    if (hasTruncatedProtectedRecord(msg)) {
      this.#drop('bad-record', rinfo.address, rinfo.port, 'protected record shorter than nonce and tag');
      return;
    }
    this.#feed(peer, msg);
  }

  /** A ClientHello that may start a session: stateless cookie check first, state only after it. */
  #handshake(key: string, msg: Buffer, rinfo: dgram.RemoteInfo, existing: Peer | undefined): void {
    const res = native.listen(this.#ctx, msg, key);
    if (fields[native.F_LISTEN] !== 1) {
      const out = res as Buffer[];
      if (out.length > 0) {
        this.#helloVerifyRequests++;
        for (const d of out) this.#udp?.send(d, rinfo.port, rinfo.address);
      } else {
        this.#drop('malformed-client-hello', rinfo.address, rinfo.port, native.lastError() || undefined);
      }
      return;
    }
    const session = res as SessionHandle;
    const over: DropReason | undefined =
      this.#handshakes >= this.#options.maxHandshakes
        ? 'handshake-cap'
        : !existing && this.#sessions.size >= this.#options.maxSessions
          ? 'session-cap'
          : undefined;
    if (over) {
      native.close(session);
      this.#drop(over, rinfo.address, rinfo.port);
      return;
    }
    if (existing) this.#remove(existing, 'replaced');
    const now = Date.now();
    const peer: Peer = {
      key,
      address: rinfo.address,
      port: rinfo.port,
      family: rinfo.family === 'IPv6' ? 'IPv6' : 'IPv4',
      handle: session,
      established: false,
      hello: clientHelloFingerprint(msg),
      lastActivity: now,
      deadline: now + this.#options.handshakeTimeoutMs,
      timer: undefined,
      session: undefined,
    };
    this.#sessions.set(key, peer);
    this.#handshakes++;
    // The session holds the verified ClientHello: driving it without a datagram sends the first flight.
    this.#apply(peer, native.feed(session), undefined);
  }

  #feed(peer: Peer, msg: Buffer): void {
    if (peer.handle) this.#apply(peer, native.feed(peer.handle, msg), msg);
  }

  /**
   * Acts on an engine result (`result`: the datagrams to send, then the plaintexts; the scalars in
   * `fields`): send, move the state on, deliver plaintext, rearm the timer.
   */
  #apply(peer: Peer, result: Buffer[], inbound: Buffer | undefined): void {
    // Copy the scalars first: a plaintext handler may write back, which calls the engine again.
    const state = fields[native.F_STATE]!;
    const established = fields[native.F_ESTABLISHED] === 1;
    const timeoutMs = fields[native.F_TIMEOUT]!;
    const flags = fields[native.F_FLAGS]!;
    const outCount = fields[native.F_OUT]!;
    const detail = flags & native.FLAG_ERROR ? native.lastError() : undefined;
    this.#send(peer, result, outCount);
    if (state === STATE_FAILED) {
      if (peer.established) {
        this.#log.debug({ address: peer.address, port: peer.port, detail }, 'DTLS session failed');
        this.#remove(peer, 'failed');
      } else {
        this.#remove(peer, undefined);
        const reason: DropReason =
          flags & native.FLAG_PSK_ERROR ? 'psk-lookup-failed' : flags & native.FLAG_PSK_UNKNOWN ? 'unknown-psk-identity' : 'handshake-failed';
        this.#drop(reason, peer.address, peer.port, detail);
      }
      return;
    }
    if (established) this.#establish(peer);
    if (result.length > outCount) {
      this.#touch(peer);
      const session = peer.session!;
      for (let i = outCount; i < result.length; i++) {
        if (!peer.handle) return; // a handler closed the session meanwhile
        const data = result[i]!;
        this.socket.deliver(data, { address: peer.address, port: peer.port, family: peer.family, size: data.length, dtls: session.dtls });
      }
    } else if (inbound && peer.established && !established && hasApplicationData(inbound)) {
      this.#drop('bad-record', peer.address, peer.port);
    }
    if (!peer.handle) return;
    if (state === STATE_CLOSED) {
      this.#remove(peer, 'closed-by-peer');
      return;
    }
    this.#armRetransmit(peer, timeoutMs);
  }

  #establish(peer: Peer): void {
    peer.established = true;
    this.#handshakes--;
    if (peer.timer) clearTimeout(peer.timer);
    peer.timer = undefined;
    const info = native.info(peer.handle!);
    const dtls: DtlsPeerInfo = Object.freeze({
      cipher: info.cipher,
      version: info.version,
      ...(info.pskIdentity !== undefined ? { pskIdentity: info.pskIdentity } : {}),
      ...(info.peerCertificate !== undefined ? { peerCertificate: new Uint8Array(info.peerCertificate) } : {}),
    });
    peer.session = Object.freeze({ address: peer.address, port: peer.port, family: peer.family, dtls });
    this.#touch(peer);
    this.#lastPeerByPort.set(peer.port, peer.key);
    this.#log.debug({ address: peer.address, port: peer.port, cipher: dtls.cipher, pskIdentity: dtls.pskIdentity }, 'DTLS session established');
    this.emit('session', peer.session);
  }

  /** Arms the one handshake timer: OpenSSL's retransmission timeout, capped by the handshake deadline. */
  #armRetransmit(peer: Peer, timeoutMs: number): void {
    if (peer.timer) clearTimeout(peer.timer);
    peer.timer = undefined;
    if (peer.established) return;
    const untilDeadline = peer.deadline - Date.now();
    const delay = timeoutMs < 0 ? untilDeadline : Math.min(timeoutMs, untilDeadline);
    peer.timer = setTimeout(() => {
      peer.timer = undefined;
      this.#guard(() => {
        if (!peer.handle) return;
        if (Date.now() >= peer.deadline) {
          this.#remove(peer, undefined);
          this.#drop('handshake-timeout', peer.address, peer.port);
          return;
        }
        this.#apply(peer, native.handleTimeout(peer.handle), undefined);
      }, 'DTLS handshake timer');
    }, Math.max(1, delay)).unref();
  }

  /** Authenticated inbound traffic: refresh the idle clock and keep #sessions in least-recent-first order. */
  #touch(peer: Peer): void {
    peer.lastActivity = Date.now();
    this.#sessions.delete(peer.key);
    this.#sessions.set(peer.key, peer);
    this.#lastPeerByPort.set(peer.port, peer.key);
  }

  #expireIdle(): void {
    const limit = Date.now() - this.#options.idleTimeoutMs;
    for (const peer of this.#sessions.values()) {
      if (!peer.established) continue; // handshakes have their own deadline
      if (peer.lastActivity > limit) break; // the rest is more recent
      this.#remove(peer, 'idle');
    }
  }

  /** Frees a peer's session; emits 'sessionClosed' when it had been established. */
  #remove(peer: Peer, reason: SessionClosedReason | undefined, notify = false): void {
    const handle = peer.handle;
    if (!handle) return;
    peer.handle = undefined;
    if (peer.timer) clearTimeout(peer.timer);
    peer.timer = undefined;
    const out = native.close(handle, notify);
    this.#send(peer, out, out.length);
    if (this.#sessions.get(peer.key) === peer) this.#sessions.delete(peer.key);
    if (this.#lastPeerByPort.get(peer.port) === peer.key) this.#lastPeerByPort.delete(peer.port);
    if (!peer.established) {
      this.#handshakes--;
      return;
    }
    if (reason) {
      this.#log.debug({ address: peer.address, port: peer.port, reason }, 'DTLS session closed');
      this.emit('sessionClosed', peer.session!, reason);
    }
  }

  /** Sends the first `count` datagrams; the callback, if any, follows the last one. */
  #send(peer: Peer, datagrams: Buffer[], count: number, callback?: SendCallback, bytes?: number): void {
    const udp = this.#udp;
    if (!udp) {
      if (callback) process.nextTick(callback, new DtlsError('not listening'));
      return;
    }
    if (count === 0) {
      if (callback) process.nextTick(callback, null, 0);
      return;
    }
    for (let i = 0; i < count - 1; i++) udp.send(datagrams[i]!, peer.port, peer.address);
    if (callback) udp.send(datagrams[count - 1]!, peer.port, peer.address, (error) => callback(error ?? null, bytes));
    else udp.send(datagrams[count - 1]!, peer.port, peer.address);
  }

  #drop(reason: DropReason, address: string, port: number, detail?: string): void {
    this.#log.debug({ reason, address, port, detail }, 'DTLS traffic dropped');
    this.emit('dropped', { reason, address, port, ...(detail ? { detail } : {}) });
  }

  #reportError(error: Error): void {
    if (this.listenerCount('error') > 0) this.emit('error', error);
    else this.#log.error({ err: error }, 'DTLS UDP socket error');
  }
}

function peerKey(address: string, port: number): string {
  return address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`;
}

function positive(value: number | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  if (!Number.isFinite(value) || value <= 0) throw new InvalidArgumentError(name, 'must be a positive number');
  return value;
}
