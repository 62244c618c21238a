/**
 * Test harness for the DTLS transport (RFC 6347): a server on 127.0.0.1 port 0 that records its events,
 * a bounded wait, a node-dtls-client PSK connector, and raw ClientHello bytes for stateless-cookie tests.
 */
import dgram from 'node:dgram';
import { dtls } from 'node-dtls-client';
import type { DroppedEvent, SecureSession, SessionClosedReason } from '../../../src/lwm2m/transport/contract.js';
import { DtlsServer, type DtlsServerOptions } from '../../../src/lwm2m/transport/dtls-server.js';

export const PSK_IDENTITY = 'urn:imei:490154203237518';
export const PSK_KEY = Buffer.from('000102030405060708090a0b0c0d0e0f', 'hex');

export interface Harness {
  server: DtlsServer;
  port: number;
  sessions: SecureSession[];
  closed: { session: SecureSession; reason: SessionClosedReason }[];
  dropped: DroppedEvent[];
  close(): Promise<void>;
}

/** A PSK lookup that knows one device. */
export function onePsk(identity = PSK_IDENTITY, key: Uint8Array = PSK_KEY): (id: string) => Uint8Array | undefined {
  return (id) => (id === identity ? key : undefined);
}

export async function startServer(options: Partial<DtlsServerOptions> = {}): Promise<Harness> {
  const server = new DtlsServer({ host: '127.0.0.1', port: 0, pskLookup: onePsk(), ...options });
  const h: Harness = {
    server,
    port: 0,
    sessions: [],
    closed: [],
    dropped: [],
    close: () => server.close(),
  };
  server.on('session', (s) => h.sessions.push(s));
  server.on('sessionClosed', (session, reason) => h.closed.push({ session, reason }));
  server.on('dropped', (e) => h.dropped.push(e));
  h.port = (await server.listen()).port;
  return h;
}

/** Polls `condition` every 10 ms; rejects after `timeoutMs`. */
export async function waitFor(condition: () => boolean, timeoutMs = 5000, what = 'condition'): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

export const delay = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Connects with node-dtls-client (PSK, AES-128-CCM-8); resolves once the handshake finished. */
export function connectPsk(
  port: number,
  identity = PSK_IDENTITY,
  key: Buffer = PSK_KEY,
  options: { timeoutMs?: number; listenPort?: number } = {},
): Promise<dtls.Socket> {
  return new Promise((resolve, reject) => {
    const socket = dtls.createSocket({
      type: 'udp4',
      address: '127.0.0.1',
      port,
      psk: { [identity]: key },
      ciphers: ['TLS_PSK_WITH_AES_128_CCM_8'],
      timeout: options.timeoutMs ?? 3000,
      ...(options.listenPort !== undefined ? { listenPort: options.listenPort } : {}),
    });
    socket.once('connected', () => resolve(socket));
    socket.once('error', (e: Error) => reject(e));
    socket.once('close', () => reject(new Error('closed before connecting')));
  });
}

/** Closes a node-dtls-client socket without close_notify, as a device that lost power. */
export function vanish(socket: dtls.Socket): void {
  const udp = (socket as unknown as { udp?: dgram.Socket }).udp;
  socket.removeAllListeners();
  socket.on('error', () => {});
  udp?.removeAllListeners('message');
  udp?.close();
}

/** A minimal DTLS 1.2 ClientHello offering TLS_PSK_WITH_AES_128_CCM_8 (RFC 6347 §4.2.1), with an optional cookie. */
export function clientHello(cookie: Uint8Array = new Uint8Array(0), random: Uint8Array = new Uint8Array(32).fill(7)): Buffer {
  const body = Buffer.concat([
    Buffer.from([0xfe, 0xfd]),
    Buffer.from(random),
    Buffer.from([0]), // session_id
    Buffer.from([cookie.length]),
    Buffer.from(cookie),
    Buffer.from([0x00, 0x02, 0xc0, 0xa8]),
    Buffer.from([0x01, 0x00]), // null compression
  ]);
  const len3 = (n: number): Buffer => Buffer.from([(n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff]);
  // RFC 6347 §4.2.2: the ClientHello that echoes a cookie is message_seq 1.
  const messageSeq = cookie.length > 0 ? 1 : 0;
  const handshake = Buffer.concat([Buffer.from([1]), len3(body.length), Buffer.from([0, messageSeq]), len3(0), len3(body.length), body]);
  const header = Buffer.from([22, 0xfe, 0xfd, 0, 0, 0, 0, 0, 0, 0, cookie.length > 0 ? 1 : 0, handshake.length >> 8, handshake.length & 0xff]);
  return Buffer.concat([header, handshake]);
}

/** The cookie of a HelloVerifyRequest datagram, or undefined. */
export function helloVerifyCookie(datagram: Buffer): Buffer | undefined {
  // record header 13, handshake header 12, server_version 2, cookie length 1
  if (datagram.length < 28 || datagram[0] !== 22 || datagram[13] !== 3) return undefined;
  const len = datagram[27]!;
  return datagram.subarray(28, 28 + len);
}

/** A UDP socket on 127.0.0.1 that collects what it receives. */
export async function rawPeer(): Promise<{ socket: dgram.Socket; received: Buffer[]; send(d: Buffer, port: number): void }> {
  const socket = dgram.createSocket('udp4');
  const received: Buffer[] = [];
  socket.on('message', (m) => received.push(m));
  await new Promise<void>((r) => socket.bind(0, '127.0.0.1', () => r()));
  return { socket, received, send: (d, port) => socket.send(d, port, '127.0.0.1') };
}

/** A stalled handshake: a cookie-verified ClientHello whose server flight is never answered. */
export async function stalledHandshake(port: number): Promise<dgram.Socket> {
  const peer = await rawPeer();
  peer.send(clientHello(), port);
  await waitFor(() => peer.received.length > 0, 2000, 'HelloVerifyRequest');
  const cookie = helloVerifyCookie(peer.received[0]!);
  if (!cookie) throw new Error('no cookie in the HelloVerifyRequest');
  peer.send(clientHello(cookie), port);
  await waitFor(() => peer.received.length > 1, 2000, 'ServerHello flight');
  return peer.socket;
}
