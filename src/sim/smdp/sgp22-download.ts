/**
 * The synthetic profile protection of the simulated SGP.22 v2.5 download (stands in for the §3.1.3 session
 * keys and the SCP03t protection of the BoundProfilePackage segments): a session key from the ECKA shared
 * secret, and a truncated HMAC on every BPP segment. Real SCP03t is out of scope; the test SM-DP+
 * (smdp-server.ts) and the virtual eUICC (euicc/indirect-download.ts) only need to agree and to detect a
 * corrupted segment. This is simulator behaviour, not a wire format: the download messages themselves are
 * in src/asn1/rsp-download.ts.
 */
import { createHash, createHmac } from 'node:crypto';
import { concat } from '../../asn1/tlv.js';

/** Synthetic session key: SHA-256 of the ECKA shared secret and the transactionId (stands in for the SGP.22 KDF). */
export function sessionKey(sharedSecret: Uint8Array, txId: Uint8Array): Uint8Array {
  return new Uint8Array(createHash('sha256').update(sharedSecret).update(txId).digest());
}

/** A segment as sent: data || first 8 bytes of HMAC-SHA256(key, index || data) (stands in for the SCP03t C-MAC). */
export function protectSegment(key: Uint8Array, index: number, data: Uint8Array): Uint8Array {
  return concat([data, segmentMac(key, index, data)]);
}

export function segmentMac(key: Uint8Array, index: number, data: Uint8Array): Uint8Array {
  return new Uint8Array(createHmac('sha256', key).update(Uint8Array.of(index >> 8, index & 0xff)).update(data).digest().subarray(0, 8));
}

/** Checks and strips the MAC of a protected segment; undefined when it does not verify. */
export function unprotectSegment(key: Uint8Array, index: number, segment: Uint8Array): Uint8Array | undefined {
  if (segment.length < 8) return undefined;
  const data = segment.subarray(0, segment.length - 8);
  const mac = segment.subarray(segment.length - 8);
  const expected = segmentMac(key, index, data);
  return Buffer.compare(Buffer.from(mac), Buffer.from(expected)) === 0 ? data : undefined;
}
