/**
 * Test certificates of a test SM-DP+ (SGP.22 v2.5 §4.5.2.1.0.2 and .3): CERT.DPauth.ECDSA (policy
 * id-rspRole-dp-auth 2.23.146.1.2.1.4) and CERT.DPpb.ECDSA (id-rspRole-dp-pb .5), each carrying the
 * SM-DP+ OID as a subjectAltName registeredID, plus a TLS server certificate (id-rspRole-dp-tls .3) for
 * 127.0.0.1, all issued by the test CI so a client that trusts the CI verifies the ES9+ server. Built with
 * the simulator's one certificate builder (sim/pki.ts).
 */
import { GeneralName, Name, id_kp_serverAuth } from '@peculiar/asn1-x509';
import { ATTR, KEY_USAGE } from '../../crypto/certificate.js';
import type { Curve } from '../../crypto/curves.js';
import { issueCertificate, rdn, type SubjectSpec, type TestIdentity } from '../pki.js';

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

/** One end-entity certificate of the SM-DP+ under the CI: digitalSignature, one role policy, `extra` extensions. */
function issue(
  ci: TestIdentity,
  curve: Curve,
  commonName: string,
  validity: { notBefore: Date; notAfter: Date },
  policy: string,
  extra: Pick<SubjectSpec, 'subjectAltName' | 'extendedKeyUsage'>,
): TestIdentity {
  const name = new Name([rdn(ATTR.organizationName, 'eIM Sim Test SM-DP+'), rdn(ATTR.commonName, commonName)]);
  return issueCertificate(ci, curve, name, { ...validity, policies: [policy], keyUsage: KEY_USAGE.digitalSignature, ...extra });
}

/** DPauth, DPpb and TLS certificates for one test SM-DP+, under the test CI. */
export function createSmdpCertificates(options: SmdpCertificateOptions): SmdpCertificates {
  const curve = options.curve ?? 'P-256';
  const now = options.now ?? new Date();
  const validity = { notBefore: new Date(now.getTime() - DAY), notAfter: new Date(now.getTime() + (options.validDays ?? 3650) * DAY) };
  const oidSan = [new GeneralName({ registeredID: options.smdpOid })];
  const hosts = options.tlsHosts ?? ['127.0.0.1', 'localhost'];
  const tlsSan = hosts.map((h) => (/^[0-9.]+$/.test(h) || h.includes(':') ? new GeneralName({ iPAddress: h }) : new GeneralName({ dNSName: h })));
  return {
    smdpOid: options.smdpOid,
    auth: issue(options.ci, curve, 'Test SM-DP+ auth', validity, SMDP_ROLE.auth, { subjectAltName: oidSan }),
    pb: issue(options.ci, curve, 'Test SM-DP+ pb', validity, SMDP_ROLE.pb, { subjectAltName: oidSan }),
    tls: issue(options.ci, curve, 'Test SM-DP+ TLS', validity, SMDP_ROLE.tls, { subjectAltName: tlsSan, extendedKeyUsage: [id_kp_serverAuth] }),
  };
}
