/**
 * The eIM side of ESep reduced to what the simulator's tests and demos need (SGP.32 v1.2 §2.11.1.1, notes
 * (c)): build and sign an EuiccPackageRequest over EuiccPackageSigned DER || association token TLV, and
 * verify the eUICC's signatures over the RECEIVED bytes of a result or notification. The real eIM core
 * lives in src/eim; this exists so the virtual eUICC can be exercised without it.
 */
import { EuiccPackageRequest, type EuiccPackageResult, EuiccPackageSigned, EuiccPackageErrorDataSigned, EuiccPackageResultDataSigned } from '../../asn1/euicc-package.js';
import { NotificationMetadata, PendingNotification, ProfileInstallationResultData } from '../../asn1/rsp.js';
import { decode, signedBytes } from '../../asn1/schema.js';
import { concat } from '../../asn1/tlv.js';
import { verifyEcdsa, type PublicKeyInput } from '../../crypto/ecdsa.js';
import type { Signer } from '../../crypto/signer.js';
import { X509Certificate, type KeyObject } from 'node:crypto';
import { AddInitialEimRequest, type EimConfigurationData } from '../../asn1/eim-configuration.js';
import { eidWithCheckDigits } from '../../asn1/identifiers.js';
import type { Curve } from '../../crypto/curves.js';
import { FileSigner } from '../../crypto/file-signer.js';
import { generateKeyPair, privateKeyToPem } from '../../crypto/keys.js';
import { createTestPki, type TestPki } from '../pki.js';
import { VirtualEuicc } from './euicc.js';
import { associationTokenTlv } from './esep.js';

export interface PackageSpec {
  eimId: string;
  eid: string;
  counterValue: number;
  eimTransactionId?: Uint8Array;
  euiccPackage: EuiccPackageSigned['euiccPackage'];
  associationToken?: number;
}

/** A signed EuiccPackageRequest (BF51) DER. */
export async function buildEuiccPackageRequest(signer: Signer, spec: PackageSpec): Promise<Uint8Array> {
  const signed: EuiccPackageSigned = { eimId: spec.eimId, eidValue: spec.eid, counterValue: spec.counterValue, euiccPackage: spec.euiccPackage };
  if (spec.eimTransactionId !== undefined) signed.eimTransactionId = spec.eimTransactionId;
  const tbs = EuiccPackageSigned.encode(signed);
  const eimSignature = await signer.sign(concat([tbs, associationTokenTlv(spec.associationToken)]));
  return EuiccPackageRequest.encode({ euiccPackageSigned: signed, eimSignature });
}

/** Verifies euiccSignEPR / euiccSignEPE of a decoded result over its received bytes; undefined for the unsigned arm. */
export function verifyPackageResult(euiccKey: PublicKeyInput, result: EuiccPackageResult, associationToken: number | undefined): boolean | undefined {
  const token = associationTokenTlv(associationToken);
  if ('euiccPackageResultSigned' in result) {
    const r = result.euiccPackageResultSigned;
    return verifyEcdsa(euiccKey, concat([signedBytes(EuiccPackageResultDataSigned, r.euiccPackageResultDataSigned), token]), r.euiccSignEPR).valid;
  }
  if ('euiccPackageErrorSigned' in result) {
    const r = result.euiccPackageErrorSigned;
    return verifyEcdsa(euiccKey, concat([signedBytes(EuiccPackageErrorDataSigned, r.euiccPackageErrorDataSigned), token]), r.euiccSignEPE).valid;
  }
  return undefined;
}

/**
 * Verifies the eUICC signature of a notification over its received BF2F / BF27 bytes: given DER it is
 * decoded first; given a value decoded elsewhere (e.g. inside a ProvideEimPackageResult) its own received
 * bytes are used.
 */
