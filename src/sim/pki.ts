/**
 * Test PKI for the simulator and tests (SGP.22 §4.5.2.1 certificate profiles, SGP.26-like): a self-signed
 * test CI (policy id-rspRole-ci), an EUM (id-rspRole-eum, CA with pathLen 0, keyCertSign, name constraints
 * permitting O=<EUM organisation> with a serialNumber prefix of the EIDs) and eUICC certificates
 * (id-rspRole-euicc, digitalSignature, subject serialNumber = EID), on NIST P-256 or brainpoolP256r1.
 * TBSCertificates are built with @peculiar/asn1-x509 and signed with node:crypto, because WebCrypto (which
 * @peculiar/x509 needs) has no brainpool. Also builds each broken variant the eIM must reject.
 * `buildCertificate` / `issueCertificate` are the one certificate builder of the simulator (the test SM-DP+
 * issues with them too).
 */
import { createPublicKey, randomBytes, sign, type KeyObject } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { AsnConvert, OctetString } from '@peculiar/asn1-schema';
import {
  AlgorithmIdentifier,
  AttributeTypeAndValue,
  AttributeValue,
  AuthorityKeyIdentifier,
  BasicConstraints,
  Certificate,
  CertificatePolicies,
  ExtendedKeyUsage,
  Extension,
  Extensions,
  GeneralName,
  GeneralSubtree,
  GeneralSubtrees,
  KeyIdentifier,
  KeyUsage,
  Name,
  NameConstraints,
  PolicyInformation,
  RelativeDistinguishedName,
  SubjectAlternativeName,
  SubjectKeyIdentifier,
  SubjectPublicKeyInfo,
  TBSCertificate,
  Validity,
  Version,
  id_ce_authorityKeyIdentifier,
  id_ce_basicConstraints,
  id_ce_certificatePolicies,
  id_ce_extKeyUsage,
  id_ce_keyUsage,
  id_ce_nameConstraints,
  id_ce_subjectAltName,
  id_ce_subjectKeyIdentifier,
} from '@peculiar/asn1-x509';
import { InvalidArgumentError } from '../errors.js';
import { ATTR, KEY_USAGE, RSP_ROLE, type RspRole } from '../crypto/certificate.js';
import { ECDSA_WITH_SHA256, type Curve } from '../crypto/curves.js';
import { generateKeyPair, privateKeyToPem, spkiDer, subjectKeyIdentifier } from '../crypto/keys.js';

const DAY = 86_400_000;

/** One certificate with its key. The private key is a test key: it is returned in clear on purpose. */
export interface TestIdentity {
  readonly certificate: Uint8Array;
  readonly certificatePem: string;
  readonly privateKey: KeyObject;
  readonly privateKeyPem: string;
  readonly subjectKeyIdentifier: Uint8Array;
  /** Subject attributes, for issuing children (the issuer name). */
  readonly name: Name;
}

export interface TestEum extends TestIdentity {
  readonly organization: string;
  readonly serialPrefix: string;
}

export interface TestPki {
  readonly curve: Curve;
  readonly ci: TestIdentity;
  readonly eum: TestEum;
  /** eUICC identities by EID. */
  readonly euiccs: ReadonlyMap<string, TestIdentity>;
  readonly now: Date;
  readonly validDays: number;
}

export interface TestPkiOptions {
  readonly curve?: Curve;
  readonly eids: readonly string[];
  /** Validity of every certificate from `now` (default 3650 days). */
  readonly validDays?: number;
  readonly now?: Date;
  readonly eumOrganization?: string;
  /** serialNumber prefix in the EUM name constraints; default: the common prefix of the EIDs, at most 8 digits. */
  readonly eumSerialPrefix?: string;
}

// ---- building blocks ----

/** One single-valued RDN: PrintableString (country, serialNumber) or UTF8String. */
export function rdn(type: string, value: string, printable = false): RelativeDistinguishedName {
  const v = printable ? new AttributeValue({ printableString: value }) : new AttributeValue({ utf8String: value });
  return new RelativeDistinguishedName([new AttributeTypeAndValue({ type, value: v })]);
}

