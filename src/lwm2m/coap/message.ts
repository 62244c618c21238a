/**
 * CoAP message codec (RFC 7252 §3): header, token, options (delta/length encoding) and payload.
 * Bounded: every length is checked against the datagram before it is read; a bad datagram throws
 * CoapDecodeError, never anything else.
 */
import { CoapDecodeError } from '../errors.js';

export type CoapType = 'CON' | 'NON' | 'ACK' | 'RST';
const TYPES: readonly CoapType[] = ['CON', 'NON', 'ACK', 'RST'];

/** Option numbers used here (RFC 7252 §5.10, RFC 7641, RFC 7959, RFC 9175). */
export const Opt = {
  IfMatch: 1,
  UriHost: 3,
  ETag: 4,
  Observe: 6,
  UriPort: 7,
  LocationPath: 8,
  UriPath: 11,
  ContentFormat: 12,
  MaxAge: 14,
  UriQuery: 15,
  Accept: 17,
  LocationQuery: 20,
  Block2: 23,
  Block1: 27,
  Size2: 28,
  Size1: 60,
  RequestTag: 292,
} as const;

export interface CoapOption {
  readonly number: number;
  readonly value: Uint8Array;
}

export interface CoapMessage {
  readonly type: CoapType;
  /** Code as class*32+detail, e.g. 0.01 GET = 1, 2.05 = 69. */
  readonly code: number;
  readonly messageId: number;
  readonly token: Uint8Array;
  /** Sorted by number (stable for repeated options) when encoded. */
  readonly options: readonly CoapOption[];
  readonly payload: Uint8Array;
}

export const Code = {
  Empty: 0,
  GET: 1,
  POST: 2,
  PUT: 3,
  DELETE: 4,
  FETCH: 5,
  PATCH: 6,
  IPATCH: 7,
  Created: 65,
  Deleted: 66,
  Valid: 67,
  Changed: 68,
  Content: 69,
  Continue: 95,
  BadRequest: 128,
  Unauthorized: 129,
  BadOption: 130,
  Forbidden: 131,
  NotFound: 132,
  MethodNotAllowed: 133,
  NotAcceptable: 134,
  RequestEntityIncomplete: 136,
  PreconditionFailed: 140,
  RequestEntityTooLarge: 141,
  UnsupportedContentFormat: 143,
  InternalServerError: 160,
  ServiceUnavailable: 163,
} as const;

/** "2.05" style rendering of a code, for logs and responses. */
export function codeString(code: number): string {
  return `${code >> 5}.${String(code & 31).padStart(2, '0')}`;
}

export function isRequestCode(code: number): boolean {
  return code >= 1 && code <= 31;
}

export function isSuccess(code: number): boolean {
  return code >> 5 === 2;
}

export function decodeMessage(datagram: Uint8Array): CoapMessage {
  if (datagram.length < 4) throw new CoapDecodeError(`datagram of ${datagram.length} bytes is shorter than a CoAP header`);
  const b0 = datagram[0]!;
  if (b0 >> 6 !== 1) throw new CoapDecodeError(`CoAP version ${b0 >> 6} is not 1`);
  const type = TYPES[(b0 >> 4) & 3]!;
  const tkl = b0 & 0x0f;
  if (tkl > 8) throw new CoapDecodeError(`token length ${tkl} is reserved`);
  const code = datagram[1]!;
  const messageId = (datagram[2]! << 8) | datagram[3]!;
  let pos = 4;
  if (pos + tkl > datagram.length) throw new CoapDecodeError('token runs past the datagram');
  const token = datagram.slice(pos, pos + tkl);
  pos += tkl;
  const options: CoapOption[] = [];
  let number = 0;
  let payload: Uint8Array = new Uint8Array(0);
  while (pos < datagram.length) {
    const byte = datagram[pos++]!;
    if (byte === 0xff) {
      if (pos === datagram.length) throw new CoapDecodeError('payload marker followed by no payload');
      payload = datagram.slice(pos);
      break;
    }
    const read = (nibble: number): number => {
      if (nibble < 13) return nibble;
      if (nibble === 13) {
        if (pos + 1 > datagram.length) throw new CoapDecodeError('option header runs past the datagram');
        return datagram[pos++]! + 13;
      }
      if (nibble === 14) {
        if (pos + 2 > datagram.length) throw new CoapDecodeError('option header runs past the datagram');
        const v = ((datagram[pos]! << 8) | datagram[pos + 1]!) + 269;
        pos += 2;
        return v;
      }
      throw new CoapDecodeError('option nibble 15 is reserved');
    };
    const delta = read(byte >> 4);
    const length = read(byte & 0x0f);
    number += delta;
    if (pos + length > datagram.length) throw new CoapDecodeError(`option ${number} runs past the datagram`);
    options.push({ number, value: datagram.slice(pos, pos + length) });
    pos += length;
  }
  if (code === Code.Empty && (tkl > 0 || options.length > 0 || payload.length > 0)) {
    throw new CoapDecodeError('empty message with token, options or payload');
  }
  return { type, code, messageId, token, options, payload };
}

