/**
 * The two elliptic curves SGP.22/SGP.32 use for ECDSA (SGP.22 §2.6.5: NIST P-256 and brainpoolP256r1),
 * their OIDs, OpenSSL names, and the fixed SubjectPublicKeyInfo prefix that turns a raw uncompressed
 * point into SPKI DER (RFC 5480).
 */
import type { KeyObject } from 'node:crypto';
import { fromHex } from '../asn1/hex.js';
import { KeyError } from './errors.js';

export type Curve = 'P-256' | 'brainpoolP256r1';

export const CURVES: readonly Curve[] = ['P-256', 'brainpoolP256r1'];

export const ID_EC_PUBLIC_KEY = '1.2.840.10045.2.1';
export const ECDSA_WITH_SHA256 = '1.2.840.10045.4.3.2';

interface CurveInfo {
  readonly oid: string;
  /** The name node:crypto (OpenSSL) uses in generateKeyPair and asymmetricKeyDetails. */
  readonly nodeName: string;
  /** SPKI DER up to and including the BIT STRING header and its unused-bits octet; the 65-byte point follows. */
  readonly spkiPrefix: Uint8Array;
}

const INFO: Record<Curve, CurveInfo> = {
  'P-256': {
    oid: '1.2.840.10045.3.1.7',
    nodeName: 'prime256v1',
    spkiPrefix: fromHex('3059301306072a8648ce3d020106082a8648ce3d030107034200'),
  },
  brainpoolP256r1: {
    oid: '1.3.36.3.3.2.8.1.1.7',
    nodeName: 'brainpoolP256r1',
    spkiPrefix: fromHex('305a301406072a8648ce3d020106092b2403030208010107034200'),
  },
};

/** OID, OpenSSL name and SPKI prefix of a curve. */
export function curveInfo(curve: Curve): CurveInfo {
  return INFO[curve];
}

/** The curve named by a namedCurve OID, or undefined when it is not one we support. */
export function curveFromOid(oid: string): Curve | undefined {
  return CURVES.find((c) => INFO[c].oid === oid);
}

/**
 * Accepts the spellings operators use: p256, P-256, prime256v1, secp256r1, brainpoolP256r1 (any case).
 * Returns undefined for anything else.
 */
export function parseCurveName(name: string): Curve | undefined {
  const n = name.toLowerCase().replace(/[-_]/g, '');
  if (n === 'p256' || n === 'prime256v1' || n === 'secp256r1' || n === 'nistp256') return 'P-256';
  if (n === 'brainpoolp256r1' || n === 'bp256r1' || n === 'brainpool') return 'brainpoolP256r1';
  return undefined;
}

/** The curve of an EC key (public or private); KeyError for any other key type or curve. */
export function curveOfKey(key: KeyObject): Curve {
  if (key.asymmetricKeyType !== 'ec') throw new KeyError(`expected an EC key, got ${key.asymmetricKeyType ?? key.type}`);
  const named = key.asymmetricKeyDetails?.namedCurve;
  const curve = CURVES.find((c) => INFO[c].nodeName === named);
  if (curve === undefined) throw new KeyError(`unsupported curve ${named ?? '(unknown)'}: expected P-256 or brainpoolP256r1`);
  return curve;
}
