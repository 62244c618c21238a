/** Shared known-answer check for the RSP codec tests: encode, decode, re-encode and JSON round trip. */
import assert from 'node:assert/strict';
import { type Codec, type DecodeWarning, decode, encode } from '../../src/asn1/schema.js';
import { fromHex, toHex } from '../../src/asn1/hex.js';

/** Strips the comments and spaces of a hand-written hex listing ("BF2F 0A  -- tag, length" per line). */
export function hex(listing: string): string {
  return listing
    .split('\n')
    .map((line) => line.replace(/--.*$/, ''))
    .join('')
    .replace(/\s+/g, '')
    .toLowerCase();
}

/**
 * The value encodes to exactly `expectedHex`, the hex decodes to the value without warnings, the decoded
 * value re-encodes byte-exact, and the JSON form (through JSON text) encodes to the same bytes.
 */
export function knownAnswer<T>(codec: Codec<T>, value: T, expectedHex: string): T {
  assert.equal(toHex(encode(codec, value)), expectedHex, 'encode');
  const warnings: DecodeWarning[] = [];
  const decoded = decode(codec, fromHex(expectedHex), warnings);
  assert.deepEqual(warnings, [], 'no decode warnings');
  assert.deepEqual(decoded, value, 'decode');
  assert.equal(toHex(encode(codec, decoded)), expectedHex, 're-encode');
  const json: unknown = JSON.parse(JSON.stringify(codec.toJson(decoded)));
  assert.equal(toHex(encode(codec, codec.fromJson(json))), expectedHex, 'JSON round trip');
  return decoded;
}