function pem(label: string, der: Uint8Array): string {
  const b64 = Buffer.from(der).toString('base64').replace(/(.{64})/g, '$1\n').replace(/\n$/, '');
  return `-----BEGIN ${label}-----\n${b64}\n-----END ${label}-----\n`;
}

function extension(extnID: string, critical: boolean, value: object): Extension {
  return new Extension({ extnID, critical, extnValue: new OctetString(AsnConvert.serialize(value)) });
}

function serialNumber(): ArrayBuffer {
  const s = randomBytes(8);
  s[0] = (s[0]! & 0x7f) | 0x01; // positive and no leading zero octet
  return new Uint8Array(s).buffer;
}

export interface CertificateSpec {
  readonly issuerName: Name;
  readonly issuerKey: KeyObject;
  readonly issuerSki: Uint8Array;
  readonly subjectName: Name;
  readonly subjectKey: KeyObject;
  readonly notBefore: Date;
  readonly notAfter: Date;
  /** Certificate policy OIDs (RSP role); empty for none. */
  readonly policies: readonly string[];
  /** keyUsage flags (KEY_USAGE bits); undefined omits the extension. */
  readonly keyUsage: number | undefined;
  readonly basicConstraints?: { cA: boolean; pathLenConstraint?: number };
  /** directoryName subtrees permitted, as attribute lists. */
  readonly permittedNames?: readonly { organization: string; serialPrefix: string }[];
  /** subjectAltName entries (non-critical), e.g. the SM-DP+ OID as registeredID or TLS host names. */
  readonly subjectAltName?: readonly GeneralName[];
  /** extKeyUsage purpose OIDs (non-critical), e.g. id-kp-serverAuth. */
  readonly extendedKeyUsage?: readonly string[];
}

/** Builds and signs one certificate (ecdsa-with-SHA256, DER signature as X.509 requires). */
export function buildCertificate(spec: CertificateSpec): Uint8Array {
  const subjectSki = subjectKeyIdentifier(spec.subjectKey);
  const exts: Extension[] = [
    extension(id_ce_subjectKeyIdentifier, false, new SubjectKeyIdentifier(subjectSki)),
    extension(id_ce_authorityKeyIdentifier, false, new AuthorityKeyIdentifier({ keyIdentifier: new KeyIdentifier(spec.issuerSki) })),
  ];
  if (spec.keyUsage !== undefined) exts.push(extension(id_ce_keyUsage, true, new KeyUsage(spec.keyUsage)));
  if (spec.policies.length > 0) {
    const policies = new CertificatePolicies(spec.policies.map((p) => new PolicyInformation({ policyIdentifier: p })));
    exts.push(extension(id_ce_certificatePolicies, true, policies));
  }
  if (spec.basicConstraints !== undefined) exts.push(extension(id_ce_basicConstraints, true, new BasicConstraints(spec.basicConstraints)));
  if (spec.permittedNames !== undefined) {
    const subtrees = spec.permittedNames.map(
      (n) =>
        new GeneralSubtree({
          base: new GeneralName({
            directoryName: new Name([rdn(ATTR.organizationName, n.organization), rdn(ATTR.serialNumber, n.serialPrefix, true)]),
          }),
        }),
    );
    exts.push(extension(id_ce_nameConstraints, true, new NameConstraints({ permittedSubtrees: new GeneralSubtrees(subtrees) })));
  }
  if (spec.subjectAltName !== undefined) exts.push(extension(id_ce_subjectAltName, false, new SubjectAlternativeName([...spec.subjectAltName])));
  if (spec.extendedKeyUsage !== undefined) exts.push(extension(id_ce_extKeyUsage, false, new ExtendedKeyUsage([...spec.extendedKeyUsage])));
  const spki = spkiDer(spec.subjectKey);
  const tbs = new TBSCertificate({
    version: Version.v3,
    serialNumber: serialNumber(),
    signature: new AlgorithmIdentifier({ algorithm: ECDSA_WITH_SHA256 }),
    issuer: spec.issuerName,
    validity: new Validity({ notBefore: spec.notBefore, notAfter: spec.notAfter }),
    subject: spec.subjectName,
    subjectPublicKeyInfo: AsnConvert.parse(spki, SubjectPublicKeyInfo),
    extensions: new Extensions(exts),
  });
  const tbsDer = new Uint8Array(AsnConvert.serialize(tbs));
  const signature = sign('sha256', tbsDer, { key: spec.issuerKey, dsaEncoding: 'der' });
  const cert = new Certificate({
    tbsCertificate: tbs,
    signatureAlgorithm: new AlgorithmIdentifier({ algorithm: ECDSA_WITH_SHA256 }),
    signatureValue: new Uint8Array(signature).buffer,
  });
  return new Uint8Array(AsnConvert.serialize(cert));
}

