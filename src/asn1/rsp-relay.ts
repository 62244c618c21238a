/**
 * SGP.22 v2.5 / SGP.32 v1.2 profile-download objects the eIM relays between IPA and SM-DP+ (indirect
 * download, shared notes (d)): ServerSigned1 and SmdpSigned2 (decoded, received bytes kept for the
 * signature), and the eUICC responses AuthenticateServerResponse (BF38), PrepareDownloadResponse (BF21),
 * CancelSessionResponse (BF41) and the BoundProfilePackage (BF36), carried opaque but delimited and
 * byte-exact: the eIM never looks inside them, and a re-encoding could break the signatures they hold.
 */
import { octet16, transactionId } from './common.js';
import { boolean, type Codec, fail, type Infer, octetString, opaque, optional, sequence, signedPart, utf8String } from './schema.js';
import { retag, tagHex } from './tlv.js';
import { toHex, fromHex } from './hex.js';

/**
 * `ServerSigned1 ::= SEQUENCE { transactionId [0], euiccChallenge [1] Octet16, serverAddress [3] UTF8String,
 * serverChallenge [4] Octet16 }` (30), signed by the SM-DP+ (received bytes kept).
 */
export const ServerSigned1 = signedPart(
  sequence('ServerSigned1', 0x30, {
    transactionId: transactionId(0x80),
    euiccChallenge: octet16(0x81),
    serverAddress: utf8String(0x83),
    serverChallenge: octet16(0x84),
  }),
);
export type ServerSigned1 = Infer<typeof ServerSigned1>;

/**
 * `SmdpSigned2 ::= SEQUENCE { transactionId [0] TransactionId, ccRequiredFlag BOOLEAN, bppEuiccOtpk
 * [APPLICATION 73] OCTET STRING OPTIONAL }` (30), signed by the SM-DP+ (received bytes kept).
 */
export const SmdpSigned2 = signedPart(
  sequence('SmdpSigned2', 0x30, {
    transactionId: transactionId(0x80),
    ccRequiredFlag: boolean(),
    bppEuiccOtpk: optional(octetString(0x5f49)),
  }),
);
export type SmdpSigned2 = Infer<typeof SmdpSigned2>;

/** SGP32-AuthenticateServerResponse (BF38; ok A0, error A1, compact A2 arms), the complete TLV byte-exact. */
export const AuthenticateServerResponse = opaque('AuthenticateServerResponse', [0xbf38]);
export type AuthenticateServerResponse = Infer<typeof AuthenticateServerResponse>;

/** SGP32-PrepareDownloadResponse (BF21; ok, error and compact arms), the complete TLV byte-exact. */
export const PrepareDownloadResponse = opaque('PrepareDownloadResponse', [0xbf21]);
export type PrepareDownloadResponse = Infer<typeof PrepareDownloadResponse>;

/** BoundProfilePackage (BF36), the complete TLV byte-exact. */
export const BoundProfilePackage = opaque('BoundProfilePackage', [0xbf36]);
export type BoundProfilePackage = Infer<typeof BoundProfilePackage>;

/** SGP32-CancelSessionResponse (BF41 CHOICE; ok, error and compact arms), the complete TLV byte-exact. */
export const CancelSessionResponse = opaque('CancelSessionResponse', [0xbf41]);
export type CancelSessionResponse = Infer<typeof CancelSessionResponse>;

/**
 * The `cancelSessionResponse` component of CancelSessionRequestEsipa (and of SGP.22 CancelSessionRequestEs9):
 * an automatic `[1]` that IMPLICITLY replaces the BF41 of the referenced tagged CHOICE (notes §0 rule 3),
 * so on the wire it is `A1 { A0 ... | 81 .. | A2 ... }`. The value is the response as the eUICC gave it
 * (`BF41` + the same length and contents octets), ready to relay on ES9+; only the tag octets differ.
 * Use this codec directly as the field; `implicit(0xa1, CancelSessionResponse)` would not work because
 * the opaque codec's value keeps the tag it was received with.
 */
export const CancelSessionResponseOpaqueBody: Codec<Uint8Array> = {
  typeName: 'CancelSessionResponse',
  accepts: (t) => t === 0xa1,
  decode: (tlv) => retag(tlv.bytes, 0xbf41),
  encode(v) {
    if (!(v instanceof Uint8Array)) fail('CancelSessionResponse: expected the encoded bytes');
    return retag(CancelSessionResponse.encode(v), 0xa1);
  },
  toJson: (v) => toHex(v),
  fromJson(json) {
    if (typeof json !== 'string' || !/^[0-9a-fA-F]*$/.test(json) || json.length % 2 !== 0) fail('CancelSessionResponse: expected a hex string');
    const bytes = fromHex(json);
    if (bytes.length < 2 || bytes[0] !== 0xbf || bytes[1] !== 0x41) fail(`CancelSessionResponse: expected DER starting with ${tagHex(0xbf41)}`);
    return bytes;
  },
};
