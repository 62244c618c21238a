/**
 * The virtual eUICC's side of an SGP.22 v2.5 download (§3.1.3 common mutual authentication, §3.1.3.2
 * download and installation, §5.7.13 GetEuiccChallenge, §5.7.13/.14 AuthenticateServer, §5.7.5
 * PrepareDownload, §5.7.6 LoadBoundProfilePackage, §5.7.14 CancelSession), as used by an indirect
 * download (SGP.32 v1.2 §3.2.3.2) where the IPA reaches the SM-DP+ through the eIM.
 *
 * The card checks what a real one checks: the SM-DP+ certificates chain to a trusted CI with the right
 * RSP role, serverSignature1 (DPauth) over serverSigned1 with our challenge, smdpSignature2 (DPpb) over
 * smdpSigned2 || euiccSignature1, smdpSign over the BF23 data || our one-time key, and the integrity of
 * every BPP segment. Key agreement is real ECDH (P-256); the profile protection after it is synthetic
 * (sgp22-download.ts). The session lives in RAM, as on a card: a reset loses it (noSessionContext).
 */
import { createPublicKey, diffieHellman, generateKeyPairSync, randomBytes, X509Certificate, type KeyObject } from 'node:crypto';
import { AsnConvert } from '@peculiar/asn1-schema';
import { Certificate, CertificatePolicies, id_ce_certificatePolicies } from '@peculiar/asn1-x509';
import { bytesEqual, toHex } from '../../asn1/hex.js';
import { type CtxParams1, EUICCInfo2, ProfileInstallationResult, ProfileInstallationResultData, ServerSigned1, SmdpSigned2, StoreMetadataRequest } from '../../asn1/rsp.js';
import {
  AUTHENTICATE_ERROR_CODE,
  AuthenticateServerResponseBody,
  BoundProfilePackageBody,
  CANCEL_SESSION_REASON,
  CancelSessionResponseBody,
  EuiccCancelSessionSigned,
  EuiccSigned1,
  EuiccSigned2,
  PrepareDownloadResponseBody,
  sig5f37,
  smdpSignInput,
  wrap,
} from '../../asn1/rsp-download.js';
import { decode, type Infer } from '../../asn1/schema.js';
import { concat } from '../../asn1/tlv.js';
import { registeredIdOf } from '../../crypto/certificate.js';
import { spkiFromPoint, verifyEcdsa } from '../../crypto/ecdsa.js';
import { rawPublicPoint } from '../../crypto/keys.js';
import { sessionKey, unprotectSegment } from '../smdp/sgp22-download.js';
import { SMDP_ROLE } from '../smdp/smdp-pki.js';
import type { VirtualEuicc } from './euicc.js';
import type { ProfileRecord } from './state.js';

export interface Es10bTrust {
  /** CI certificates (DER) whose keys the card holds for verification. */
  readonly ciCertificates: readonly Uint8Array[];
  readonly now?: () => Date;
}

interface Session {
  euiccChallenge: Uint8Array;
  transactionId?: Uint8Array;
  serverAddress?: string;
  smdpOid?: string;
  euiccSignature1?: Uint8Array;
  otsk?: KeyObject;
  euiccOtpk?: Uint8Array;
  smdpSignature2?: Uint8Array;
  smdpPbKey?: KeyObject;
}

const sessions = new WeakMap<VirtualEuicc, Session>();

/** ES10b.GetEuiccChallenge: a fresh 16-byte challenge, opening a new session (and dropping any other). */
export function getEuiccChallenge(card: VirtualEuicc): Uint8Array {
  const euiccChallenge = new Uint8Array(randomBytes(16));
  sessions.set(card, { euiccChallenge });
  return euiccChallenge;
}

/** Validates an SM-DP+ certificate: signed by a trusted CI, in validity, with `role`; returns its SM-DP+ OID. */
function checkSmdpCertificate(der: Uint8Array, role: string, trust: Es10bTrust): { key: KeyObject; smdpOid: string | undefined } | undefined {
  try {
    const x = new X509Certificate(der);
    const now = (trust.now ?? (() => new Date()))();
    if (new Date(x.validFrom) > now || new Date(x.validTo) < now) return undefined;
    if (!trust.ciCertificates.some((ci) => x.verify(new X509Certificate(ci).publicKey))) return undefined;
    const cert = AsnConvert.parse(der, Certificate);
    const policiesExt = cert.tbsCertificate.extensions?.find((e) => e.extnID === id_ce_certificatePolicies);
    if (policiesExt === undefined) return undefined;
    const policies = AsnConvert.parse(policiesExt.extnValue.buffer, CertificatePolicies);
    if (!policies.some((p) => p.policyIdentifier === role)) return undefined;
    return { key: x.publicKey, smdpOid: registeredIdOf(der) };
  } catch {
    return undefined;
  }
}

export interface AuthenticateServerInput {
  /** serverSigned1 as received (DER, 30). */
  readonly serverSigned1: Uint8Array;
  /** serverSignature1 value (r||s). */
  readonly serverSignature1: Uint8Array;
  readonly euiccCiPKIdToBeUsed: Uint8Array;
  readonly serverCertificate: Uint8Array;
  readonly ctxParams1: CtxParams1;
}

