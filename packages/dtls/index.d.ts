// Types of the native DTLS 1.2 server engine (see README.md). Handles are opaque; every call is
// synchronous and does no I/O: the caller sends `out` datagrams and delivers `data` plaintexts.

/** Opaque server context (one SSL_CTX, cookie secret and listener). */
export type ContextHandle = { readonly __brand: 'eim-dtls-context' };
/** Opaque per-peer session, created only after a verified cookie. */
export type SessionHandle = { readonly __brand: 'eim-dtls-session' };

export interface ContextOptions {
  /** OpenSSL cipher list, e.g. 'PSK-AES128-CCM8:ECDHE-ECDSA-AES128-CCM8'. */
  ciphers?: string;
  /** Maximum UDP payload for handshake flights (256..16384). */
  mtu?: number;
  /** Synchronous PSK lookup; return undefined (or empty) for an unknown identity. */
  psk?: (identity: string) => Uint8Array | undefined;
  /** Server certificate (leaf first, then chain) and private key, PEM. */
  certPem?: string;
  keyPem?: string;
  /** Require a client certificate on certificate suites; any certificate is accepted, the app checks it. */
  requestClientCert?: boolean;
}

/** Session state after a call: 0 handshake, 1 established, 2 closed by peer, 3 failed. */
export type SessionState = 0 | 1 | 2 | 3;

export interface Result {
  state: SessionState;
  /** True on the call that completed the handshake. */
  established: boolean;
  out: Buffer[];
  data: Buffer[];
  /** Milliseconds until handleTimeout() must be called, or -1 for no timer. */
  timeoutMs: number;
  /** Present (true) when the PSK lookup found no key: the handshake failed with unknown_psk_identity. */
  pskUnknown?: true;
  /** Present (true) when the PSK lookup threw. */
  pskError?: true;
  error?: string;
}

/**
 * 1: cookie verified, `session` created, and the object is also the Result of driving the handshake with
 * that ClientHello (its first server flight is in `out`); 0: HelloVerifyRequest in `out`, or the datagram
 * was ignored (empty `out`); -1: engine error.
 */
export type ListenResult =
  | (Result & { status: 1; session: SessionHandle })
  | { status: 0 | -1; out: Buffer[]; session?: undefined; error?: string };

export interface SessionInfo {
  version: string;
  cipher: string;
  pskIdentity?: string;
  peerCertificate?: Buffer;
}

export function createContext(options: ContextOptions): ContextHandle;
export function listen(ctx: ContextHandle, datagram: Uint8Array, peerKey: string): ListenResult;
export function feed(session: SessionHandle, datagram?: Uint8Array): Result;
export function handleTimeout(session: SessionHandle): Result;
export function write(session: SessionHandle, plaintext: Uint8Array): Result;
/** Frees the session's SSL now; with notify, returns the close_notify datagrams to send. */
export function close(session: SessionHandle, notify?: boolean): Buffer[];
export function info(session: SessionHandle): SessionInfo;
export const opensslVersion: string;
