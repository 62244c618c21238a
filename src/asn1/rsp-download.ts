/**
 * SGP.22 v2.5 profile-download objects decoded field by field (§3.1.3 common mutual authentication and
 * download, the ES10b functions of §5.7 AuthenticateServer, PrepareDownload, LoadBoundProfilePackage and
 * CancelSession; ASN.1 module RSPDefinitions): EuiccSigned1 / AuthenticateServerResponse (BF38),
 * EUICCSigned2 / PrepareDownloadResponse (BF21), the BoundProfilePackage (BF36) with its
 * InitialiseSecureChannelRequest (BF23), and EuiccCancelSessionSigned / CancelSessionResponse (BF41).
 *
 * The eIM relays these opaque and byte-exact (rsp-relay.ts holds those opaque codecs); only the two ends
 * of the download read inside them: the test SM-DP+ and the virtual eUICC in src/sim. The CHOICEs here
 * are the bodies under their application tag: `wrap(0xbf38, AuthenticateServerResponseBody.encode(..))`
 * gives the full TLV, and `decode(Body, readSingle(bytes).value)` reads one.
 *
 * Signature inputs (SGP.22 §3.1.3): euiccSignature1 over euiccSigned1, smdpSignature2 over smdpSigned2 ||
 * euiccSignature1 as a 5F37 TLV, euiccSignature2 over euiccSigned2 || smdpSignature2 as a 5F37 TLV,
 * smdpSign over the BF23 data objects || euiccOtpk as a 5F49 TLV (smdpSignInput).
 */
import { Certificate, octet16, octet32, transactionId } from './common.js';
import { CtxParams1 } from './rsp-euicc-info.js';
import { choice, type Infer, integer, namedInteger, objectIdentifier, octetString, opaque, optional, sequence, sequenceOf, signedPart, utf8String } from './schema.js';
import { concat, encodeTlv } from './tlv.js';

/**
 * `EuiccSigned1 ::= SEQUENCE { transactionId [0], serverAddress [3] UTF8String, serverChallenge [4] Octet16,
 * euiccInfo2 [34] EUICCInfo2, ctxParams1 CtxParams1 }` (30), signed by the eUICC (received bytes kept).
 * euiccInfo2 stays opaque (BF22): the signature covers the card's bytes as given.
 */
export const EuiccSigned1 = signedPart(
  sequence('EuiccSigned1', 0x30, {
    transactionId: transactionId(0x80),
    serverAddress: utf8String(0x83),
    serverChallenge: octet16(0x84),
    euiccInfo2: opaque('EUICCInfo2', [0xbf22]),
    ctxParams1: CtxParams1,
  }),
);
export type EuiccSigned1 = Infer<typeof EuiccSigned1>;

/** `AuthenticateErrorCode ::= INTEGER {...}` (SGP.22 AuthenticateResponseError). */
export const AUTHENTICATE_ERROR_CODE = {
  invalidCertificate: 1,
  invalidSignature: 2,
  unsupportedCurve: 3,
  noSessionContext: 4,
  invalidOid: 5,
  euiccChallengeMismatch: 6,
  ciPKUnknown: 7,
  undefinedError: 127,
} as const;

/**
 * `AuthenticateServerResponse ::= [56] CHOICE { authenticateResponseOk [0], authenticateResponseError [1] }`,
 * without its BF38. The error SEQUENCE has a written tag, so authenticateErrorCode keeps the universal 02.
 */
export const AuthenticateServerResponseBody = choice('AuthenticateServerResponse', {
  authenticateResponseOk: sequence('AuthenticateResponseOk', 0xa0, {
    euiccSigned1: EuiccSigned1,
    euiccSignature1: octetString(0x5f37),
    euiccCertificate: Certificate,
    eumCertificate: Certificate,
  }),
  authenticateResponseError: sequence('AuthenticateResponseError', 0xa1, {
    transactionId: transactionId(0x80),
    authenticateErrorCode: namedInteger(AUTHENTICATE_ERROR_CODE),
  }),
});
export type AuthenticateServerResponseBody = Infer<typeof AuthenticateServerResponseBody>;

/**
 * `EUICCSigned2 ::= SEQUENCE { transactionId [0], euiccOtpk [APPLICATION 73] OCTET STRING, hashCc Octet32 OPTIONAL }`
 * (30), signed by the eUICC (received bytes kept).
 */
export const EuiccSigned2 = signedPart(
  sequence('EuiccSigned2', 0x30, {
    transactionId: transactionId(0x80),
    euiccOtpk: octetString(0x5f49),
    hashCc: optional(octet32(0x04)),
  }),
);
export type EuiccSigned2 = Infer<typeof EuiccSigned2>;

/** `DownloadErrorCode ::= INTEGER {...}` (SGP.22 PrepareDownloadResponseError). */
export const DOWNLOAD_ERROR_CODE = { invalidCertificate: 1, invalidSignature: 2, unsupportedCurve: 3, noSessionContext: 4, invalidTransactionId: 5, undefinedError: 127 } as const;

/** `PrepareDownloadResponse ::= [33] CHOICE { downloadResponseOk [0], downloadResponseError [1] }`, without its BF21. */
export const PrepareDownloadResponseBody = choice('PrepareDownloadResponse', {
  downloadResponseOk: sequence('PrepareDownloadResponseOk', 0xa0, { euiccSigned2: EuiccSigned2, euiccSignature2: octetString(0x5f37) }),
  downloadResponseError: sequence('PrepareDownloadResponseError', 0xa1, { transactionId: transactionId(0x80), downloadErrorCode: namedInteger(DOWNLOAD_ERROR_CODE) }),
});
export type PrepareDownloadResponseBody = Infer<typeof PrepareDownloadResponseBody>;

