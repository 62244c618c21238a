/**
 * The datagram socket contract the CoAP endpoint runs on: a node:dgram Socket for coap://, or the DTLS
 * socket (src/lwm2m/transport) for coaps://, which delivers decrypted datagrams with the authenticated
 * identity in `rinfo.dtls`. Nothing here knows which one it is.
 */

/** What the DTLS layer reports about the authenticated peer of a datagram. */
export interface DtlsPeerInfo {
  readonly pskIdentity?: string | Uint8Array;
  readonly peerCertificate?: unknown;
  readonly cipher?: string;
  readonly version?: string;
}

export interface DatagramInfo {
  readonly address: string;
  readonly port: number;
  readonly size?: number;
  readonly family?: string;
  readonly dtls?: DtlsPeerInfo;
}

export interface DatagramSocket {
  on(event: 'message', listener: (message: Buffer, rinfo: DatagramInfo) => void): unknown;
  on(event: 'error', listener: (error: Error) => void): unknown;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  removeListener(event: 'message' | 'error', listener: (...args: any[]) => void): unknown;
  send(message: Uint8Array, port: number, address: string, callback?: (error: Error | null) => void): void;
}

export interface Peer {
  readonly address: string;
  readonly port: number;
}

export function peerKey(peer: Peer): string {
  return `${peer.address}|${peer.port}`;
}
