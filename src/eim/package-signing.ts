/**
 * The bytes the eIM and the eUICC sign (SGP.32 v1.2 §2.11.1.1, notes §(c)): the DER of the signed part, as
 * sent or as received, immediately followed by the association token TLV `84 len INTEGER` (`84 01 00` when
 * no token is configured). Both directions use the same rule (v1.1+).
 */
import { integer } from '../asn1/schema.js';
import { concat } from '../asn1/tlv.js';

const tokenTlv = integer(0x84);
const NO_TOKEN = tokenTlv.encode(0);

export function associationTokenTlv(associationToken: number | undefined): Uint8Array {
  return associationToken === undefined ? NO_TOKEN : tokenTlv.encode(associationToken);
}

/** `signedPartDer || 84 len token`. */
export function signatureInput(signedPartDer: Uint8Array, associationToken: number | undefined): Uint8Array {
  return concat([signedPartDer, associationTokenTlv(associationToken)]);
}