export function verifyNotification(euiccKey: PublicKeyInput, input: Uint8Array | PendingNotification): { valid: boolean; notification: PendingNotification } {
  const notification = input instanceof Uint8Array ? decode(PendingNotification, input) : input;
  if ('otherSignedNotification' in notification) {
    const n = notification.otherSignedNotification;
    return { valid: verifyEcdsa(euiccKey, signedBytes(NotificationMetadata, n.tbsOtherNotification), n.euiccNotificationSignature).valid, notification };
  }
  if ('profileInstallationResult' in notification) {
    const p = notification.profileInstallationResult;
    return { valid: verifyEcdsa(euiccKey, signedBytes(ProfileInstallationResultData, p.profileInstallationResultData), p.euiccSignPIR).valid, notification };
  }
  return { valid: false, notification };
}

// ---- a ready-made device for tests and demos ----

export interface SimFixture {
  readonly pki: TestPki;
  readonly eid: string;
  readonly eimId: string;
  readonly signer: FileSigner;
  readonly card: VirtualEuicc;
  /** The eUICC's public key (from its certificate), to verify what the card signs. */
  readonly euiccKey: KeyObject;
  /** The association token the card handed out for the eIM. */
  readonly associationToken: number | undefined;
  /** A signed package with the next counter value (or the fields given). */
  pkg(euiccPackage: PackageSpec['euiccPackage'], overrides?: Partial<PackageSpec> & { signer?: Signer }): Promise<Uint8Array>;
  nextCounter(): number;
}

export const FIXTURE_ICCIDS = ['8944476500001224158', '8944476500001224166', '8944476500001224174'] as const;

/**
 * A test PKI with one eUICC, an eIM key, and a card holding three profiles (the first enabled) with the eIM
 * associated through AddInitialEim (association token generated by the card unless `associationToken` is
 * given; `null` configures none).
 */
export function createSimFixture(options: { curve?: Curve; eid?: string; associationToken?: number | null; pki?: TestPki } = {}): SimFixture {
  const eid = options.eid ?? eidWithCheckDigits('890490320000000000000000012345'.slice(0, 30));
  const pki = options.pki ?? createTestPki({ curve: options.curve ?? 'P-256', eids: [eid] });
  const signer = FileSigner.fromPem(privateKeyToPem(generateKeyPair(options.curve ?? 'P-256').privateKey));
  const eimId = 'eim.sim.test';
  const card = VirtualEuicc.fromPki(pki, eid, {
    defaultSmdpAddress: 'smdp.sim.test',
    profiles: [
      { iccid: FIXTURE_ICCIDS[0], state: 'enabled', nickname: 'one', serviceProviderName: 'Op One' },
      { iccid: FIXTURE_ICCIDS[1], nickname: 'two' },
      { iccid: FIXTURE_ICCIDS[2], profileClass: 'test' },
    ],
  });
  const token = options.associationToken === undefined ? -1 : options.associationToken;
  const config: EimConfigurationData = {
    eimId,
    eimFqdn: 'eim.sim.test:5684',
    eimIdType: 'eimIdTypeFqdn',
    counterValue: 0,
    eimPublicKeyData: { eimPublicKey: signer.publicKeySpki() },
    eimSupportedProtocol: ['eimRetrieveCoaps', 'eimInjectCoaps'],
    euiccCiPKId: pki.ci.subjectKeyIdentifier,
  };
  if (token !== null) config.associationToken = token;
  card.addInitialEim(AddInitialEimRequest.encode({ eimConfigurationDataList: [config] }));
  const associationToken = card.associationTokenOf(eimId);
  let counter = 0;
  const euiccKey = new X509Certificate(Buffer.from(pki.euiccs.get(eid)!.certificate)).publicKey;
  return {
    pki,
    eid,
    eimId,
    signer,
    card,
    euiccKey,
    associationToken,
    nextCounter: () => ++counter,
    pkg(euiccPackage, overrides = {}) {
      const { signer: s, ...rest } = overrides;
      const spec: PackageSpec = { eimId, eid, counterValue: rest.counterValue ?? ++counter, euiccPackage, ...rest };
      if (!('associationToken' in rest)) spec.associationToken = associationToken;
      return buildEuiccPackageRequest(s ?? signer, spec);
    },
  };
}