/** ES10b.AuthenticateServer: the AuthenticateServerResponse (BF38) DER, ok or error arm. */
export function authenticateServer(card: VirtualEuicc, input: AuthenticateServerInput, trust: Es10bTrust): Uint8Array {
  const session = sessions.get(card);
  const signed = decode(ServerSigned1, input.serverSigned1);
  const error = (code: keyof typeof AUTHENTICATE_ERROR_CODE): Uint8Array =>
    wrap(0xbf38, AuthenticateServerResponseBody.encode({ authenticateResponseError: { transactionId: signed.transactionId, authenticateErrorCode: code } }));
  if (session === undefined) return error('noSessionContext');
  if (!bytesEqual(input.euiccCiPKIdToBeUsed, card.ciPKId)) return error('ciPKUnknown');
  const cert = checkSmdpCertificate(input.serverCertificate, SMDP_ROLE.auth, trust);
  if (cert === undefined) return error('invalidCertificate');
  if (!verifyEcdsa(cert.key, input.serverSigned1, input.serverSignature1).valid) return error('invalidSignature');
  if (!bytesEqual(signed.euiccChallenge, session.euiccChallenge)) return error('euiccChallengeMismatch');
  const euiccSigned1: Infer<typeof EuiccSigned1> = {
    transactionId: signed.transactionId,
    serverAddress: signed.serverAddress,
    serverChallenge: signed.serverChallenge,
    euiccInfo2: EUICCInfo2.encode(card.euiccInfo2()),
    ctxParams1: input.ctxParams1,
  };
  const euiccSigned1Der = EuiccSigned1.encode(euiccSigned1);
  const euiccSignature1 = card.sign(euiccSigned1Der);
  Object.assign(session, { transactionId: signed.transactionId, serverAddress: signed.serverAddress, smdpOid: cert.smdpOid, euiccSignature1 });
  return wrap(
    0xbf38,
    AuthenticateServerResponseBody.encode({
      authenticateResponseOk: { euiccSigned1, euiccSignature1, euiccCertificate: card.euiccCertificate, eumCertificate: card.eumCertificate },
    }),
  );
}

export interface PrepareDownloadInput {
  readonly smdpSigned2: Uint8Array;
  readonly smdpSignature2: Uint8Array;
  readonly hashCc?: Uint8Array;
  readonly smdpCertificate: Uint8Array;
}

/** ES10b.PrepareDownload: the PrepareDownloadResponse (BF21) DER with a fresh one-time key. */
export function prepareDownload(card: VirtualEuicc, input: PrepareDownloadInput, trust: Es10bTrust): Uint8Array {
  const session = sessions.get(card);
  const signed = decode(SmdpSigned2, input.smdpSigned2);
  const error = (code: 'invalidCertificate' | 'invalidSignature' | 'noSessionContext' | 'invalidTransactionId'): Uint8Array =>
    wrap(0xbf21, PrepareDownloadResponseBody.encode({ downloadResponseError: { transactionId: signed.transactionId, downloadErrorCode: code } }));
  if (session?.transactionId === undefined || session.euiccSignature1 === undefined) return error('noSessionContext');
  if (!bytesEqual(signed.transactionId, session.transactionId)) return error('invalidTransactionId');
  const cert = checkSmdpCertificate(input.smdpCertificate, SMDP_ROLE.pb, trust);
  if (cert === undefined) return error('invalidCertificate');
  if (!verifyEcdsa(cert.key, concat([input.smdpSigned2, sig5f37(session.euiccSignature1)]), input.smdpSignature2).valid) return error('invalidSignature');
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const euiccOtpk = rawPublicPoint(createPublicKey(privateKey));
  const euiccSigned2 = { transactionId: signed.transactionId, euiccOtpk, ...(input.hashCc !== undefined ? { hashCc: input.hashCc } : {}) };
  const euiccSignature2 = card.sign(concat([EuiccSigned2.encode(euiccSigned2), sig5f37(input.smdpSignature2)]));
  Object.assign(session, { otsk: privateKey, euiccOtpk, smdpSignature2: input.smdpSignature2, smdpPbKey: cert.key });
  return wrap(0xbf21, PrepareDownloadResponseBody.encode({ downloadResponseOk: { euiccSigned2, euiccSignature2 } }));
}

export interface LoadOutcome {
  /** The ProfileInstallationResult (BF37) DER, also kept in the card's notification list. */
  readonly pir: Uint8Array;
  readonly profile?: ProfileRecord;
}

type ErrorStep = 'initialiseSecureChannel' | 'configureISDP' | 'storeMetadata' | 'loadProfileElements';
type ErrorReason = 'invalidSignature' | 'invalidTransactionId' | 'scp03tSecurityError' | 'scp03tStructureError' | 'installFailedDueToIccidAlreadyExistsOnEuicc' | 'incorrectInputValues';