/** A certificate with its key, PEM forms and key identifier. */
function testIdentity(certificate: Uint8Array, privateKey: KeyObject, name: Name): TestIdentity {
  return {
    certificate,
    certificatePem: pem('CERTIFICATE', certificate),
    privateKey,
    privateKeyPem: privateKeyToPem(privateKey),
    subjectKeyIdentifier: subjectKeyIdentifier(createPublicKey(privateKey)),
    name,
  };
}

/** What a certificate under an existing issuer takes besides the issuer and the (new) subject key. */
export type SubjectSpec = Omit<CertificateSpec, 'issuerName' | 'issuerKey' | 'issuerSki' | 'subjectName' | 'subjectKey'>;

/** A new key on `curve` and its certificate, named `subjectName`, issued by `issuer`. */
export function issueCertificate(issuer: TestIdentity, curve: Curve, subjectName: Name, spec: SubjectSpec): TestIdentity {
  const { privateKey } = generateKeyPair(curve);
  const der = buildCertificate({
    ...spec,
    issuerName: issuer.name,
    issuerKey: issuer.privateKey,
    issuerSki: issuer.subjectKeyIdentifier,
    subjectName,
    subjectKey: privateKey,
  });
  return testIdentity(der, privateKey, subjectName);
}

// ---- CI, EUM, eUICC ----

export interface IssueOptions {
  readonly curve: Curve;
  readonly notBefore: Date;
  readonly notAfter: Date;
  /** The RSP role policy to put in the certificate (a wrong one makes a "wrong role" variant); null for none. */
  readonly role?: RspRole | null;
  readonly keyUsage?: number;
}

/** The certificate policies for `options.role`, `role` when it is not given. */
function rolePolicies(options: IssueOptions, role: RspRole): string[] {
  const r = options.role === undefined ? role : options.role;
  return r === null ? [] : [RSP_ROLE[r]];
}

/** A self-signed test CI. */
export function createTestCi(options: IssueOptions & { readonly commonName?: string }): TestIdentity {
  const { privateKey } = generateKeyPair(options.curve);
  const name = new Name([rdn(ATTR.commonName, options.commonName ?? 'eIM Sim Test CI'), rdn(ATTR.organizationName, 'eIM Sim'), rdn(ATTR.countryName, 'XX', true)]);
  const der = buildCertificate({
    issuerName: name,
    issuerKey: privateKey,
    issuerSki: subjectKeyIdentifier(createPublicKey(privateKey)),
    subjectName: name,
    subjectKey: privateKey,
    notBefore: options.notBefore,
    notAfter: options.notAfter,
    policies: rolePolicies(options, 'ci'),
    keyUsage: options.keyUsage ?? KEY_USAGE.keyCertSign | KEY_USAGE.cRLSign,
    basicConstraints: { cA: true },
  });
  return testIdentity(der, privateKey, name);
}

