/**
 * SGP.22 v2.5 download objects as the two ends of the mutual authentication build and read them (§5.6,
 * ASN.1 RSPDefinitions): EuiccSigned1 / AuthenticateServerResponse (BF38), EuiccSigned2 /
 * PrepareDownloadResponse (BF21), the BoundProfilePackage (BF36) with its InitialiseSecureChannelRequest
 * (BF23) and the eUICC's CancelSessionResponse (BF41). The eIM never decodes these (it relays them
 * opaque); only the test SM-DP+ and the virtual eUICC do, so they live in src/sim.
 *
 * The signature inputs follow SGP.22: serverSignature1 over serverSigned1, euiccSignature1 over
 * euiccSigned1, smdpSignature2 over smdpSigned2 || euiccSignature1 (5F37 TLV), euiccSignature2 over
 * euiccSigned2 || smdpSignature2 (5F37 TLV), smdpSign over the BF23 data objects || euiccOtpk (5F49 TLV).
 * The profile protection is synthetic (see sessionKey / segmentMac): real SCP03t is out of scope.
 */
import { createHash, createHmac } from 'node:crypto';
import { octet16, transactionId } from '../../asn1/common.js';
import { CtxParams1 } from '../../asn1/rsp.js';
import { choice, type Infer, integer, namedInteger, objectIdentifier, octetString, opaque, optional, sequence, sequenceOf, signedPart, utf8String } from '../../asn1/schema.js';
import { concat, encodeTlv } from '../../asn1/tlv.js';

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

/** `AuthenticateServerResponse ::= [56] CHOICE { authenticateResponseOk [0], authenticateResponseError [1] }`. */
export const AuthenticateServerResponseBody = choice('AuthenticateServerResponse', {
  authenticateResponseOk: sequence('AuthenticateResponseOk', 0xa0, {
    euiccSigned1: EuiccSigned1,
    euiccSignature1: octetString(0x5f37),
    euiccCertificate: opaque('Certificate', [0x30]),
    eumCertificate: opaque('Certificate', [0x30]),
  }),
  authenticateResponseError: sequence('AuthenticateResponseError', 0xa1, {
    transactionId: transactionId(0x80),
    authenticateErrorCode: namedInteger(AUTHENTICATE_ERROR_CODE),
  }),
});
export type AuthenticateServerResponseBody = Infer<typeof AuthenticateServerResponseBody>;

export const EuiccSigned2 = signedPart(
  sequence('EuiccSigned2', 0x30, {
    transactionId: transactionId(0x80),
    euiccOtpk: octetString(0x5f49),
    hashCc: optional(octetString(0x04, { min: 32, max: 32 })),
  }),
);

export const DOWNLOAD_ERROR_CODE = { invalidCertificate: 1, invalidSignature: 2, unsupportedCurve: 3, noSessionContext: 4, invalidTransactionId: 5, undefinedError: 127 } as const;

/** `PrepareDownloadResponse ::= [33] CHOICE { downloadResponseOk [0], downloadResponseError [1] }`. */
export const PrepareDownloadResponseBody = choice('PrepareDownloadResponse', {
  downloadResponseOk: sequence('PrepareDownloadResponseOk', 0xa0, { euiccSigned2: EuiccSigned2, euiccSignature2: octetString(0x5f37) }),
  downloadResponseError: sequence('PrepareDownloadResponseError', 0xa1, { transactionId: transactionId(0x80), downloadErrorCode: namedInteger(DOWNLOAD_ERROR_CODE) }),
});
export type PrepareDownloadResponseBody = Infer<typeof PrepareDownloadResponseBody>;

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

/** `BoundProfilePackage ::= [54] SEQUENCE { BF23, A0 {87..}, A1 {88..}, A2 {87..} OPT, A3 {86..} }`. */
export const BoundProfilePackageBody = sequence('BoundProfilePackage', 0xbf36, {
  initialiseSecureChannelRequest: InitialiseSecureChannelRequest,
  firstSequenceOf87: sequenceOf('firstSequenceOf87', 0xa0, octetString(0x87)),
  sequenceOf88: sequenceOf('sequenceOf88', 0xa1, octetString(0x88)),
  secondSequenceOf87: optional(sequenceOf('secondSequenceOf87', 0xa2, octetString(0x87))),
  sequenceOf86: sequenceOf('sequenceOf86', 0xa3, octetString(0x86)),
});
export type BoundProfilePackageBody = Infer<typeof BoundProfilePackageBody>;

export const CANCEL_SESSION_REASON = { endUserRejection: 0, postponed: 1, timeout: 2, pprNotAllowed: 3, metadataMismatch: 4, loadBppExecutionError: 5, undefinedReason: 127 } as const;

export const EuiccCancelSessionSigned = signedPart(
  sequence('EuiccCancelSessionSigned', 0x30, { transactionId: transactionId(0x80), smdpOid: objectIdentifier(), reason: namedInteger(CANCEL_SESSION_REASON, 0x81) }),
);

/** `CancelSessionResponse ::= [65] CHOICE { cancelSessionResponseOk [0], cancelSessionResponseError [1] INTEGER }` (BF41). */
export const CancelSessionResponseBody = choice('CancelSessionResponse', {
  cancelSessionResponseOk: sequence('CancelSessionResponseOk', 0xa0, { euiccCancelSessionSigned: EuiccCancelSessionSigned, euiccCancelSessionSignature: octetString(0x5f37) }),
  cancelSessionResponseError: namedInteger({ invalidTransactionId: 5, undefinedError: 127 }, 0x81),
});

/** Wraps an encoded CHOICE value into its SGP.22 application tag (BF38, BF21, BF41). */
export function wrap(tag: number, inner: Uint8Array): Uint8Array {
  return encodeTlv(tag, inner);
}

export const sig5f37 = (signature: Uint8Array): Uint8Array => encodeTlv(0x5f37, signature);
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

/** Synthetic session key: SHA-256 of the ECKA shared secret and the transactionId (stands in for the SGP.22 KDF). */
export function sessionKey(sharedSecret: Uint8Array, txId: Uint8Array): Uint8Array {
  return new Uint8Array(createHash('sha256').update(sharedSecret).update(txId).digest());
}

/** A segment as sent: data || first 8 bytes of HMAC-SHA256(key, index || data) (stands in for the SCP03t C-MAC). */
export function protectSegment(key: Uint8Array, index: number, data: Uint8Array): Uint8Array {
  return concat([data, segmentMac(key, index, data)]);
}

export function segmentMac(key: Uint8Array, index: number, data: Uint8Array): Uint8Array {
  return new Uint8Array(createHmac('sha256', key).update(Uint8Array.of(index >> 8, index & 0xff)).update(data).digest().subarray(0, 8));
}

/** Checks and strips the MAC of a protected segment; undefined when it does not verify. */
export function unprotectSegment(key: Uint8Array, index: number, segment: Uint8Array): Uint8Array | undefined {
  if (segment.length < 8) return undefined;
  const data = segment.subarray(0, segment.length - 8);
  const mac = segment.subarray(segment.length - 8);
  const expected = segmentMac(key, index, data);
  return Buffer.compare(Buffer.from(mac), Buffer.from(expected)) === 0 ? data : undefined;
}
