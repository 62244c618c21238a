/**
 * In-memory datagram sockets for tests that need what the DTLS socket adds: every datagram delivered to
 * the server carries `rinfo.dtls.pskIdentity` of the sending socket, as the DTLS layer would report it.
 */
import { EventEmitter } from 'node:events';
import type { DatagramSocket, DtlsPeerInfo } from '../../src/lwm2m/coap/socket.js';

export class MemoryNetwork {
  readonly #sockets = new Map<string, MemorySocket>();

  socket(address: string, port: number, dtls?: DtlsPeerInfo): MemorySocket {
    const s = new MemorySocket(this, address, port, dtls);
    this.#sockets.set(`${address}|${port}`, s);
    return s;
  }

  deliver(from: MemorySocket, message: Uint8Array, port: number, address: string): void {
    const to = this.#sockets.get(`${address}|${port}`);
    if (to === undefined) return;
    setImmediate(() => to.emit('message', Buffer.from(message), { address: from.address, port: from.port, size: message.length, dtls: from.dtls }));
  }
}

export class MemorySocket extends EventEmitter implements DatagramSocket {
  constructor(readonly network: MemoryNetwork, readonly address: string, readonly port: number, readonly dtls: DtlsPeerInfo | undefined) {
    super();
  }

  send(message: Uint8Array, port: number, address: string, callback?: (error: Error | null) => void): void {
    this.network.deliver(this, message, port, address);
    callback?.(null);
  }
}
