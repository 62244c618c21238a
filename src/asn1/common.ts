/**
 * Shared building blocks of the SGP.22 v2.5 and SGP.32 v1.2 modules: identifiers (Iccid, EID),
 * TransactionId, Octet16/32, VersionType, and the X.509 types the eIM carries without looking inside
 * (Certificate, SubjectPublicKeyInfo), all from RSPDefinitions / PKIX1Explicit88.
 */
import { DecodeError, EncodeError } from './errors.js';
import { eidCheckDigitsValid, eidFromBytes, eidToBytes, iccidFromBytes, iccidToBytes } from './identifiers.js';
import { type Codec, fail, implicitOpaque, octetString, opaque, warn } from './schema.js';
import { encodeTlv, isConstructed, type Tlv } from './tlv.js';
import { InvalidArgumentError } from '../errors.js';

function primitiveString(
  typeName: string,
  tag: number,
  toBytes: (s: string) => Uint8Array,
  fromBytes: (b: Uint8Array, tlv: Tlv, ctx: Parameters<Codec<string>['decode']>[1]) => string,
): Codec<string> {
  const encodeValue = (v: string): Uint8Array => {
    try {
      return toBytes(v);
    } catch (e) {
      if (e instanceof InvalidArgumentError) fail(`${typeName}: ${e.message}`);
      throw e;
    }
  };
  return {
    typeName,
    accepts: (t) => t === tag,
    decode(tlv, ctx) {
      if (isConstructed(tlv.tag)) throw new DecodeError(`${typeName} must be primitive`, tlv.offset);
      return fromBytes(tlv.value, tlv, ctx);
    },
    encode: (v) => encodeTlv(tag, encodeValue(v)),
    toJson: (v) => v,
    fromJson(json) {
      if (typeof json !== 'string') throw new EncodeError(`${typeName}: expected a digit string`);
      encodeValue(json);
      return json;
    },
  };
}

/** `Iccid ::= [APPLICATION 26] OCTET STRING (SIZE(10))`, nibble-swapped BCD, as a digit string. */
export function iccid(tag = 0x5a): Codec<string> {
  return primitiveString('Iccid', tag, iccidToBytes, (b, tlv) => {
    const s = b.length === 10 ? iccidFromBytes(b) : undefined;
    if (s === undefined) throw new DecodeError('ICCID is not 10 octets of BCD digits with F padding', tlv.offset);
    return s;
  });
}

/**
 * EID (`eidValue [APPLICATION 26] Octet16`), as 32 digits. A wrong check digit is kept and reported as a
 * warning: the eUICC said it, and the eIM must be able to show what it said.
 */
export function eid(tag = 0x5a): Codec<string> {
  return primitiveString('EID', tag, eidToBytes, (b, tlv, ctx) => {
    const s = b.length === 16 ? eidFromBytes(b) : undefined;
    if (s === undefined) throw new DecodeError('EID is not 16 octets of BCD digits', tlv.offset);
    if (!eidCheckDigitsValid(s)) warn(ctx, tlv.offset, `EID ${s} has wrong check digits`);
    return s;
  });
}

/** `TransactionId ::= OCTET STRING (SIZE(1..16))`. */
export const transactionId = (tag: number): Codec<Uint8Array> => octetString(tag, { min: 1, max: 16 });
export const octet16 = (tag: number): Codec<Uint8Array> => octetString(tag, { min: 16, max: 16 });
export const octet32 = (tag: number): Codec<Uint8Array> => octetString(tag, { min: 32, max: 32 });
/** `VersionType ::= OCTET STRING(SIZE(3))`: major, minor, revision. */
export const versionType = (tag: number): Codec<Uint8Array> => octetString(tag, { min: 3, max: 3 });

/** X.509 Certificate (RFC 5280), carried byte-exact. */
export const Certificate = opaque('Certificate', [0x30]);
/** SubjectPublicKeyInfo (RFC 5280), carried byte-exact. */
export const SubjectPublicKeyInfo = opaque('SubjectPublicKeyInfo', [0x30]);
/** `[n] Certificate` inside an automatically tagged SEQUENCE: IMPLICIT, so A5 holds the certificate's children. */
export const implicitCertificate = (tag: number): Codec<Uint8Array> => implicitOpaque('Certificate', tag);
