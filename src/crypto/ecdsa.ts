/**
 * ECDSA with SHA-256 on NIST P-256 and brainpoolP256r1, as SGP.22 §2.6.5 / SGP.32 §2.11 use it.
 * On the wire a signature is the 64-byte plain r||s (BSI TR-03111, each half left-padded to 32 bytes);
 * some real eUICCs send a DER ECDSA-Sig-Value instead, so verification accepts both and says which it saw.
 * High-S signatures are valid ECDSA and MUST verify (OpenSSL makes them about half the time);
 * node:crypto does not normalise S, which is what we want.
 */
import { createPublicKey, sign as nodeSign, verify as nodeVerify, type KeyObject } from 'node:crypto';
import { assertBytes } from '../errors.js';
import { toHex } from '../asn1/hex.js';
import { concat } from '../asn1/tlv.js';
import { curveInfo, curveOfKey, type Curve } from './curves.js';
import { KeyError, SignatureError } from './errors.js';

/** Length of r||s for our 256-bit curves. */
export const RAW_SIGNATURE_LENGTH = 64;

/** A public key as callers have it: SPKI DER bytes, a KeyObject, or a raw uncompressed point with its curve. */
export type PublicKeyInput = Uint8Array | KeyObject | { readonly point: Uint8Array; readonly curve: Curve };

/** Outcome of a verification: `encoding` tells the caller whether the peer sent DER (worth a warning). */
export interface VerifyResult {
  readonly valid: boolean;
  readonly encoding: 'raw' | 'der' | 'malformed';
}

/** A verifier that may run elsewhere (a CryptoPool worker) and answers as verifyEcdsa does. */
export type AsyncVerifier = (key: PublicKeyInput, data: Uint8Array, signature: Uint8Array) => Promise<VerifyResult>;

// ---- r||s <-> DER ----

function derInteger(unsigned: Uint8Array): Uint8Array {
  let i = 0;
  while (i < unsigned.length - 1 && unsigned[i] === 0) i++;
  const trimmed = unsigned.subarray(i);
  const body = (trimmed[0]! & 0x80) !== 0 ? concat([Uint8Array.of(0), trimmed]) : trimmed;
  return concat([Uint8Array.of(0x02, body.length), body]);
}

/** Converts 64-byte r||s to a DER ECDSA-Sig-Value (SEQUENCE { INTEGER r, INTEGER s }). */
export function rawToDer(raw: Uint8Array): Uint8Array {
  assertBytes(raw, 'signature', RAW_SIGNATURE_LENGTH);
  const half = RAW_SIGNATURE_LENGTH / 2;
  const body = concat([derInteger(raw.subarray(0, half)), derInteger(raw.subarray(half))]);
  return concat([Uint8Array.of(0x30, body.length), body]);
}

/**
 * Parses a strict DER ECDSA-Sig-Value and returns r||s left-padded to `size` bytes each.
 * Returns undefined when the bytes are not exactly one such SEQUENCE (so callers can try another form).
 */
export function tryDerToRaw(der: Uint8Array, size = RAW_SIGNATURE_LENGTH / 2): Uint8Array | undefined {
  // Lengths here are < 128 for 256-bit curves (max 2 * (2 + 33) = 70), so short-form lengths only.
  if (der.length < 8 || der[0] !== 0x30 || der[1] !== der.length - 2) return undefined;
  const out = new Uint8Array(size * 2);
  let pos = 2;
  for (let k = 0; k < 2; k++) {
    if (der[pos] !== 0x02) return undefined;
    const len = der[pos + 1]!;
    if (len === 0 || len >= 0x80 || pos + 2 + len > der.length) return undefined;
    let v = der.subarray(pos + 2, pos + 2 + len);
    if ((v[0]! & 0x80) !== 0) return undefined; // negative: not an ECDSA r or s
    if (v.length > 1 && v[0] === 0 && (v[1]! & 0x80) === 0) return undefined; // non-minimal
    if (v[0] === 0 && v.length > 1) v = v.subarray(1);
    if (v.length > size) return undefined;
    out.set(v, k * size + (size - v.length));
    pos += 2 + len;
  }
  return pos === der.length ? out : undefined;
}

