/**
 * Test certificates of a test SM-DP+ (SGP.22 v2.5 §4.5.2.1.0.2 and .3): CERT.DPauth.ECDSA (policy
 * id-rspRole-dp-auth 2.23.146.1.2.1.4) and CERT.DPpb.ECDSA (id-rspRole-dp-pb .5), each carrying the
 * SM-DP+ OID as a subjectAltName registeredID, plus a TLS server certificate (id-rspRole-dp-tls .3) for
 * 127.0.0.1, all issued by the test CI so a client that trusts the CI verifies the ES9+ server.
 */
import { createPublicKey, randomBytes, sign, type KeyObject } from 'node:crypto';
import { AsnConvert, OctetString } from '@peculiar/asn1-schema';
import {
  AlgorithmIdentifier,
  AttributeTypeAndValue,
  AttributeValue,
  AuthorityKeyIdentifier,
  Certificate,
  CertificatePolicies,
  ExtendedKeyUsage,
  Extension,
  Extensions,
  GeneralName,
  KeyIdentifier,
  KeyUsage,
  Name,
  PolicyInformation,
  RelativeDistinguishedName,
  SubjectAlternativeName,
  SubjectKeyIdentifier,
  SubjectPublicKeyInfo,
  TBSCertificate,
  Validity,
  Version,
  id_ce_authorityKeyIdentifier,
  id_ce_certificatePolicies,
  id_ce_extKeyUsage,
  id_ce_keyUsage,
  id_ce_subjectAltName,
  id_ce_subjectKeyIdentifier,
  id_kp_serverAuth,
} from '@peculiar/asn1-x509';
import { ATTR, KEY_USAGE } from '../../crypto/certificate.js';
import { ECDSA_WITH_SHA256, type Curve } from '../../crypto/curves.js';
import { generateKeyPair, privateKeyToPem, spkiDer, subjectKeyIdentifier } from '../../crypto/keys.js';
import type { TestIdentity } from '../pki.js';

const DAY = 86_400_000;

export const SMDP_ROLE = { tls: '2.23.146.1.2.1.3', auth: '2.23.146.1.2.1.4', pb: '2.23.146.1.2.1.5' } as const;

export interface SmdpCertificates {
  readonly smdpOid: string;
  readonly auth: TestIdentity;
  readonly pb: TestIdentity;
  readonly tls: TestIdentity;
}

export interface SmdpCertificateOptions {
  readonly ci: TestIdentity;
  readonly curve?: Curve;
  /** The SM-DP+ OID put in the auth and pb certificates (registeredID). */
  readonly smdpOid: string;
  /** Host names and IP addresses of the TLS certificate (default 127.0.0.1 and localhost). */
  readonly tlsHosts?: readonly string[];
  readonly now?: Date;
  readonly validDays?: number;
}

function rdn(type: string, value: string): RelativeDistinguishedName {
  return new RelativeDistinguishedName([new AttributeTypeAndValue({ type, value: new AttributeValue({ utf8String: value }) })]);
}

function pem(label: string, der: Uint8Array): string {
  const b64 = Buffer.from(der).toString('base64').replace(/(.{64})/g, '$1\n').replace(/\n$/, '');
  return `-----BEGIN ${label}-----\n${b64}\n-----END ${label}-----\n`;
}

function ext(extnID: string, critical: boolean, value: object): Extension {
  return new Extension({ extnID, critical, extnValue: new OctetString(AsnConvert.serialize(value)) });
}

function issue(ci: TestIdentity, curve: Curve, commonName: string, validity: { notBefore: Date; notAfter: Date }, extra: Extension[], policy: string): TestIdentity {
  const { privateKey } = generateKeyPair(curve);
  const name = new Name([rdn(ATTR.organizationName, 'eIM Sim Test SM-DP+'), rdn(ATTR.commonName, commonName)]);
  const serial = randomBytes(8);
  serial[0] = (serial[0]! & 0x7f) | 0x01;
  const tbs = new TBSCertificate({
    version: Version.v3,
    serialNumber: new Uint8Array(serial).buffer,
    signature: new AlgorithmIdentifier({ algorithm: ECDSA_WITH_SHA256 }),
    issuer: ci.name,
    validity: new Validity(validity),
    subject: name,
    subjectPublicKeyInfo: AsnConvert.parse(spkiDer(privateKey), SubjectPublicKeyInfo),
    extensions: new Extensions([
      ext(id_ce_subjectKeyIdentifier, false, new SubjectKeyIdentifier(subjectKeyIdentifier(privateKey))),
      ext(id_ce_authorityKeyIdentifier, false, new AuthorityKeyIdentifier({ keyIdentifier: new KeyIdentifier(ci.subjectKeyIdentifier) })),
      ext(id_ce_keyUsage, true, new KeyUsage(KEY_USAGE.digitalSignature)),
      ext(id_ce_certificatePolicies, true, new CertificatePolicies([new PolicyInformation({ policyIdentifier: policy })])),
      ...extra,
    ]),
  });
  const tbsDer = new Uint8Array(AsnConvert.serialize(tbs));
  const signature = sign('sha256', tbsDer, { key: ci.privateKey, dsaEncoding: 'der' });
  const cert = new Certificate({ tbsCertificate: tbs, signatureAlgorithm: new AlgorithmIdentifier({ algorithm: ECDSA_WITH_SHA256 }), signatureValue: new Uint8Array(signature).buffer });
  const der = new Uint8Array(AsnConvert.serialize(cert));
  return { certificate: der, certificatePem: pem('CERTIFICATE', der), privateKey, privateKeyPem: privateKeyToPem(privateKey), subjectKeyIdentifier: subjectKeyIdentifier(createPublicKey(privateKey as KeyObject)), name };
}

/** DPauth, DPpb and TLS certificates for one test SM-DP+, under the test CI. */
export function createSmdpCertificates(options: SmdpCertificateOptions): SmdpCertificates {
  const curve = options.curve ?? 'P-256';
  const now = options.now ?? new Date();
  const validity = { notBefore: new Date(now.getTime() - DAY), notAfter: new Date(now.getTime() + (options.validDays ?? 3650) * DAY) };
  const oidSan = ext(id_ce_subjectAltName, false, new SubjectAlternativeName([new GeneralName({ registeredID: options.smdpOid })]));
  const hosts = options.tlsHosts ?? ['127.0.0.1', 'localhost'];
  const tlsSan = ext(
    id_ce_subjectAltName,
    false,
    new SubjectAlternativeName(hosts.map((h) => (/^[0-9.]+$/.test(h) || h.includes(':') ? new GeneralName({ iPAddress: h }) : new GeneralName({ dNSName: h })))),
  );
  return {
    smdpOid: options.smdpOid,
    auth: issue(options.ci, curve, 'Test SM-DP+ auth', validity, [oidSan], SMDP_ROLE.auth),
    pb: issue(options.ci, curve, 'Test SM-DP+ pb', validity, [oidSan], SMDP_ROLE.pb),
    tls: issue(options.ci, curve, 'Test SM-DP+ TLS', validity, [tlsSan, ext(id_ce_extKeyUsage, false, new ExtendedKeyUsage([id_kp_serverAuth]))], SMDP_ROLE.tls),
  };
}
