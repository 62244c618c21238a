/**
 * The secure datagram contract between a DTLS implementation and the CoAP/LwM2M layers (RFC 6347,
 * LwM2M 1.1 Transport §5.2 security modes PSK and Certificate). The CoAP side sees only a `DtlsSocket`
 * (plaintext datagrams with an authenticated `rinfo.dtls`); the LwM2M side also listens to session
 * events. Any DTLS engine (today the OpenSSL addon, later a pure-TypeScript one with raw public keys and
 * Connection ID) plugs in by implementing `SecureDatagramBackend` and `SecureTransport`.
 */
import type { AddressInfo } from 'node:net';

/** What the DTLS handshake authenticated; the LwM2M layer binds it to the endpoint name. */
export interface DtlsPeerInfo {
  /** PSK identity the peer proved it holds the key for (PSK suites). */
  readonly pskIdentity?: string;
  /** The peer's X.509 certificate, DER (certificate suites with client authentication). */
  readonly peerCertificate?: Uint8Array;
  /** Negotiated suite, OpenSSL naming, e.g. 'PSK-AES128-CCM8'. */
  readonly cipher: string;
  /** Protocol version, e.g. 'DTLSv1.2'. */
  readonly version: string;
}

/** `rinfo` of each plaintext 'message': dgram's RemoteInfo plus the session's authenticated identity. */
export interface SecureRemoteInfo {
  readonly address: string;
  readonly port: number;
  readonly family: 'IPv4' | 'IPv6';
  /** Plaintext length. */
  readonly size: number;
  readonly dtls: DtlsPeerInfo;
}

/** One authenticated session, as reported by 'session' and 'sessionClosed'. */
export interface SecureSession {
  readonly address: string;
  readonly port: number;
  readonly family: 'IPv4' | 'IPv6';
  readonly dtls: DtlsPeerInfo;
}

/** Why a datagram or a handshake was dropped (bad traffic); each is reported once per occurrence. */
export type DropReason =
  /** Not a DTLS record at all (random bytes, wrong version). */
  | 'malformed-record'
  /** A DTLS record from a peer with no session that is not an initial ClientHello. */
  | 'no-session'
  /** A record of an established session that failed authentication (bad MAC) or was a replay. */
  | 'bad-record'
  /** An initial ClientHello the engine refused to parse. */
  | 'malformed-client-hello'
  /** A ClientHello identical to the one that opened the current session (a late duplicate or replay). */
  | 'replayed-client-hello'
  /** The PSK lookup found no key for the identity: the handshake failed with unknown_psk_identity. */
  | 'unknown-psk-identity'
  /** The PSK lookup threw. */
  | 'psk-lookup-failed'
  /** The handshake failed (fatal alert sent or received, no shared cipher, missing client certificate...). */
  | 'handshake-failed'
  /** The handshake did not finish in time (lost flights, or a wrong PSK: its Finished never decrypts). */
  | 'handshake-timeout'
  /** A verified ClientHello arrived while the cap on handshakes in progress was reached. */
  | 'handshake-cap'
  /** A verified ClientHello arrived while the cap on sessions was reached. */
  | 'session-cap';

export interface DroppedEvent {
  readonly reason: DropReason;
  readonly address: string;
  readonly port: number;
  /** Engine error text, when there is one (never key material). */
  readonly detail?: string;
}

/** Why an authenticated session ended. */
export type SessionClosedReason =
  /** No authenticated inbound data for the idle timeout. */
  | 'idle'
  /** The peer sent close_notify. */
  | 'closed-by-peer'
  /** A fatal alert or an engine error ended the session. */
  | 'failed'
  /** A new handshake from the same ip:port (device reboot) replaced the session. */
  | 'replaced'
  /** The application closed it (closeSession) or the server shut down. */
  | 'closed';

/** Callback of a send: dgram's shape. */
export type SendCallback = (error: Error | null, bytes?: number) => void;

/**
 * What a `DtlsSocket` needs from the engine under it. Implementations own the real UDP socket and the
 * sessions; the socket only adapts dgram's API.
 */
export interface SecureDatagramBackend {
  /**
   * Encrypts `data` into the session of `address:port` and sends it. With no address (node-coap's
   * `_sendError` omits it), the backend picks the peer that most recently sent from `port`. When there
   * is no established session the callback gets a DtlsError (asynchronously) and nothing is sent.
   */
  sendPlaintext(data: Uint8Array, port: number, address: string | undefined, callback?: SendCallback): void;
  /** The bound local address of the real UDP socket. Throws when not listening. */
  address(): AddressInfo;
}

/** Counters exposed for tests, metrics and the bench. */
export interface SecureTransportStats {
  /** Live sessions, handshaking or established. */
  readonly sessions: number;
  /** Sessions still handshaking. */
  readonly handshakes: number;
  /** HelloVerifyRequests sent (stateless cookie answers). */
  readonly helloVerifyRequests: number;
}

/** Events of a secure transport, for the LwM2M layer. */
export interface SecureTransportEvents {
  session: [session: SecureSession];
  sessionClosed: [session: SecureSession, reason: SessionClosedReason];
  dropped: [event: DroppedEvent];
  error: [error: Error];
}