/** ES10b.LoadBoundProfilePackage (all segments at once): installs the profile and returns the signed PIR. */
export function loadBoundProfilePackage(card: VirtualEuicc, bpp: Uint8Array): LoadOutcome {
  const session = sessions.get(card);
  const serverAddress = session?.serverAddress ?? '';
  const smdpOid = session?.smdpOid ?? '2.999';
  const txId = session?.transactionId ?? new Uint8Array(16);
  sessions.delete(card);
  const pir = (finalResult: Infer<typeof ProfileInstallationResultData>['finalResult'], iccid?: string): Uint8Array => {
    const data: Infer<typeof ProfileInstallationResultData> = {
      transactionId: txId,
      notificationMetadata: { seqNumber: card.nextSeqNumber(), profileManagementOperation: ['notificationInstall'], notificationAddress: serverAddress, ...(iccid !== undefined ? { iccid } : {}) },
      smdpOid,
      finalResult,
    };
    const der = ProfileInstallationResult.encode({ profileInstallationResultData: data, euiccSignPIR: card.sign(ProfileInstallationResultData.encode(data)) });
    card.state.notifications.push({ seqNumber: data.notificationMetadata.seqNumber, operation: 'install', iccid: iccid ?? '', der: toHex(der) });
    return der;
  };
  const fail = (bppCommandId: ErrorStep, errorReason: ErrorReason): LoadOutcome => ({ pir: pir({ errorResult: { bppCommandId, errorReason } }) });
  if (session?.otsk === undefined || session.euiccOtpk === undefined || session.smdpPbKey === undefined) return fail('initialiseSecureChannel', 'invalidTransactionId');
  let body;
  try {
    body = decode(BoundProfilePackageBody, bpp);
  } catch {
    return fail('initialiseSecureChannel', 'scp03tStructureError');
  }
  const isc = body.initialiseSecureChannelRequest;
  if (!bytesEqual(isc.transactionId, txId)) return fail('initialiseSecureChannel', 'invalidTransactionId');
  if (!verifyEcdsa(session.smdpPbKey, smdpSignInput(isc, session.euiccOtpk), isc.smdpSign).valid) return fail('initialiseSecureChannel', 'invalidSignature');
  let key: Uint8Array;
  try {
    const peer = createPublicKey({ key: Buffer.from(spkiFromPoint(isc.smdpOtpk, 'P-256')), format: 'der', type: 'spki' });
    key = sessionKey(new Uint8Array(diffieHellman({ privateKey: session.otsk, publicKey: peer })), txId);
  } catch {
    return fail('initialiseSecureChannel', 'incorrectInputValues');
  }
  let index = 0;
  const open = (segments: readonly Uint8Array[]): Uint8Array[] | undefined => {
    const out: Uint8Array[] = [];
    for (const s of segments) {
      const data = unprotectSegment(key, index++, s);
      if (data === undefined) return undefined;
      out.push(data);
    }
    return out;
  };
  if (open(body.firstSequenceOf87) === undefined) return fail('configureISDP', 'scp03tSecurityError');
  const metadataParts = open(body.sequenceOf88);
  if (metadataParts === undefined) return fail('storeMetadata', 'scp03tSecurityError');
  let metadata;
  try {
    metadata = decode(StoreMetadataRequest, concat(metadataParts));
  } catch {
    return fail('storeMetadata', 'incorrectInputValues');
  }
  if (body.secondSequenceOf87 !== undefined && open(body.secondSequenceOf87) === undefined) return fail('configureISDP', 'scp03tSecurityError');
  if (open(body.sequenceOf86) === undefined) return fail('loadProfileElements', 'scp03tSecurityError');
  if (card.profile(metadata.iccid) !== undefined) return fail('storeMetadata', 'installFailedDueToIccidAlreadyExistsOnEuicc');
  const profile = card.addProfile({
    iccid: metadata.iccid,
    serviceProviderName: metadata.serviceProviderName,
    profileName: metadata.profileName,
    notificationAddress: serverAddress,
    ...(metadata.profileClass !== undefined ? { profileClass: metadata.profileClass as 'operational' } : {}),
  });
  return { pir: pir({ successResult: { aid: new Uint8Array(Buffer.from(profile.aid, 'hex')), simaResponse: Uint8Array.of(0x30, 0x00) } }, profile.iccid), profile };
}

/** ES10b.CancelSession: the eUICC-signed CancelSessionResponse (BF41) for the open session. */
export function cancelSession(card: VirtualEuicc, transactionId: Uint8Array, reason: keyof typeof CANCEL_SESSION_REASON): Uint8Array {
  const session = sessions.get(card);
  if (session?.transactionId === undefined || !bytesEqual(session.transactionId, transactionId)) {
    return wrap(0xbf41, CancelSessionResponseBody.encode({ cancelSessionResponseError: 'invalidTransactionId' }));
  }
  sessions.delete(card);
  const signed = { transactionId, smdpOid: session.smdpOid ?? '2.999', reason };
  const euiccCancelSessionSignature = card.sign(EuiccCancelSessionSigned.encode(signed));
  return wrap(0xbf41, CancelSessionResponseBody.encode({ cancelSessionResponseOk: { euiccCancelSessionSigned: signed, euiccCancelSessionSignature } }));
}