/**
 * `InitialiseSecureChannelRequest ::= [35] SEQUENCE { remoteOpId [2] INTEGER, transactionId [0],
 * controlRefTemplate [6] IMPLICIT ControlRefTemplate { keyType [0], keyLen [1], hostId [4] },
 * smdpOtpk [APPLICATION 73], smdpSign [APPLICATION 55] }` (BF23), received bytes kept.
 */
export const InitialiseSecureChannelRequest = signedPart(
  sequence('InitialiseSecureChannelRequest', 0xbf23, {
    remoteOpId: integer(0x82),
    transactionId: transactionId(0x80),
    controlRefTemplate: sequence('ControlRefTemplate', 0xa6, { keyType: octetString(0x80), keyLen: octetString(0x81), hostId: octetString(0x84) }),
    smdpOtpk: octetString(0x5f49),
    smdpSign: octetString(0x5f37),
  }),
);
export type InitialiseSecureChannelRequest = Infer<typeof InitialiseSecureChannelRequest>;

/** `BoundProfilePackage ::= [54] SEQUENCE { BF23, A0 {87..}, A1 {88..}, A2 {87..} OPTIONAL, A3 {86..} }` (BF36). */
export const BoundProfilePackageBody = sequence('BoundProfilePackage', 0xbf36, {
  initialiseSecureChannelRequest: InitialiseSecureChannelRequest,
  firstSequenceOf87: sequenceOf('firstSequenceOf87', 0xa0, octetString(0x87)),
  sequenceOf88: sequenceOf('sequenceOf88', 0xa1, octetString(0x88)),
  secondSequenceOf87: optional(sequenceOf('secondSequenceOf87', 0xa2, octetString(0x87))),
  sequenceOf86: sequenceOf('sequenceOf86', 0xa3, octetString(0x86)),
});
export type BoundProfilePackageBody = Infer<typeof BoundProfilePackageBody>;

/** `CancelSessionReason ::= INTEGER {...}`. */
export const CANCEL_SESSION_REASON = { endUserRejection: 0, postponed: 1, timeout: 2, pprNotAllowed: 3, metadataMismatch: 4, loadBppExecutionError: 5, undefinedReason: 127 } as const;

/**
 * `EuiccCancelSessionSigned ::= SEQUENCE { transactionId TransactionId, smdpOid OBJECT IDENTIFIER, reason
 * CancelSessionReason }` (30), signed by the eUICC (received bytes kept). The module is AUTOMATIC TAGS and no
 * component carries a tag of its own, so every one is numbered: `80 txId, 81 oid, 82 reason`.
 */
export const EuiccCancelSessionSigned = signedPart(
  sequence('EuiccCancelSessionSigned', 0x30, { transactionId: transactionId(0x80), smdpOid: objectIdentifier(0x81), reason: namedInteger(CANCEL_SESSION_REASON, 0x82) }),
);
export type EuiccCancelSessionSigned = Infer<typeof EuiccCancelSessionSigned>;

/** `CancelSessionResponse ::= [65] CHOICE { cancelSessionResponseOk [0], cancelSessionResponseError [1] INTEGER }`, without its BF41. */
export const CancelSessionResponseBody = choice('CancelSessionResponse', {
  cancelSessionResponseOk: sequence('CancelSessionResponseOk', 0xa0, { euiccCancelSessionSigned: EuiccCancelSessionSigned, euiccCancelSessionSignature: octetString(0x5f37) }),
  cancelSessionResponseError: namedInteger({ invalidTransactionId: 5, undefinedError: 127 }, 0x81),
});
export type CancelSessionResponseBody = Infer<typeof CancelSessionResponseBody>;

/** Wraps an encoded CHOICE body into its SGP.22 application tag (BF38, BF21, BF41): the tag on a CHOICE is explicit. */
export function wrap(tag: number, inner: Uint8Array): Uint8Array {
  return encodeTlv(tag, inner);
}

/** A signature as the next signature's input appends it: `[APPLICATION 55]` (5F37) TLV. */
export const sig5f37 = (signature: Uint8Array): Uint8Array => encodeTlv(0x5f37, signature);
/** A one-time public key (uncompressed point) as `[APPLICATION 73]` (5F49) TLV. */
export const otpk5f49 = (point: Uint8Array): Uint8Array => encodeTlv(0x5f49, point);

/** The bytes smdpSign covers: the BF23 data objects before smdpSign, then the eUICC's one-time key (5F49). */
export function smdpSignInput(isc: Omit<InitialiseSecureChannelRequest, 'smdpSign'>, euiccOtpk: Uint8Array): Uint8Array {
  const crt = isc.controlRefTemplate;
  return concat([
    encodeTlv(0x82, Uint8Array.of(isc.remoteOpId)),
    encodeTlv(0x80, isc.transactionId),
    encodeTlv(0xa6, [encodeTlv(0x80, crt.keyType), encodeTlv(0x81, crt.keyLen), encodeTlv(0x84, crt.hostId)]),
    otpk5f49(isc.smdpOtpk),
    otpk5f49(euiccOtpk),
  ]);
}
