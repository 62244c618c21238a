/**
 * ICCID and EID conversions (SGP.22 §2.1, ITU-T E.118, GSMA SGP.29) and the minimal two's-complement
 * INTEGER octets that DER requires.
 *
 * - ICCID: 10 octets of nibble-swapped BCD as in EF.ICCID, padded with F (19 digits -> trailing F).
 * - EID: 16 octets, 32 decimal digits in plain (not swapped) BCD; digits 31-32 are check digits per
 *   ISO/IEC 7064 MOD 97-10 over the first 30 digits.
 */
import { InvalidArgumentError } from '../errors.js';

/** ICCID digit string (18..20 digits) to 10 octets of swapped BCD. */
export function iccidToBytes(iccid: string): Uint8Array {
  if (!/^[0-9]{18,20}$/.test(iccid)) throw new InvalidArgumentError('iccid', 'expected 18 to 20 decimal digits');
  const digits = iccid.padEnd(20, 'F');
  const out = new Uint8Array(10);
  for (let i = 0; i < 10; i++) {
    out[i] = (nibble(digits[2 * i + 1]!) << 4) | nibble(digits[2 * i]!);
  }
  return out;
}

function nibble(c: string): number {
  return c === 'F' ? 0xf : c.charCodeAt(0) - 48;
}

/** 10 octets of swapped BCD to an ICCID digit string; undefined when a nibble is not a digit or F padding. */
export function iccidFromBytes(bytes: Uint8Array): string | undefined {
  let s = '';
  for (const b of bytes) s += digitOf(b & 0x0f) + digitOf(b >> 4);
  const m = /^([0-9]*)(F*)$/.exec(s);
  if (m === null || m[1]!.length < 1) return undefined;
  return m[1];
}

function digitOf(n: number): string {
  return n <= 9 ? String(n) : n === 0xf ? 'F' : '?';
}

/** ISO/IEC 7064 MOD 97-10: the two check digits for a digit string. */
function mod97CheckDigits(body: string): string {
  let rem = 0;
  for (const c of `${body}00`) rem = (rem * 10 + (c.charCodeAt(0) - 48)) % 97;
  return String(98 - rem).padStart(2, '0');
}

/** True when a 32-digit EID's check digits are right (the whole number mod 97 is 1). */
export function eidCheckDigitsValid(eid: string): boolean {
  if (!/^[0-9]{32}$/.test(eid)) return false;
  return mod97CheckDigits(eid.slice(0, 30)) === eid.slice(30);
}

/** Completes the first 30 digits of an EID with its two check digits. */
export function eidWithCheckDigits(first30: string): string {
  if (!/^[0-9]{30}$/.test(first30)) throw new InvalidArgumentError('eid', 'expected 30 decimal digits before the check digits');
  return first30 + mod97CheckDigits(first30);
}

/** Validates an EID given by a user (API, CLI): 32 digits with correct check digits. */
export function assertEid(eid: string, argument = 'eid'): void {
  if (!/^[0-9]{32}$/.test(eid)) throw new InvalidArgumentError(argument, 'an EID is 32 decimal digits');
  if (!eidCheckDigitsValid(eid)) throw new InvalidArgumentError(argument, 'EID check digits are wrong (ISO 7064 MOD 97-10)');
}

export function eidToBytes(eid: string): Uint8Array {
  if (!/^[0-9]{32}$/.test(eid)) throw new InvalidArgumentError('eid', 'an EID is 32 decimal digits');
  return new Uint8Array(Buffer.from(eid, 'hex'));
}

/** 16 octets to the EID digit string; undefined when an octet is not two decimal digits. */
export function eidFromBytes(bytes: Uint8Array): string | undefined {
  const s = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
  return /^[0-9]{32}$/.test(s) ? s : undefined;
}

/** Minimal two's-complement octets of a safe integer (X.690 §8.3): 0 -> 00, 128 -> 00 80, -1 -> FF. */
export function integerOctets(value: number): Uint8Array {
  if (!Number.isSafeInteger(value)) throw new InvalidArgumentError('value', 'INTEGER must be a safe integer');
  const out: number[] = [];
  let v = value;
  for (;;) {
    const byte = ((v % 256) + 256) % 256;
    out.unshift(byte);
    v = (v - byte) / 256;
    if ((v === 0 && byte < 0x80) || (v === -1 && byte >= 0x80)) break;
  }
  return Uint8Array.from(out);
}

/** Reads two's-complement octets; undefined when the value is not a safe integer. */
export function integerFromOctets(bytes: Uint8Array): number | undefined {
  if (bytes.length === 0 || bytes.length > 7) return undefined;
  let v = bytes[0]! >= 128 ? bytes[0]! - 256 : bytes[0]!;
  for (let i = 1; i < bytes.length; i++) v = v * 256 + bytes[i]!;
  return Number.isSafeInteger(v) ? v : undefined;
}
