/**
 * The eIM's own identity (SGP.32 v1.2 §2.11, EimConfigurationData): what it is called on the eUICC, where the
 * IPA reaches it, the key that signs its packages, and the trust data it hands to IPAs. From it come the
 * EimConfigurationData for addEim/updateEim and the AddInitialEimRequest used in factory provisioning.
 */
import { AddInitialEimRequest, type EimConfigurationData } from '../asn1/eim-configuration.js';
import type { Signer } from '../crypto/signer.js';

export type EimIdTypeName = 'oid' | 'fqdn' | 'proprietary';

export interface EimIdentity {
  readonly eimId: string;
  readonly eimIdType?: EimIdTypeName;
  /** host[:port] the IPA connects to. */
  readonly eimFqdn?: string;
  readonly signer: Signer;
  /** (D)TLS trust anchor given to IPAs: the server's certificate or public key (DER). */
  readonly trustedTls?: { readonly certificate?: Uint8Array; readonly publicKeySpki?: Uint8Array };
  /** EimSupportedProtocol bit names (eimRetrieveHttps, eimRetrieveCoaps, eimInjectHttps, eimInjectCoaps, eimProprietary). */
  readonly supportedProtocols: readonly string[];
  readonly indirectProfileDownload: boolean;
  /** SKI of the CI whose eUICC certificates sign results for this eIM. */
  readonly euiccCiPKId?: Uint8Array;
}

const ID_TYPE = { oid: 'eimIdTypeOid', fqdn: 'eimIdTypeFqdn', proprietary: 'eimIdTypeProprietary' } as const;

/**
 * EimConfigurationData describing this eIM. `associationToken` -1 asks the eUICC to generate one; the key is
 * given as the eIM certificate when one is configured, otherwise as the public key.
 */
export function eimConfigurationData(id: EimIdentity, options: { counterValue?: number; associationToken?: number } = {}): EimConfigurationData {
  const cert = id.signer.certificate();
  const d: EimConfigurationData = {
    eimId: id.eimId,
    eimPublicKeyData: cert !== undefined ? { eimCertificate: cert } : { eimPublicKey: id.signer.publicKeySpki() },
    eimSupportedProtocol: [...id.supportedProtocols],
  };
  if (id.eimFqdn !== undefined) d.eimFqdn = id.eimFqdn;
  if (id.eimIdType !== undefined) d.eimIdType = ID_TYPE[id.eimIdType];
  if (options.counterValue !== undefined) d.counterValue = options.counterValue;
  if (options.associationToken !== undefined) d.associationToken = options.associationToken;
  if (id.trustedTls?.certificate !== undefined) d.trustedPublicKeyDataTls = { trustedCertificateTls: id.trustedTls.certificate };
  else if (id.trustedTls?.publicKeySpki !== undefined) d.trustedPublicKeyDataTls = { trustedEimPkTls: id.trustedTls.publicKeySpki };
  if (id.euiccCiPKId !== undefined) d.euiccCiPKId = id.euiccCiPKId;
  if (id.indirectProfileDownload) d.indirectProfileDownload = true;
  return d;
}

/** The AddInitialEimRequest (BF57) DER for factory provisioning of this eIM onto new eUICCs. */
export function addInitialEimRequest(id: EimIdentity, options: { counterValue?: number; associationToken?: number } = {}): Uint8Array {
  return AddInitialEimRequest.encode({ eimConfigurationDataList: [eimConfigurationData(id, { counterValue: options.counterValue ?? 0, associationToken: options.associationToken ?? -1 })] });
}
