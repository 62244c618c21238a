/** Hex and base64 conversions for byte arrays (lowercase hex, the house format for bytes in JSON and logs). */
import { InvalidArgumentError } from '../errors.js';

export function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}

/** Parses hex, tolerating whitespace and an optional 0x prefix; rejects odd lengths and non-hex. */
export function fromHex(text: string, argument = 'hex'): Uint8Array {
  const clean = text.replace(/\s+/g, '').replace(/^0x/i, '');
  if (clean.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(clean)) {
    throw new InvalidArgumentError(argument, 'not a hex string of whole bytes');
  }
  return new Uint8Array(Buffer.from(clean, 'hex'));
}

/** Hex, capped in length, for log lines about untrusted input. */
export function hexPreview(bytes: Uint8Array, maxBytes = 64): string {
  return bytes.length <= maxBytes ? toHex(bytes) : `${toHex(bytes.subarray(0, maxBytes))}...(${bytes.length} bytes)`;
}

export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