/** An EUM certificate under `ci`, constrained to O=organization and serialNumber prefix. */
export function issueEumCertificate(
  ci: TestIdentity,
  options: IssueOptions & { readonly organization: string; readonly serialPrefix: string; readonly ca?: boolean },
): TestEum {
  const { organization, serialPrefix } = options;
  const name = new Name([rdn(ATTR.countryName, 'XX', true), rdn(ATTR.organizationName, organization), rdn(ATTR.commonName, `${organization} EUM`)]);
  const eum = issueCertificate(ci, options.curve, name, {
    notBefore: options.notBefore,
    notAfter: options.notAfter,
    policies: rolePolicies(options, 'eum'),
    keyUsage: options.keyUsage ?? KEY_USAGE.keyCertSign,
    basicConstraints: { cA: options.ca ?? true, pathLenConstraint: 0 },
    permittedNames: [{ organization, serialPrefix }],
  });
  return { ...eum, organization, serialPrefix };
}

/** An eUICC certificate under `eum`; `serialNumber` defaults to the EID and `organization` to the EUM's. */
export function issueEuiccCertificate(
  eum: TestEum,
  options: IssueOptions & { readonly eid: string; readonly serialNumber?: string; readonly organization?: string },
): TestIdentity {
  const name = new Name([
    rdn(ATTR.countryName, 'XX', true),
    rdn(ATTR.organizationName, options.organization ?? eum.organization),
    rdn(ATTR.serialNumber, options.serialNumber ?? options.eid, true),
    rdn(ATTR.commonName, 'Test eUICC'),
  ]);
  return issueCertificate(eum, options.curve, name, {
    notBefore: options.notBefore,
    notAfter: options.notAfter,
    policies: rolePolicies(options, 'euicc'),
    keyUsage: options.keyUsage ?? KEY_USAGE.digitalSignature,
  });
}

function commonPrefix(values: readonly string[]): string {
  if (values.length === 0) return '';
  let p = values[0]!;
  for (const v of values) while (!v.startsWith(p)) p = p.slice(0, -1);
  return p;
}

/** CI, EUM and one eUICC certificate per EID, all valid from `now` for `validDays`. */
export function createTestPki(options: TestPkiOptions): TestPki {
  const curve = options.curve ?? 'P-256';
  const now = options.now ?? new Date();
  const validDays = options.validDays ?? 3650;
  for (const eid of options.eids) if (!/^[0-9]{32}$/.test(eid)) throw new InvalidArgumentError('eids', `${eid} is not 32 digits`);
  const organization = options.eumOrganization ?? 'eIM Sim Test EUM';
  const serialPrefix = options.eumSerialPrefix ?? commonPrefix(options.eids).slice(0, 8);
  for (const eid of options.eids) {
    if (!eid.startsWith(serialPrefix)) throw new InvalidArgumentError('eids', `${eid} does not start with the EUM prefix ${serialPrefix}`);
  }
  const validity = { curve, notBefore: new Date(now.getTime() - DAY), notAfter: new Date(now.getTime() + validDays * DAY) };
  const ci = createTestCi(validity);
  const eum = issueEumCertificate(ci, { ...validity, organization, serialPrefix });
  const euiccs = new Map<string, TestIdentity>();
  for (const eid of options.eids) euiccs.set(eid, issueEuiccCertificate(eum, { ...validity, eid }));
  return { curve, ci, eum, euiccs, now, validDays };
}

/** The broken chains an eIM must reject (all but 'outside-name-constraints' even with the lab switch). */
export type BrokenVariant =
  | 'wrong-role'
  | 'no-role'
  | 'expired'
  | 'not-yet-valid'
  | 'eid-mismatch'
  | 'outside-name-constraints'
  | 'no-digital-signature'
  | 'other-ci'
  | 'eum-wrong-role'
  | 'eum-no-key-cert-sign'
  | 'eum-expired';

export interface ChainMaterial {
  readonly eid: string;
  readonly euicc: TestIdentity;
  readonly eum: TestEum;
}