function extended(value: number): { nibble: number; bytes: number[] } {
  if (value < 13) return { nibble: value, bytes: [] };
  if (value < 269) return { nibble: 13, bytes: [value - 13] };
  const v = value - 269;
  return { nibble: 14, bytes: [v >> 8, v & 0xff] };
}

export function encodeMessage(message: CoapMessage): Uint8Array {
  const options = [...message.options].sort((a, b) => a.number - b.number);
  const parts: number[] = [];
  parts.push(0x40 | (TYPES.indexOf(message.type) << 4) | message.token.length, message.code, message.messageId >> 8, message.messageId & 0xff);
  const header = Buffer.from(parts);
  const chunks: Uint8Array[] = [header, message.token];
  let previous = 0;
  for (const option of options) {
    const d = extended(option.number - previous);
    const l = extended(option.value.length);
    chunks.push(Uint8Array.from([(d.nibble << 4) | l.nibble, ...d.bytes, ...l.bytes]), option.value);
    previous = option.number;
  }
  if (message.payload.length > 0) chunks.push(Uint8Array.of(0xff), message.payload);
  return Buffer.concat(chunks);
}

/** Minimal big-endian unsigned integer (RFC 7252 §3.2 "uint": zero is the empty string). */
export function uintOption(value: number): Uint8Array {
  const bytes: number[] = [];
  let v = value;
  while (v > 0) {
    bytes.unshift(v & 0xff);
    v = Math.floor(v / 256);
  }
  return Uint8Array.from(bytes);
}

export function readUint(value: Uint8Array): number {
  let v = 0;
  for (const byte of value) v = v * 256 + byte;
  return v;
}

export function getOption(message: CoapMessage, number: number): Uint8Array | undefined {
  return message.options.find((o) => o.number === number)?.value;
}

export function getUintOption(message: CoapMessage, number: number): number | undefined {
  const v = getOption(message, number);
  return v === undefined ? undefined : readUint(v);
}

export function getStrings(message: CoapMessage, number: number): string[] {
  return message.options.filter((o) => o.number === number).map((o) => Buffer.from(o.value).toString('utf8'));
}

/** Uri-Path segments as "/a/b" ("/" for none). */
export function uriPath(message: CoapMessage): string {
  return '/' + getStrings(message, Opt.UriPath).join('/');
}

export function pathOptions(path: string, number: number = Opt.UriPath): CoapOption[] {
  return path
    .split('/')
    .filter((s) => s.length > 0)
    .map((s) => ({ number, value: Buffer.from(s, 'utf8') }));
}

/** Block1/Block2 option value (RFC 7959 §2.2). */
export interface BlockOption {
  readonly num: number;
  readonly more: boolean;
  /** Block size exponent: size = 2^(szx+4); 7 (BERT) is refused by decodeBlock. */
  readonly szx: number;
}

export function decodeBlock(value: Uint8Array): BlockOption | undefined {
  if (value.length > 3) return undefined;
  const v = readUint(value);
  const szx = v & 7;
  if (szx === 7) return undefined;
  return { num: v >> 4, more: (v & 8) !== 0, szx };
}

export function encodeBlock(block: BlockOption): Uint8Array {
  return uintOption((block.num << 4) | (block.more ? 8 : 0) | block.szx);
}

export function blockSize(szx: number): number {
  return 1 << (szx + 4);
}

/** Critical options are odd (RFC 7252 §5.4.1); these are the critical ones we understand. */
const KNOWN_CRITICAL = new Set<number>([Opt.IfMatch, Opt.UriHost, Opt.UriPort, Opt.UriPath, Opt.UriQuery, Opt.Accept, Opt.Block2, Opt.Block1, 35, 39]);

/** First unrecognised critical option of a request, for a 4.02 Bad Option answer. */
export function unknownCriticalOption(message: CoapMessage): number | undefined {
  return message.options.find((o) => (o.number & 1) === 1 && !KNOWN_CRITICAL.has(o.number))?.number;
}
