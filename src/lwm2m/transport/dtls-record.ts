/**
 * Cheap, allocation-free checks on DTLS record headers (RFC 6347 §4.1), used to route a datagram before
 * any cryptography: is it DTLS at all, is it an epoch-0 ClientHello (new handshake or device reboot),
 * does it carry application data. OpenSSL does the real parsing.
 */

/** DTLS record header: type(1) version(2) epoch(2) sequence_number(6) length(2). */
export const RECORD_HEADER_LENGTH = 13;

const CONTENT_TYPE_HANDSHAKE = 22;
const CONTENT_TYPE_APPLICATION_DATA = 23;
const HANDSHAKE_CLIENT_HELLO = 1;

/** True when the first record header is plausible: a known content type (20..25) and a DTLS version (0xfeXX). */
export function looksLikeDtls(datagram: Uint8Array): boolean {
  if (datagram.length < RECORD_HEADER_LENGTH) return false;
  const type = datagram[0]!;
  return type >= 20 && type <= 25 && datagram[1] === 0xfe;
}

/**
 * True when the datagram starts with an epoch-0 handshake record holding a ClientHello: the only
 * message that may create per-peer state, and the sign of a rebooted or re-bound device.
 */
export function isInitialClientHello(datagram: Uint8Array): boolean {
  return (
    looksLikeDtls(datagram) &&
    datagram[0] === CONTENT_TYPE_HANDSHAKE &&
    datagram[3] === 0 &&
    datagram[4] === 0 &&
    datagram.length >= RECORD_HEADER_LENGTH + 12 &&
    datagram[RECORD_HEADER_LENGTH] === HANDSHAKE_CLIENT_HELLO
  );
}

/** True when any record of the datagram is application data (walks the record lengths, bounded). */
export function hasApplicationData(datagram: Uint8Array): boolean {
  let offset = 0;
  for (let i = 0; i < 64 && offset + RECORD_HEADER_LENGTH <= datagram.length; i++) {
    if (datagram[offset] === CONTENT_TYPE_APPLICATION_DATA) return true;
    offset += RECORD_HEADER_LENGTH + ((datagram[offset + 11]! << 8) | datagram[offset + 12]!);
  }
  return false;
}

/**
 * The ClientHello without its record sequence number, which changes on every retransmission: two
 * datagrams with equal fingerprints are the same ClientHello sent again.
 */
export function clientHelloFingerprint(datagram: Uint8Array): Buffer {
  // A view, not a copy: Node gives every received datagram its own exactly-sized ArrayBuffer.
  return Buffer.from(datagram.buffer, datagram.byteOffset + 11, datagram.length - 11);
}

/** Smallest protected record of our suites: 8-byte explicit nonce plus 8-byte CCM-8 tag (RFC 6655 §3). */
export const MIN_PROTECTED_RECORD_LENGTH = 16;

/**
 * True when a record after epoch 0 is too short to hold a nonce and a tag. OpenSSL 3.0 answers such a
 * record with a fatal internal_error alert instead of discarding it (RFC 6347 §4.1.2.7 says discard), so
 * anyone able to spoof a peer's address could end its session with one datagram: drop it before OpenSSL.
 */
export function hasTruncatedProtectedRecord(datagram: Uint8Array): boolean {
  let offset = 0;
  for (let i = 0; i < 64 && offset + RECORD_HEADER_LENGTH <= datagram.length; i++) {
    const length = (datagram[offset + 11]! << 8) | datagram[offset + 12]!;
    const epoch = (datagram[offset + 3]! << 8) | datagram[offset + 4]!;
    if (epoch !== 0 && length < MIN_PROTECTED_RECORD_LENGTH) return true;
    offset += RECORD_HEADER_LENGTH + length;
  }
  return false;
}
