/**
 * BER/DER TLV reading and DER writing (ITU-T X.690), bounded and offset-aware.
 *
 * A tag is handled as the number formed by its identifier octets (0x5a, 0xbf51, 0x9f8148), the way the
 * SGP.22/SGP.32 texts write them. Reading never allocates more than the input holds: every length is
 * checked against the bytes that remain, tags are at most 4 octets, lengths at most 4 octets, and the
 * indefinite form (not DER, never sent by eUICCs) is refused with a DecodeError.
 */
import { DecodeError } from './errors.js';

export const TagClass = { universal: 0x00, application: 0x40, context: 0x80, private: 0xc0 } as const;
export type TagClass = keyof typeof TagClass;

/** Builds the identifier-octets number of a tag: tag('context', 81, true) === 0xbf51. */
export function tag(cls: TagClass, num: number, constructed: boolean): number {
  const first = TagClass[cls] | (constructed ? 0x20 : 0);
  if (num < 31) return first | num;
  const bytes: number[] = [];
  let n = num;
  do {
    bytes.unshift((n & 0x7f) | (bytes.length > 0 ? 0x80 : 0));
    n >>>= 7;
  } while (n > 0);
  return bytes.reduce((acc, b) => acc * 256 + b, first | 0x1f);
}

/** Formats a tag the way the specs write it, e.g. "BF51". */
export function tagHex(t: number): string {
  return t.toString(16).toUpperCase().padStart(2, '0');
}

export function isConstructed(t: number): boolean {
  return (firstTagByte(t) & 0x20) !== 0;
}

function firstTagByte(t: number): number {
  let b = t;
  while (b > 0xff) b = Math.floor(b / 256);
  return b;
}

/** One element as received: its tag, where it is, and views (not copies) of its bytes. */
export interface Tlv {
  readonly tag: number;
  /** Absolute offset of the first identifier octet in the buffer the decoder was given. */
  readonly offset: number;
  /** The complete element: identifier, length and contents octets, exactly as received. */
  readonly bytes: Uint8Array;
  /** The contents octets. */
  readonly value: Uint8Array;
  /** Absolute offset of the first contents octet. */
  readonly valueOffset: number;
}

/**
 * Reads one TLV from `buf` starting at `pos` (relative to buf), not reading past `end`.
 * `base` is the absolute offset of buf[0] so that errors point into the original message.
 */
export function readTlv(buf: Uint8Array, pos: number, end: number, base: number): Tlv {
  const start = pos;
  if (pos >= end) throw new DecodeError('truncated: expected a tag', base + pos);
  const first = buf[pos++]!;
  let t = first;
  if ((first & 0x1f) === 0x1f) {
    let count = 0;
    for (;;) {
      if (pos >= end) throw new DecodeError('truncated tag', base + pos);
      const b = buf[pos++]!;
      if (count === 0 && b === 0x80) throw new DecodeError('non-minimal tag number', base + pos - 1);
      t = t * 256 + b;
      count++;
      if ((b & 0x80) === 0) break;
      if (count >= 3) throw new DecodeError('tag longer than 4 octets', base + start);
    }
  }
  if (pos >= end) throw new DecodeError('truncated: expected a length', base + pos);
  const lenByte = buf[pos++]!;
  let length: number;
  if (lenByte < 0x80) {
    length = lenByte;
  } else if (lenByte === 0x80) {
    throw new DecodeError('indefinite length is not supported', base + pos - 1);
  } else {
    const n = lenByte & 0x7f;
    if (n > 4) throw new DecodeError(`length of ${n} octets is absurd`, base + pos - 1);
    if (pos + n > end) throw new DecodeError('truncated length', base + pos);
    length = 0;
    for (let i = 0; i < n; i++) length = length * 256 + buf[pos++]!;
  }
  if (length > end - pos) {
    throw new DecodeError(`length ${length} exceeds the ${end - pos} bytes available`, base + start);
  }
  const valueStart = pos;
  return {
    tag: t,
    offset: base + start,
    bytes: buf.subarray(start, valueStart + length),
    value: buf.subarray(valueStart, valueStart + length),
    valueOffset: base + valueStart,
  };
}

/** Reads exactly one TLV spanning all of `buf`; trailing bytes are an error. */
export function readSingle(buf: Uint8Array, base = 0): Tlv {
  const tlv = readTlv(buf, 0, buf.length, base);
  if (tlv.bytes.length !== buf.length) {
    throw new DecodeError(`${buf.length - tlv.bytes.length} trailing bytes after the message`, base + tlv.bytes.length);
  }
  return tlv;
}

/** Splits the contents of a constructed element into its child TLVs. */
export function childrenOf(parent: Tlv): Tlv[] {
  if (!isConstructed(parent.tag)) {
    throw new DecodeError(`expected a constructed element, got primitive ${tagHex(parent.tag)}`, parent.offset);
  }
  const out: Tlv[] = [];
  const v = parent.value;
  let pos = 0;
  while (pos < v.length) {
    const child = readTlv(v, pos, v.length, parent.valueOffset);
    out.push(child);
    pos += child.bytes.length;
  }
  return out;
}

// ---- writing (DER) ----

function tagOctets(t: number): Uint8Array {
  const bytes: number[] = [];
  for (let v = t; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
  return Uint8Array.from(bytes.length > 0 ? bytes : [0]);
}

/** Concatenates byte arrays into one new array. */
export function concat(parts: readonly Uint8Array[]): Uint8Array {
  let total = 0;
  for (const p of parts) total += p.length;
  const out = new Uint8Array(total);
  let pos = 0;
  for (const p of parts) {
    out.set(p, pos);
    pos += p.length;
  }
  return out;
}

/** Encodes one TLV with a DER (minimal) length. */
export function encodeTlv(t: number, value: Uint8Array | readonly Uint8Array[]): Uint8Array {
  // Written straight into one buffer (no separate tag, length and contents arrays): this runs for every
  // element of every package the eIM signs.
  let length = 0;
  if (value instanceof Uint8Array) length = value.length;
  else for (const p of value) length += p.length;
  let tagLength = 1;
  for (let v = t; v > 0xff; v = Math.floor(v / 256)) tagLength++;
  let lengthLength = 1;
  if (length >= 0x80) for (let v = length; v > 0; v = Math.floor(v / 256)) lengthLength++;
  const out = new Uint8Array(tagLength + lengthLength + length);
  for (let i = tagLength - 1, v = t; i >= 0; i--, v = Math.floor(v / 256)) out[i] = v & 0xff;
  if (length < 0x80) {
    out[tagLength] = length;
  } else {
    out[tagLength] = 0x80 | (lengthLength - 1);
    for (let i = tagLength + lengthLength - 1, v = length; i > tagLength; i--, v = Math.floor(v / 256)) out[i] = v & 0xff;
  }
  let pos = tagLength + lengthLength;
  if (value instanceof Uint8Array) {
    out.set(value, pos);
  } else {
    for (const p of value) {
      out.set(p, pos);
      pos += p.length;
    }
  }
  return out;
}

/** Replaces the tag of an encoded TLV, keeping length and contents (implicit tagging of a type). */
export function retag(encoded: Uint8Array, newTag: number): Uint8Array {
  let idLength = 1;
  if ((encoded[0]! & 0x1f) === 0x1f) while ((encoded[idLength++]! & 0x80) !== 0);
  return concat([tagOctets(newTag), encoded.subarray(idLength)]);
}
