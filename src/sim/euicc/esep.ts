/**
 * ESep constants shared by the virtual eUICC and the test eIM (SGP.32 v1.2 §2.11.1.1; notes (c)): the
 * counter ceiling every eUICC must support and the association token TLV appended to signed structures.
 */
import { integerOctets } from '../../asn1/identifiers.js';
import { encodeTlv } from '../../asn1/tlv.js';

/** eUICCs must accept counters up to 0x7FFFFF (notes (c)); ours stores exactly that much. */
export const MAX_COUNTER_VALUE = 0x7fffff;
/** How many eIM configuration entries the card has room for (beyond: insufficientMemory). */
export const MAX_EIMS = 8;

/** `84 <len> <token>` (minimal two's complement; `84 01 00` when no token is configured). */
export function associationTokenTlv(token: number | undefined): Uint8Array {
  return encodeTlv(0x84, integerOctets(token ?? 0));
}