/** Like tryDerToRaw but throws SignatureError when the bytes are not a DER ECDSA signature. */
export function derToRaw(der: Uint8Array, size = RAW_SIGNATURE_LENGTH / 2): Uint8Array {
  assertBytes(der, 'signature');
  const raw = tryDerToRaw(der, size);
  if (raw === undefined) throw new SignatureError('not a DER ECDSA-Sig-Value');
  return raw;
}

// ---- public keys (cached) ----

const CACHE_LIMIT = 50_000;
const keyCache = new Map<string, KeyObject>();

/** SPKI DER for a raw uncompressed point (04 || X || Y) on a curve. */
export function spkiFromPoint(point: Uint8Array, curve: Curve): Uint8Array {
  assertBytes(point, 'point', 65);
  if (point[0] !== 0x04) throw new KeyError('expected an uncompressed point (04 || X || Y)');
  return concat([curveInfo(curve).spkiPrefix, point]);
}

/**
 * A public KeyObject from SPKI DER, a KeyObject, or a raw point. KeyObjects made from bytes are cached by
 * their SPKI (verifying results from thousands of eUICCs would otherwise re-parse the key every time).
 */
export function publicKeyObject(input: PublicKeyInput): KeyObject {
  if (!(input instanceof Uint8Array) && !('point' in input)) {
    if (input.type === 'public') return input;
    if (input.type === 'private') return createPublicKey(input);
    throw new KeyError('expected an asymmetric key');
  }
  const spki = input instanceof Uint8Array ? input : spkiFromPoint(input.point, input.curve);
  const id = toHex(spki);
  let key = keyCache.get(id);
  if (key === undefined) {
    try {
      key = createPublicKey({ key: Buffer.from(spki), format: 'der', type: 'spki' });
    } catch (err) {
      throw new KeyError('not a SubjectPublicKeyInfo', { cause: err });
    }
    curveOfKey(key);
    if (keyCache.size >= CACHE_LIMIT) {
      const oldest = keyCache.keys().next();
      if (oldest.done !== true) keyCache.delete(oldest.value);
    }
    keyCache.set(id, key);
  }
  return key;
}

// ---- sign / verify ----

/** Signs with ECDSA/SHA-256 and returns the 64-byte r||s. */
export function signEcdsa(privateKey: KeyObject, data: Uint8Array): Uint8Array {
  assertBytes(data, 'data');
  if (privateKey.type !== 'private') throw new KeyError('signing needs a private key');
  const sig = nodeSign('sha256', data, { key: privateKey, dsaEncoding: 'ieee-p1363' });
  return new Uint8Array(sig.buffer, sig.byteOffset, sig.length);
}

/**
 * Verifies an ECDSA/SHA-256 signature given as 64-byte r||s or as DER. A 64-byte value is tried as r||s
 * first (the wire format) and only then as DER. Never throws for a bad signature; throws KeyError for an
 * unusable key.
 */
export function verifyEcdsa(publicKey: PublicKeyInput, data: Uint8Array, signature: Uint8Array): VerifyResult {
  assertBytes(data, 'data');
  assertBytes(signature, 'signature');
  const key = publicKeyObject(publicKey);
  if (signature.length === RAW_SIGNATURE_LENGTH) {
    if (nodeVerify('sha256', data, { key, dsaEncoding: 'ieee-p1363' }, signature)) return { valid: true, encoding: 'raw' };
  }
  const raw = tryDerToRaw(signature);
  if (raw !== undefined) {
    return { valid: nodeVerify('sha256', data, { key, dsaEncoding: 'ieee-p1363' }, raw), encoding: 'der' };
  }
  return { valid: false, encoding: signature.length === RAW_SIGNATURE_LENGTH ? 'raw' : 'malformed' };
}

/** True when S is above n/2 (a "high-S" signature; valid ECDSA, rejected only by libraries enforcing low-S). */
export function isHighS(raw: Uint8Array, curve: Curve): boolean {
  assertBytes(raw, 'signature', RAW_SIGNATURE_LENGTH);
  const s = BigInt(`0x${toHex(raw.subarray(32))}`);
  return s > CURVE_ORDER[curve] / 2n;
}

const CURVE_ORDER: Record<Curve, bigint> = {
  'P-256': 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n,
  brainpoolP256r1: 0xa9fb57dba1eea9bc3e660a909d838d718c397aa3b561a6f7901e0e82974856a7n,
};
