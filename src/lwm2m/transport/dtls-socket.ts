/**
 * The plaintext face of a DTLS server for node-coap (RFC 7252 §9 "coaps"): a `dgram.Socket` subclass
 * that is never bound. node-coap's Server and Agent can share one instance (`server.listen(socket)`,
 * `new Agent({ socket })`). Its 'message' events carry decrypted datagrams with `rinfo.dtls`, and
 * `send()` encrypts into the peer's session through a `SecureDatagramBackend`.
 *
 * Why a subclass: node-coap replays cached responses and sends error replies only
 * `if (sock instanceof dgram.Socket)`. Its `_sendError` also calls `send(msg, 0, len, port)` with no
 * address, which the backend resolves from the port.
 */
import dgram from 'node:dgram';
import type { AddressInfo } from 'node:net';
import type { SecureDatagramBackend, SecureRemoteInfo, SendCallback } from './contract.js';
import { DtlsError } from './errors.js';

type Payload = string | ArrayBufferView | ReadonlyArray<unknown>;

export class DtlsSocket extends dgram.Socket {
  readonly #backend: SecureDatagramBackend;
  #closed = false;

  constructor(backend: SecureDatagramBackend) {
    // dgram.Socket needs a type to build its (never bound) handle; @types/node hides the constructor.
    super(...([{ type: 'udp4' }] as unknown as []));
    this.#backend = backend;
  }

  /** Called by the backend for each decrypted datagram. */
  deliver(plaintext: Buffer, rinfo: SecureRemoteInfo): void {
    if (!this.#closed) this.emit('message', plaintext, rinfo);
  }

  /**
   * dgram's overloads: `(msg, offset, length, port, address?, cb?)` and `(msg, port, address?, cb?)`.
   * Never throws for a missing session: the callback (or an 'error'-free drop) reports it.
   */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  override send(msg: Payload, ...args: any[]): void {
    const callback: SendCallback | undefined = typeof args[args.length - 1] === 'function' ? args.pop() : undefined;
    let data = toBytes(msg);
    let port: unknown;
    let address: unknown;
    if (typeof args[0] === 'number' && typeof args[1] === 'number' && typeof args[2] === 'number') {
      const offset = args[0];
      const length = args[1];
      data = data.subarray(offset, offset + length);
      port = args[2];
      address = args[3];
    } else {
      port = args[0];
      address = args[1];
    }
    if (this.#closed || typeof port !== 'number' || (address !== undefined && address !== null && typeof address !== 'string')) {
      const error = new DtlsError(this.#closed ? 'socket is closed' : 'send needs a port and an optional address');
      if (callback) process.nextTick(callback, error);
      return;
    }
    this.#backend.sendPlaintext(data, port, typeof address === 'string' ? address : undefined, callback);
  }

  override address(): AddressInfo {
    return this.#backend.address();
  }

  /** The socket is a view on the server's sessions: binding it is a programming error. */
  override bind(): this {
    throw new DtlsError('DtlsSocket is never bound: the DTLS server owns the UDP socket');
  }

  /** Stops delivering messages and emits 'close'; the server's UDP socket is closed by the server. */
  override close(callback?: () => void): this {
    if (this.#closed) {
      if (callback) process.nextTick(callback);
      return this;
    }
    this.#closed = true;
    // Releases the unbound handle dgram created; emits 'close' on the next tick.
    super.close(callback);
    return this;
  }

  override ref(): this {
    return this;
  }

  override unref(): this {
    return this;
  }
}

function toBytes(msg: Payload): Buffer {
  if (typeof msg === 'string') return Buffer.from(msg);
  if (ArrayBuffer.isView(msg)) return Buffer.from(msg.buffer, msg.byteOffset, msg.byteLength);
  return Buffer.concat(msg.map((m) => (typeof m === 'string' ? Buffer.from(m) : ArrayBuffer.isView(m) ? toBytes(m) : Buffer.alloc(0))));
}
