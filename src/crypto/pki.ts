/**
 * eUICC certificate-chain validation per SGP.22 §4.5.2 (used by SGP.32 for euiccSignEPR/EPE and the
 * ProfileInstallationResult): CERT.CI (trusted, configured) -> CERT.EUM -> CERT.EUICC, linked by
 * AKI/SKI and issuer name, each signature verified, validity at `now`, role policy OIDs, key usage,
 * basic constraints, the EUM's name constraints over the eUICC subject (O equal, serialNumber prefix), and
 * the eUICC subject serialNumber equal to the EID addressed. A lab switch skips only the name-constraint
 * check (SGP.26-era test eUICCs violate it) and the result lists that relaxation so the caller can warn.
 */
import type { KeyObject } from 'node:crypto';
import type { GeneralSubtrees } from '@peculiar/asn1-x509';
import { bytesEqual, toHex } from '../asn1/hex.js';
import { ECDSA_WITH_SHA256, type Curve } from './curves.js';
import { CertificateError } from './errors.js';
import { subjectKeyIdentifier } from './keys.js';
import {
  ATTR,
  KEY_USAGE,
  RSP_ROLE,
  attributeValue,
  nameAttributes,
  parseCertificate,
  type NameAttribute,
  type ParsedCertificate,
  type RspRole,
} from './certificate.js';

/** The configured trust anchors (GSMA CI roots in production, SGP.26 test CIs in labs), indexed by SKI. */
export class TrustedCis {
  readonly #bySki = new Map<string, ParsedCertificate>();

  /**
   * Each certificate must be a self-signed CI certificate (policy id-rspRole-ci) on a supported curve;
   * anything else is refused at configuration time rather than silently never matching.
   */
  constructor(certificates: readonly Uint8Array[]) {
    for (const der of certificates) {
      const ci = parseCertificate(der, 'ci');
      checkRole(ci, 'ci');
      if (ci.curve === undefined) throw new CertificateError('unsupported-algorithm', 'key is not on P-256 or brainpoolP256r1', 'ci');
      if (!ci.x509.verify(ci.publicKey)) throw new CertificateError('bad-signature', 'not self-signed', 'ci');
      const ski = ci.subjectKeyIdentifier ?? subjectKeyIdentifier(ci.publicKey);
      this.#bySki.set(toHex(ski), ci);
    }
  }

  /** The CI certificate whose SKI is `ski`, if trusted. */
  get(ski: Uint8Array): ParsedCertificate | undefined {
    return this.#bySki.get(toHex(ski));
  }

