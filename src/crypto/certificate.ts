/**
 * Parsing of the X.509 certificates of the RSP PKI (SGP.22 §4.5.2.1: CERT.CI, CERT.EUM, CERT.EUICC) into
 * the fields chain validation looks at: names, validity, key identifiers, key usage, basic constraints,
 * certificate policies (role OIDs) and name constraints. Extensions are decoded with @peculiar/asn1-x509;
 * the public key and the signature check come from node:crypto's X509Certificate (which handles
 * brainpoolP256r1).
 */
import { X509Certificate, type KeyObject } from 'node:crypto';
import { AsnConvert } from '@peculiar/asn1-schema';
import {
  AuthorityKeyIdentifier,
  BasicConstraints,
  Certificate,
  CertificatePolicies,
  KeyUsage,
  NameConstraints,
  SubjectKeyIdentifier,
  id_ce_authorityKeyIdentifier,
  id_ce_basicConstraints,
  id_ce_certificatePolicies,
  id_ce_keyUsage,
  id_ce_nameConstraints,
  id_ce_subjectKeyIdentifier,
  type Name,
} from '@peculiar/asn1-x509';
import { toHex } from '../asn1/hex.js';
import { curveOfKey, type Curve } from './curves.js';
import { CertificateError } from './errors.js';

/** Certificate policy OIDs of the RSP roles (SGP.22 §4.5.2.1.0, id-rspRole). */
export const RSP_ROLE = {
  ci: '2.23.146.1.2.1.0',
  euicc: '2.23.146.1.2.1.1',
  eum: '2.23.146.1.2.1.2',
} as const;
export type RspRole = keyof typeof RSP_ROLE;

/** Attribute type OIDs used in RSP names. */
export const ATTR = {
  countryName: '2.5.4.6',
  organizationName: '2.5.4.10',
  organizationalUnitName: '2.5.4.11',
  commonName: '2.5.4.3',
  serialNumber: '2.5.4.5',
} as const;

/** The keyUsage bits we check (RFC 5280 §4.2.1.3 bit numbers as asn1-x509 flags). */
export const KEY_USAGE = { digitalSignature: 1, keyCertSign: 32, cRLSign: 64 } as const;

export interface NameAttribute {
  readonly type: string;
  readonly value: string;
}

export interface ParsedCertificate {
  readonly der: Uint8Array;
  readonly x509: X509Certificate;
  readonly subject: readonly NameAttribute[];
  /** Canonical key for comparing names (re-encoded DER, hex). */
  readonly subjectKey: string;
  readonly issuerKey: string;
  readonly notBefore: Date;
  readonly notAfter: Date;
  readonly signatureAlgorithm: string;
  readonly subjectKeyIdentifier: Uint8Array | undefined;
  readonly authorityKeyIdentifier: Uint8Array | undefined;
  /** keyUsage flags (KEY_USAGE bits), undefined when the extension is absent. */
  readonly keyUsage: number | undefined;
  readonly basicConstraints: { readonly cA: boolean; readonly pathLenConstraint: number | undefined } | undefined;
  readonly policies: readonly string[];
  readonly nameConstraints: NameConstraints | undefined;
  readonly publicKey: KeyObject;
  /** undefined when the key is not on P-256 or brainpoolP256r1. */
  readonly curve: Curve | undefined;
}

/** The attributes of a Name in order, values as strings. */
export function nameAttributes(name: Name): NameAttribute[] {
  const out: NameAttribute[] = [];
  for (const rdn of name) for (const atv of rdn) out.push({ type: atv.type, value: atv.value.toString() });
  return out;
}

function ab(bytes: Uint8Array): ArrayBuffer {
  return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
}

/** Parses DER into the fields above; CertificateError('malformed') for anything unparseable. */
export function parseCertificate(der: Uint8Array, which: 'ci' | 'eum' | 'euicc'): ParsedCertificate {
  if (!(der instanceof Uint8Array) || der.length === 0) throw new CertificateError('malformed', 'missing', which);
  let x509: X509Certificate;
  let cert: Certificate;
  try {
    x509 = new X509Certificate(der);
    cert = AsnConvert.parse(ab(der), Certificate);
  } catch (err) {
    throw new CertificateError('malformed', 'not a DER X.509 certificate', which, { cause: err });
  }
  const tbs = cert.tbsCertificate;
  let ski: Uint8Array | undefined;
  let aki: Uint8Array | undefined;
  let keyUsage: number | undefined;
  let basicConstraints: ParsedCertificate['basicConstraints'];
  let policies: string[] = [];
  let nameConstraints: NameConstraints | undefined;
  try {
    for (const ext of tbs.extensions ?? []) {
      const value = ext.extnValue.buffer;
      switch (ext.extnID) {
        case id_ce_subjectKeyIdentifier:
          ski = new Uint8Array(AsnConvert.parse(value, SubjectKeyIdentifier).buffer);
          break;
        case id_ce_authorityKeyIdentifier: {
          const id = AsnConvert.parse(value, AuthorityKeyIdentifier).keyIdentifier;
          aki = id === undefined ? undefined : new Uint8Array(id.buffer);
          break;
        }
        case id_ce_keyUsage:
          keyUsage = AsnConvert.parse(value, KeyUsage).toNumber();
          break;
        case id_ce_basicConstraints: {
          const bc = AsnConvert.parse(value, BasicConstraints);
          basicConstraints = { cA: bc.cA, pathLenConstraint: bc.pathLenConstraint };
          break;
        }
        case id_ce_certificatePolicies:
          policies = Array.from(AsnConvert.parse(value, CertificatePolicies), (p) => p.policyIdentifier);
          break;
        case id_ce_nameConstraints:
          nameConstraints = AsnConvert.parse(value, NameConstraints);
          break;
        default:
          break;
      }
    }
  } catch (err) {
    throw new CertificateError('malformed', 'an extension cannot be decoded', which, { cause: err });
  }
  let curve: Curve | undefined;
  try {
    curve = curveOfKey(x509.publicKey);
  } catch {
    curve = undefined;
  }
  return {
    der,
    x509,
    subject: nameAttributes(tbs.subject),
    subjectKey: toHex(new Uint8Array(AsnConvert.serialize(tbs.subject))),
    issuerKey: toHex(new Uint8Array(AsnConvert.serialize(tbs.issuer))),
    notBefore: tbs.validity.notBefore.getTime(),
    notAfter: tbs.validity.notAfter.getTime(),
    signatureAlgorithm: cert.signatureAlgorithm.algorithm,
    subjectKeyIdentifier: ski,
    authorityKeyIdentifier: aki,
    keyUsage,
    basicConstraints,
    policies,
    nameConstraints,
    publicKey: x509.publicKey,
    curve,
  };
}

/** The first value of an attribute type in a parsed subject, if any. */
export function attributeValue(attributes: readonly NameAttribute[], type: string): string | undefined {
  return attributes.find((a) => a.type === type)?.value;
}

/**
 * The registeredID of a certificate's subjectAltName (where an SM-DP+ certificate carries its SM-DP+ OID, the
 * one an activation code may name), or undefined when it has none or the bytes are no certificate.
 */
export function registeredIdOf(der: Uint8Array): string | undefined {
  try {
    return /Registered ID:([0-9.]+)/.exec(new X509Certificate(der).subjectAltName ?? '')?.[1];
  } catch {
    return undefined;
  }
}
