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

/**
 * The scalars of the last call, written by the addon into one shared Int32Array (no result object is
 * built per datagram). Read them right after the call, before the next one.
 */
export declare const fields: Int32Array;
/** Index in `fields`: SessionState after feed/handleTimeout/write. */
export const F_STATE = 0;
/** Index in `fields`: 1 on the call that completed the handshake. */
export const F_ESTABLISHED = 1;
/** Index in `fields`: milliseconds until handleTimeout() must be called, or -1 for no timer. */
export const F_TIMEOUT = 2;
/** Index in `fields`: FLAG_* bits. */
export const F_FLAGS = 3;
/** Index in `fields`: how many leading entries of the returned array are datagrams to send. */
export const F_OUT = 4;
/** Index in `fields`: listen() status, 1 session created, 0 HelloVerifyRequest or ignored, -1 error. */
export const F_LISTEN = 5;
/** The PSK lookup found no key: the handshake failed with unknown_psk_identity. */
export const FLAG_PSK_UNKNOWN = 1;
/** The PSK lookup threw. */
export const FLAG_PSK_ERROR = 2;
/** The call failed; lastError() has the text. */
export const FLAG_ERROR = 4;

/**
 * What feed/handleTimeout/write return: the first `fields[F_OUT]` entries are datagrams to send, the rest
 * are decrypted application data, in order.
 */
export type Datagrams = Buffer[];

export interface SessionInfo {
  version: string;
  cipher: string;
  pskIdentity?: string;
  peerCertificate?: Buffer;
}

export function createContext(options: ContextOptions): ContextHandle;
/**
 * Stateless cookie check. With fields[F_LISTEN] 1 returns the new session (feed() it without a datagram
 * to produce the first server flight); otherwise the HelloVerifyRequest datagrams (empty: ignored, or
 * with status -1 an error, see lastError()).
 */
export function listen(ctx: ContextHandle, datagram: Uint8Array, peerKey: string): SessionHandle | Buffer[];
export function feed(session: SessionHandle, datagram?: Uint8Array): Datagrams;
export function handleTimeout(session: SessionHandle): Datagrams;
export function write(session: SessionHandle, plaintext: Uint8Array): Datagrams;
/** Frees the session's SSL now; with notify, returns the close_notify datagrams to send. */
export function close(session: SessionHandle, notify?: boolean): Buffer[];
export function info(session: SessionHandle): SessionInfo;
/** The error text of the last call that set FLAG_ERROR (or listen status -1); '' otherwise. */
export function lastError(): string;
export const opensslVersion: string;
