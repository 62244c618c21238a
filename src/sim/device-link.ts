/**
 * The radio and IP path of one simulated device (LwM2M 1.1.1 Transport §5.2 DTLS with PSK, §6.5 queue
 * mode; 3GPP PSM and eDRX as seen from the application): a DatagramSocket for the LwM2M client that opens
 * its UDP socket (coap://) or DTLS session (coaps://, PSK TLS_PSK_WITH_AES_128_CCM_8 through
 * node-dtls-client) on first use, and can lose it.
 *
 * - Gate 'open': datagrams flow. 'psm': the radio is off, everything in or out is dropped. 'edrx': the
 *   device is idle; it may send (mobile-originated data), and the network buffers what arrives for it until
 *   the next paging occasion (`radioOn()` releases the buffer; a few datagrams at most, like an S-GW).
 * - `release()` models a NAT mapping that expired while the device slept: the next uplink leaves from a new
 *   source port and, over DTLS without Connection ID, needs a new handshake (shared/notes/lwm2m.md §3.4).
 *
 * node-dtls-client is loaded with a dynamic import so coap:// devices run without it installed.
 */
import { createSocket, type Socket } from 'node:dgram';
import { EventEmitter } from 'node:events';
import { EimError } from '../errors.js';
import type { DatagramInfo, DatagramSocket, Peer } from '../lwm2m/coap/socket.js';

export type LinkSecurity = { readonly kind: 'nosec' } | { readonly kind: 'psk'; readonly identity: string; readonly key: Uint8Array };

export type Gate = 'open' | 'psm' | 'edrx';

export interface DeviceLinkOptions {
  readonly server: Peer;
  readonly security: LinkSecurity;
  /** Local address for coap:// sockets (default 0.0.0.0; tests use 127.0.0.1). */
  readonly localAddress?: string;
  /** DTLS handshake deadline (default 10 s). */
  readonly handshakeTimeoutMs?: number;
}

/** Datagrams the network holds for a device in eDRX: a few, like an S-GW's downlink buffer. */
const EDRX_BUFFER = 8;

/** The part of node-dtls-client's socket we use. */
interface DtlsClientSocket extends EventEmitter {
  send(data: Buffer, callback?: (error: Error | null, bytes: number) => void): void;
  close(callback?: () => void): void;
}

type DtlsModule = { dtls: { createSocket(options: Record<string, unknown>): DtlsClientSocket } };

let dtlsModule: Promise<DtlsModule> | undefined;

/** node-dtls-client, loaded once; a clear error when it is not installed. */
export function loadDtlsClient(): Promise<DtlsModule> {
  dtlsModule ??= import('node-dtls-client').then(
    (m) => m as unknown as DtlsModule,
    (cause: unknown) => {
      dtlsModule = undefined;
      throw new EimError('EIM_ERR_CONFIG', 'coaps:// devices need the node-dtls-client package (npm install node-dtls-client)', { cause });
    },
  );
  return dtlsModule;
}

interface Pending {
  readonly data: Uint8Array;
  readonly callback: ((error: Error | null) => void) | undefined;
}

/** One live transport: a UDP socket or a DTLS session (its own UDP socket inside). */
interface Carrier {
  readonly kind: 'udp' | 'dtls';
  ready: boolean;
  readonly queue: Pending[];
  udp?: Socket;
  dtls?: DtlsClientSocket;
}

export class DeviceLink extends EventEmitter implements DatagramSocket {
  readonly #options: DeviceLinkOptions;
  #carrier: Carrier | undefined;
  #gate: Gate = 'open';
  #held: Buffer[] = [];
  #closed = false;
  /** DTLS handshakes completed. */
  handshakes = 0;

  constructor(options: DeviceLinkOptions) {
    super();
    this.#options = options;
  }

  /** The local UDP port of the current transport, undefined when none is open. */
  get localPort(): number | undefined {
    const c = this.#carrier;
    if (c?.udp === undefined) return undefined;
    try {
      return c.udp.address().port;
    } catch {
      return undefined;
    }
  }

  /** Radio on: datagrams flow again; what the network held in eDRX is delivered now. */
  radioOn(): void {
    this.#gate = 'open';
    const held = this.#held;
    this.#held = [];
    for (const m of held) this.#emitMessage(m);
  }

  /** Radio off (PSM) or idle with paging (eDRX). */
  radioOff(mode: Exclude<Gate, 'open'> = 'psm'): void {
    this.#gate = mode;
    if (mode === 'psm') this.#held = [];
  }

