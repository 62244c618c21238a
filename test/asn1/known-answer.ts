/**
 * Known-answer helpers for codec tests. `T(tag, ...contents)` builds expected DER with its own minimal
 * length encoding (independent of src/asn1/tlv.ts), so the expected bytes come from the ASN.1 rules written
 * in the test (which tag, which order), not from the encoder under test.
 */
import assert from 'node:assert/strict';
import { toHex } from '../../src/asn1/hex.js';
import { eidWithCheckDigits } from '../../src/asn1/identifiers.js';
import { type Codec, decode, type DecodeWarning } from '../../src/asn1/schema.js';

export function T(tag: string, ...contents: string[]): string {
  const body = contents.join('').replace(/\s+/g, '').toLowerCase();
  const n = body.length / 2;
  let len: string;
  if (n < 0x80) len = n.toString(16).padStart(2, '0');
  else if (n < 0x100) len = `81${n.toString(16).padStart(2, '0')}`;
  else if (n < 0x10000) len = `82${n.toString(16).padStart(4, '0')}`;
  else len = `83${n.toString(16).padStart(6, '0')}`;
  return `${tag.toLowerCase()}${len}${body}`;
}

/** UTF-8 text as hex. */
export const utf8 = (s: string): string => Buffer.from(s, 'utf8').toString('hex');

/**
 * Encodes `value` and compares with `expectedHex`; decodes the bytes without warnings and re-encodes them
 * byte-exact; and round-trips the JSON form. Returns the decoded value.
 */
export function knownAnswer<V>(codec: Codec<V>, value: V, expectedHex: string): V {
  const expected = expectedHex.replace(/\s+/g, '').toLowerCase();
  assert.equal(toHex(codec.encode(value)), expected, `${codec.typeName}: encoding`);
  const warnings: DecodeWarning[] = [];
  const bytes = new Uint8Array(Buffer.from(expected, 'hex'));
  const decoded = decode(codec, bytes, warnings);
  assert.deepEqual(warnings, [], `${codec.typeName}: decode warnings`);
  assert.deepEqual(codec.toJson(decoded), codec.toJson(value), `${codec.typeName}: decoded value`);
  assert.equal(toHex(codec.encode(decoded)), expected, `${codec.typeName}: re-encoding`);
  const json = JSON.parse(JSON.stringify(codec.toJson(value)));
  assert.equal(toHex(codec.encode(codec.fromJson(json))), expected, `${codec.typeName}: JSON round trip`);
  return decoded;
}

export const bytes = (hex: string): Uint8Array => new Uint8Array(Buffer.from(hex.replace(/\s+/g, ''), 'hex'));

// Shared fixtures: an EID with valid check digits, a 19-digit ICCID and its swapped-BCD form, a transaction id.
export const EID = eidWithCheckDigits('890490321234512345123456789012');
export const ICCID = '8944000000000000001';
export const ICCID_HEX = '984400000000000000f1';
export const TXID = '000102030405060708090a0b0c0d0e0f';
export const SIG = 'ab'.repeat(64);
