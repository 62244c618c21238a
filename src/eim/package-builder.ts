/**
 * Building eIM Packages (SGP.32 v1.2 §2.11.1): the signed EuiccPackageRequest (BF51) for PSMOs and eCOs, and
 * the unsigned IpaEuiccDataRequest (BF52) and ProfileDownloadTriggerRequest (BF54). Pure: the caller
 * supplies the counterValue and eimTransactionId it has committed.
 */
import type { Eco, EuiccPackageSigned, Psmo } from '../asn1/euicc-package.js';
import { EuiccPackageSigned as EuiccPackageSignedCodec } from '../asn1/euicc-package.js';
import { IpaEuiccDataRequest, ProfileDownloadTriggerRequest } from '../asn1/ipa-euicc-data.js';
import { octetString } from '../asn1/schema.js';
import { concat, encodeTlv } from '../asn1/tlv.js';
import type { Signer } from '../crypto/signer.js';
import { PackageRuleError } from './errors.js';
import type { PackageContent } from './operation-request.js';
import { signatureInput } from './package-signing.js';

/** Highest counterValue every eUICC must accept (notes §(c)); above it the eUICC answers counterValueOutOfRange. */
export const MAX_COUNTER_VALUE = 0x7fffff;

export interface PackageHeader {
  readonly eimId: string;
  readonly eid: string;
  readonly counterValue: number;
  readonly eimTransactionId: Uint8Array;
  readonly associationToken?: number;
}

/** The eUICC performs at most one profile state change per package, and a package holds PSMOs or eCOs. */
export function assertPackageRules(items: readonly (PackageContent & ({ psmo: Psmo } | { eco: Eco }))[]): void {
  if (items.length === 0) throw new PackageRuleError('package', 'an eUICC package needs at least one PSMO or eCO');
  const psmos = items.filter((i): i is { psmo: Psmo } => 'psmo' in i);
  if (psmos.length !== 0 && psmos.length !== items.length) throw new PackageRuleError('package', 'PSMOs and eCOs cannot share a package');
  const stateChanges = psmos.filter((i) => 'enable' in i.psmo || 'disable' in i.psmo).length;
  if (stateChanges > 1) throw new PackageRuleError('package', 'at most one enable or disable per package');
}

const signatureTlv = octetString(0x5f37);

/**
 * Encodes and signs an EuiccPackageRequest. Returns its DER; the signature covers the EuiccPackageSigned DER
 * followed by the association token TLV.
 */
export async function buildEuiccPackageRequest(
  signer: Signer,
  header: PackageHeader,
  items: readonly (PackageContent & ({ psmo: Psmo } | { eco: Eco }))[],
): Promise<Uint8Array> {
  assertPackageRules(items);
  if (header.counterValue < 1 || header.counterValue > MAX_COUNTER_VALUE) {
    throw new PackageRuleError('counterValue', `must be in 1..${MAX_COUNTER_VALUE}; the eUICC would refuse it`);
  }
  const signed: EuiccPackageSigned = {
    eimId: header.eimId,
    eidValue: header.eid,
    counterValue: header.counterValue,
    eimTransactionId: header.eimTransactionId,
    euiccPackage: 'psmo' in items[0]! ? { psmoList: items.map((i) => (i as { psmo: Psmo }).psmo) } : { ecoList: items.map((i) => (i as { eco: Eco }).eco) },
  };
  const signedDer = EuiccPackageSignedCodec.encode(signed);
  const input = signatureInput(signedDer, header.associationToken);
  const signature = signer.signSync !== undefined ? signer.signSync(input) : await signer.sign(input);
  // Assembled from the signed bytes themselves, so what leaves is exactly what was signed.
  return encodeTlv(0xbf51, concat([signedDer, signatureTlv.encode(signature)]));
}

/** Encodes an unsigned data request or download trigger with the eimTransactionId that correlates its result. */
export function buildUnsignedPackage(content: Extract<PackageContent, { ipaEuiccDataRequest: unknown } | { profileDownloadTriggerRequest: unknown }>, eimTransactionId: Uint8Array): Uint8Array {
  if ('ipaEuiccDataRequest' in content) return IpaEuiccDataRequest.encode({ ...content.ipaEuiccDataRequest, eimTransactionId });
  return ProfileDownloadTriggerRequest.encode({ ...content.profileDownloadTriggerRequest, eimTransactionId });
}