  /** SKIs of all trusted CIs (e.g. for euiccCiPKIdListForVerification). */
  subjectKeyIdentifiers(): Uint8Array[] {
    return [...this.#bySki.keys()].map((h) => new Uint8Array(Buffer.from(h, 'hex')));
  }

  get size(): number {
    return this.#bySki.size;
  }
}

/** A check that was skipped on purpose; the caller logs it as a warning. */
export interface Relaxation {
  readonly check: 'name-constraints';
  /** What would have failed, or that it passed anyway. */
  readonly detail: string;
}

export interface ChainValidationOptions {
  readonly euiccCertificate: Uint8Array;
  readonly eumCertificate: Uint8Array;
  readonly trustedCis: TrustedCis;
  /** The EID being addressed; the eUICC subject serialNumber must equal it. Omit only to learn the EID. */
  readonly eid?: string;
  /** Require this CI (EimConfigurationData.euiccCiPKId) instead of any trusted one. */
  readonly ciSubjectKeyIdentifier?: Uint8Array;
  readonly now: Date;
  /**
   * Lab relaxations. relaxNameConstraints waives only the EUM name-constraint check; when it actually waives
   * a violation, the result's `relaxations` says so (a chain that satisfies the constraints reports nothing).
   */
  readonly lab?: { readonly relaxNameConstraints?: boolean };
}

export interface ValidatedEuicc {
  readonly publicKey: KeyObject;
  readonly curve: Curve;
  /** The EID from the eUICC certificate subject serialNumber. */
  readonly eid: string;
  readonly ciSubjectKeyIdentifier: Uint8Array;
  readonly eumSubjectKeyIdentifier: Uint8Array;
  readonly notAfter: Date;
  /** Checks skipped by the lab options; empty in production. */
  readonly relaxations: readonly Relaxation[];
}

function checkRole(cert: ParsedCertificate, role: RspRole): void {
  if (!cert.policies.includes(RSP_ROLE[role])) {
    const found = cert.policies.length === 0 ? 'none' : cert.policies.join(', ');
    throw new CertificateError('wrong-role', `certificate policy ${RSP_ROLE[role]} (id-rspRole-${role}) missing; found ${found}`, role);
  }
}

function checkValidity(cert: ParsedCertificate, which: RspRole, now: Date): void {
  if (now.getTime() < cert.notBefore.getTime()) {
    throw new CertificateError('not-yet-valid', `not valid before ${cert.notBefore.toISOString()}`, which);
  }
  if (now.getTime() > cert.notAfter.getTime()) {
    throw new CertificateError('expired', `expired at ${cert.notAfter.toISOString()}`, which);
  }
}

function checkIssuedBy(child: ParsedCertificate, which: 'eum' | 'euicc', issuer: ParsedCertificate): void {
  if (child.signatureAlgorithm !== ECDSA_WITH_SHA256) {
    throw new CertificateError('unsupported-algorithm', `signature algorithm ${child.signatureAlgorithm} is not ecdsa-with-SHA256`, which);
  }
  if (child.issuerKey !== issuer.subjectKey) throw new CertificateError('issuer-mismatch', 'issuer name differs from the issuer subject', which);
  let ok: boolean;
  try {
    ok = child.x509.verify(issuer.publicKey);
  } catch (err) {
    throw new CertificateError('bad-signature', 'signature cannot be checked', which, { cause: err });
  }
  if (!ok) throw new CertificateError('bad-signature', 'signature does not verify with the issuer key', which);
}

const normalise = (v: string): string => v.trim().replace(/\s+/g, ' ').toLowerCase();

/**
 * Whether a subject falls within a directoryName subtree, the way SGP.22 uses name constraints: every
 * attribute of the subtree must appear in the subject, serialNumber as a prefix (EIN/IIN), others equal
 * (case- and space-insensitive, RFC 5280 §7.1 simplified).
 */
function withinSubtree(subject: readonly NameAttribute[], base: readonly NameAttribute[]): boolean {
  return base.every((b) => {
    const values = subject.filter((s) => s.type === b.type).map((s) => s.value);
    if (b.type === ATTR.serialNumber) return values.some((v) => v.startsWith(b.value.trim()));
    return values.some((v) => normalise(v) === normalise(b.value));
  });
}

function directoryNames(subtrees: GeneralSubtrees | undefined): NameAttribute[][] {
  const out: NameAttribute[][] = [];
  for (const st of subtrees ?? []) if (st.base.directoryName !== undefined) out.push(nameAttributes(st.base.directoryName));
  return out;
}

const SHORT_NAMES: Record<string, string> = { '2.5.4.6': 'C', '2.5.4.10': 'O', '2.5.4.11': 'OU', '2.5.4.3': 'CN', '2.5.4.5': 'serialNumber' };
const describeName = (attrs: readonly NameAttribute[]): string => attrs.map((a) => `${SHORT_NAMES[a.type] ?? a.type}=${a.value}`).join(', ');

/** undefined when the eUICC subject satisfies the EUM's name constraints, else why not. */
function nameConstraintViolation(eum: ParsedCertificate, euicc: ParsedCertificate): string | undefined {
  if (eum.nameConstraints === undefined) return 'the EUM certificate has no name constraints';
  const permitted = directoryNames(eum.nameConstraints.permittedSubtrees);
  if (permitted.length > 0 && !permitted.some((p) => withinSubtree(euicc.subject, p))) {
    return `subject (${describeName(euicc.subject)}) is outside the permitted subtrees (${permitted.map(describeName).join(' | ')})`;
  }
  const excluded = directoryNames(eum.nameConstraints.excludedSubtrees).find((e) => withinSubtree(euicc.subject, e));
  if (excluded !== undefined) return `subject is inside the excluded subtree (${describeName(excluded)})`;
  return undefined;
}

/**
 * Validates CERT.EUICC and CERT.EUM against the trusted CIs. Returns the eUICC key to verify its
 * signatures with; throws CertificateError with the failing check as `reason`.
 */
export function validateEuiccChain(options: ChainValidationOptions): ValidatedEuicc {
  const { now } = options;
  if (!(now instanceof Date) || Number.isNaN(now.getTime())) throw new CertificateError('malformed', 'now is not a valid Date');
  const eum = parseCertificate(options.eumCertificate, 'eum');
  const euicc = parseCertificate(options.euiccCertificate, 'euicc');
  const relaxations: Relaxation[] = [];

  // CI, found by the EUM's AKI.
  if (eum.authorityKeyIdentifier === undefined) throw new CertificateError('unknown-ci', 'no authority key identifier', 'eum');
  const ci = options.trustedCis.get(eum.authorityKeyIdentifier);
  const akiHex = toHex(eum.authorityKeyIdentifier);
  if (ci === undefined) throw new CertificateError('unknown-ci', `issued by CI ${akiHex}, which is not trusted`, 'eum');
  if (options.ciSubjectKeyIdentifier !== undefined && !bytesEqual(options.ciSubjectKeyIdentifier, eum.authorityKeyIdentifier)) {
    throw new CertificateError('unknown-ci', `issued by CI ${akiHex}, not by the required ${toHex(options.ciSubjectKeyIdentifier)}`, 'eum');
  }
  checkValidity(ci, 'ci', now);

  // EUM.
  checkIssuedBy(eum, 'eum', ci);
  checkValidity(eum, 'eum', now);
  checkRole(eum, 'eum');
  if (eum.keyUsage === undefined || (eum.keyUsage & KEY_USAGE.keyCertSign) === 0) {
    throw new CertificateError('key-usage', 'keyUsage lacks keyCertSign', 'eum');
  }
  if (eum.basicConstraints?.cA !== true) throw new CertificateError('basic-constraints', 'basicConstraints cA is not TRUE', 'eum');
  if (eum.subjectKeyIdentifier === undefined) throw new CertificateError('malformed', 'no subject key identifier', 'eum');

  // eUICC.
  if (euicc.authorityKeyIdentifier === undefined || !bytesEqual(euicc.authorityKeyIdentifier, eum.subjectKeyIdentifier)) {
    throw new CertificateError('issuer-mismatch', 'authority key identifier does not match the EUM subject key identifier', 'euicc');
  }
  checkIssuedBy(euicc, 'euicc', eum);
  checkValidity(euicc, 'euicc', now);
  checkRole(euicc, 'euicc');
  if (euicc.keyUsage === undefined || (euicc.keyUsage & KEY_USAGE.digitalSignature) === 0) {
    throw new CertificateError('key-usage', 'keyUsage lacks digitalSignature', 'euicc');
  }
  if (euicc.basicConstraints?.cA === true) throw new CertificateError('basic-constraints', 'an eUICC certificate must not be a CA', 'euicc');
  if (euicc.curve === undefined) throw new CertificateError('unsupported-algorithm', 'key is not on P-256 or brainpoolP256r1', 'euicc');

  const certEid = attributeValue(euicc.subject, ATTR.serialNumber);
  if (certEid === undefined || !/^[0-9]{32}$/.test(certEid)) {
    throw new CertificateError('eid-mismatch', `subject serialNumber ${certEid ?? '(absent)'} is not an EID`, 'euicc');
  }
  if (options.eid !== undefined && options.eid !== certEid) {
    throw new CertificateError('eid-mismatch', `subject serialNumber ${certEid} is not the addressed EID ${options.eid}`, 'euicc');
  }

  const violation = nameConstraintViolation(eum, euicc);
  if (violation !== undefined) {
    if (options.lab?.relaxNameConstraints !== true) throw new CertificateError('name-constraints', violation, 'euicc');
    relaxations.push({ check: 'name-constraints', detail: violation });
  }

  return {
    publicKey: euicc.publicKey,
    curve: euicc.curve,
    eid: certEid,
    ciSubjectKeyIdentifier: eum.authorityKeyIdentifier,
    eumSubjectKeyIdentifier: eum.subjectKeyIdentifier,
    notAfter: euicc.notAfter,
    relaxations,
  };
}