  /** The NAT mapping is gone: drop the transport; the next uplink opens a new one from a new port. */
  release(): void {
    const c = this.#carrier;
    this.#carrier = undefined;
    if (c === undefined) return;
    for (const p of c.queue) p.callback?.(new EimError('EIM_ERR_TRANSPORT', 'transport released'));
    c.queue.length = 0;
    c.udp?.removeAllListeners('message');
    if (c.dtls !== undefined) {
      c.dtls.removeAllListeners();
      c.dtls.on('error', () => undefined);
      // No close_notify: a device behind an expired NAT mapping just vanishes.
      const inner = (c.dtls as unknown as { udp?: Socket }).udp;
      try {
        inner?.removeAllListeners('message');
        inner?.close();
      } catch {
        // already closed
      }
    } else {
      try {
        c.udp?.close();
      } catch {
        // already closed
      }
    }
  }

  /** Closes for good (the device is switched off). */
  shutdown(): void {
    this.#closed = true;
    this.release();
    this.removeAllListeners('message');
  }

  send(message: Uint8Array, port: number, address: string, callback?: (error: Error | null) => void): void {
    if (this.#closed || this.#gate === 'psm') {
      callback?.(null); // lost on the air, as with a radio that is off
      return;
    }
    if (port !== this.#options.server.port || address !== this.#options.server.address) {
      callback?.(new EimError('EIM_ERR_TRANSPORT', `a device only talks to its server, not ${address}:${port}`));
      return;
    }
    const c = this.#carrier ?? this.#openCarrier();
    if (!c.ready) {
      c.queue.push({ data: Uint8Array.from(message), callback });
      return;
    }
    this.#transmit(c, message, callback);
  }

  #transmit(c: Carrier, data: Uint8Array, callback: ((error: Error | null) => void) | undefined): void {
    const { address, port } = this.#options.server;
    if (c.kind === 'udp') c.udp!.send(data, port, address, (e) => callback?.(e ?? null));
    else {
      try {
        c.dtls!.send(Buffer.from(data), (e) => callback?.(e ?? null));
      } catch (e) {
        callback?.(e as Error);
      }
    }
  }

  #openCarrier(): Carrier {
    const security = this.#options.security;
    const c: Carrier = { kind: security.kind === 'psk' ? 'dtls' : 'udp', ready: false, queue: [] };
    this.#carrier = c;
    const flush = (): void => {
      if (this.#carrier !== c) return;
      c.ready = true;
      const queue = c.queue.splice(0);
      for (const p of queue) this.#transmit(c, p.data, p.callback);
    };
    const fail = (error: Error): void => {
      if (this.#carrier !== c) return;
      this.#carrier = undefined;
      const queue = c.queue.splice(0);
      for (const p of queue) p.callback?.(error);
      this.emit('linkError', error);
    };
    if (security.kind === 'nosec') {
      const udp = createSocket('udp4');
      c.udp = udp;
      udp.on('message', (m: Buffer) => this.#inbound(c, m));
      udp.on('error', (e) => fail(e));
      udp.bind(0, this.#options.localAddress ?? '0.0.0.0', flush);
      return c;
    }
    void loadDtlsClient().then(
      ({ dtls }) => {
        if (this.#carrier !== c) return;
        const { address, port } = this.#options.server;
        const socket = dtls.createSocket({
          type: 'udp4',
          address,
          port,
          psk: { [security.identity]: Buffer.from(security.key) },
          ciphers: ['TLS_PSK_WITH_AES_128_CCM_8'],
          timeout: this.#options.handshakeTimeoutMs ?? 10_000,
        });
        c.dtls = socket;
        c.udp = (socket as unknown as { udp?: Socket }).udp;
        socket.on('connected', () => {
          this.handshakes++;
          flush();
        });
        socket.on('message', (m: Buffer) => this.#inbound(c, m));
        socket.on('error', (e: Error) => fail(e));
        socket.on('close', () => fail(new EimError('EIM_ERR_DTLS', 'DTLS session closed')));
      },
      (e: Error) => fail(e),
    );
    return c;
  }

  #inbound(c: Carrier, message: Buffer): void {
    if (this.#carrier !== c || this.#closed) return;
    if (this.#gate === 'psm') return;
    if (this.#gate === 'edrx') {
      if (this.#held.length < EDRX_BUFFER) this.#held.push(message);
      return;
    }
    this.#emitMessage(message);
  }

  #emitMessage(message: Buffer): void {
    const rinfo: DatagramInfo = { address: this.#options.server.address, port: this.#options.server.port, size: message.length };
    this.emit('message', message, rinfo);
  }
}