/** A chain for `eid` (defaults to the first EID) broken in one way; everything else is valid. */
export function createBrokenVariant(pki: TestPki, variant: BrokenVariant, eid?: string): ChainMaterial {
  const target = eid ?? pki.euiccs.keys().next().value;
  if (target === undefined) throw new InvalidArgumentError('eid', 'the test PKI has no eUICC');
  const now = pki.now.getTime();
  const valid = { curve: pki.curve, notBefore: new Date(now - DAY), notAfter: new Date(now + pki.validDays * DAY) };
  const issue = (eum: TestEum, extra: Partial<Parameters<typeof issueEuiccCertificate>[1]> = {}): TestIdentity =>
    issueEuiccCertificate(eum, { ...valid, eid: target, ...extra });
  const eumOpts = { ...valid, organization: pki.eum.organization, serialPrefix: pki.eum.serialPrefix };
  switch (variant) {
    case 'wrong-role':
      return { eid: target, eum: pki.eum, euicc: issue(pki.eum, { role: 'eum' }) };
    case 'no-role':
      return { eid: target, eum: pki.eum, euicc: issue(pki.eum, { role: null }) };
    case 'expired':
      return { eid: target, eum: pki.eum, euicc: issue(pki.eum, { notBefore: new Date(now - 30 * DAY), notAfter: new Date(now - DAY) }) };
    case 'not-yet-valid':
      return { eid: target, eum: pki.eum, euicc: issue(pki.eum, { notBefore: new Date(now + DAY) }) };
    case 'eid-mismatch': {
      // Same EUM prefix, different EID: only the EID check can catch it.
      const other = `${target.slice(0, -2)}${target.endsWith('00') ? '01' : '00'}`;
      return { eid: target, eum: pki.eum, euicc: issue(pki.eum, { serialNumber: other }) };
    }
    case 'outside-name-constraints':
      return { eid: target, eum: pki.eum, euicc: issue(pki.eum, { organization: `${pki.eum.organization} Other` }) };
    case 'no-digital-signature':
      return { eid: target, eum: pki.eum, euicc: issue(pki.eum, { keyUsage: KEY_USAGE.keyCertSign }) };
    case 'other-ci': {
      const eum = issueEumCertificate(createTestCi(valid), eumOpts);
      return { eid: target, eum, euicc: issue(eum) };
    }
    case 'eum-wrong-role': {
      const eum = issueEumCertificate(pki.ci, { ...eumOpts, role: 'euicc' });
      return { eid: target, eum, euicc: issue(eum) };
    }
    case 'eum-no-key-cert-sign': {
      const eum = issueEumCertificate(pki.ci, { ...eumOpts, keyUsage: KEY_USAGE.digitalSignature });
      return { eid: target, eum, euicc: issue(eum) };
    }
    case 'eum-expired': {
      const eum = issueEumCertificate(pki.ci, { ...eumOpts, notBefore: new Date(now - 30 * DAY), notAfter: new Date(now - DAY) });
      return { eid: target, eum, euicc: issue(eum) };
    }
  }
}

/**
 * Writes the PKI for `eim sim pki --out DIR`: ci.der/ci.pem (to configure as trusted), ci-key.pem,
 * eum.der/eum.pem, eum-key.pem, and per EID euicc-<EID>.der/.pem and euicc-<EID>-key.pem.
 * Key files get mode 0600. Returns the paths written.
 */
export async function writeTestPki(pki: TestPki, dir: string): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  const written: string[] = [];
  const put = async (name: string, data: string | Uint8Array, secret = false): Promise<void> => {
    const path = join(dir, name);
    await writeFile(path, data, { mode: secret ? 0o600 : 0o644 });
    written.push(path);
  };
  const all: [string, TestIdentity][] = [['ci', pki.ci], ['eum', pki.eum], ...[...pki.euiccs].map(([eid, id]): [string, TestIdentity] => [`euicc-${eid}`, id])];
  for (const [base, id] of all) {
    await put(`${base}.der`, id.certificate);
    await put(`${base}.pem`, id.certificatePem);
    await put(`${base}-key.pem`, id.privateKeyPem, true);
  }
  return written;
}
