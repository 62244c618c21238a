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

const EMPTY = new Uint8Array(0);

/**
 * Decodes one datagram. Token, option values and payload are views on `datagram`, not copies: every
 * datagram arrives in its own buffer (node:dgram, the DTLS engine), which nothing writes to afterwards.
 */
export function decodeMessage(datagram: Uint8Array): CoapMessage {
  const end = datagram.length;
  if (end < 4) throw new CoapDecodeError(`datagram of ${end} bytes is shorter than a CoAP header`);
  const b0 = datagram[0]!;
  if (b0 >> 6 !== 1) throw new CoapDecodeError(`CoAP version ${b0 >> 6} is not 1`);
  const type = TYPES[(b0 >> 4) & 3]!;
  const tkl = b0 & 0x0f;
  if (tkl > 8) throw new CoapDecodeError(`token length ${tkl} is reserved`);
  const code = datagram[1]!;
  const messageId = (datagram[2]! << 8) | datagram[3]!;
  let pos = 4;
  if (pos + tkl > end) throw new CoapDecodeError('token runs past the datagram');
  const token = datagram.subarray(pos, pos + tkl);
  pos += tkl;
  const options: CoapOption[] = [];
  let number = 0;
  let payload: Uint8Array = EMPTY;
  while (pos < end) {
    const byte = datagram[pos++]!;
    if (byte === 0xff) {
      if (pos === end) throw new CoapDecodeError('payload marker followed by no payload');
      payload = datagram.subarray(pos);
      break;
    }
    // Option delta and length: 4-bit nibbles, 13 and 14 announce 1 and 2 extension bytes (RFC 7252 §3.1).
    let delta = byte >> 4;
    let length = byte & 0x0f;
    if (delta === 15 || length === 15) throw new CoapDecodeError('option nibble 15 is reserved');
    if (delta >= 13) {
      const extra = delta - 12;
      if (pos + extra > end) throw new CoapDecodeError('option header runs past the datagram');
      delta = extra === 1 ? datagram[pos]! + 13 : ((datagram[pos]! << 8) | datagram[pos + 1]!) + 269;
      pos += extra;
    }
    if (length >= 13) {
      const extra = length - 12;
      if (pos + extra > end) throw new CoapDecodeError('option header runs past the datagram');
      length = extra === 1 ? datagram[pos]! + 13 : ((datagram[pos]! << 8) | datagram[pos + 1]!) + 269;
      pos += extra;
    }
    number += delta;
    if (pos + length > end) throw new CoapDecodeError(`option ${number} runs past the datagram`);
    options.push({ number, value: datagram.subarray(pos, pos + length) });
    pos += length;
  }
  if (code === Code.Empty && (tkl > 0 || options.length > 0 || payload.length > 0)) {
    throw new CoapDecodeError('empty message with token, options or payload');
  }
  return { type, code, messageId, token, options, payload };
}

/** Bytes an option delta or length takes beyond its nibble. */
function extensionBytes(value: number): number {
  return value < 13 ? 0 : value < 269 ? 1 : 2;
}

/** Writes a nibble's extension bytes at `pos`; returns the next position. */
function writeExtension(out: Uint8Array, pos: number, value: number): number {
  if (value < 13) return pos;
  if (value < 269) {
    out[pos] = value - 13;
    return pos + 1;
  }
  out[pos] = (value - 269) >> 8;
  out[pos + 1] = (value - 269) & 0xff;
  return pos + 2;
}

function nibble(value: number): number {
  return value < 13 ? value : value < 269 ? 13 : 14;
}

/** Encodes into one exactly-sized buffer (sized first, then written: no intermediate chunks). */
export function encodeMessage(message: CoapMessage): Uint8Array {
  const options = isSorted(message.options) ? message.options : [...message.options].sort((a, b) => a.number - b.number);
  const tkl = message.token.length;
  let size = 4 + tkl;
  let previous = 0;
  for (const option of options) {
    const length = option.value.length;
    size += 1 + extensionBytes(option.number - previous) + extensionBytes(length) + length;
    previous = option.number;
  }
  if (message.payload.length > 0) size += 1 + message.payload.length;
  const out = Buffer.allocUnsafe(size);
  out[0] = 0x40 | (TYPES.indexOf(message.type) << 4) | tkl;
  out[1] = message.code;
  out[2] = (message.messageId >> 8) & 0xff;
  out[3] = message.messageId & 0xff;
  out.set(message.token, 4);
  let pos = 4 + tkl;
  previous = 0;
  for (const option of options) {
    const delta = option.number - previous;
    const length = option.value.length;
    out[pos++] = (nibble(delta) << 4) | nibble(length);
    pos = writeExtension(out, pos, delta);
    pos = writeExtension(out, pos, length);
    out.set(option.value, pos);
    pos += length;
    previous = option.number;
  }
  if (message.payload.length > 0) {
    out[pos++] = 0xff;
    out.set(message.payload, pos);
  }
  return out;
}

function isSorted(options: readonly CoapOption[]): boolean {
  for (let i = 1; i < options.length; i++) if (options[i]!.number < options[i - 1]!.number) return false;
  return true;
}

/** Minimal big-endian unsigned integer (RFC 7252 §3.2 "uint": zero is the empty string). */
export function uintOption(value: number): Uint8Array {
  let n = 0;
  for (let v = value; v > 0; v = Math.floor(v / 256)) n++;
  const out = new Uint8Array(n);
  let v = value;
  for (let i = n - 1; i >= 0; i--) {
    out[i] = v & 0xff;
    v = Math.floor(v / 256);
  }
  return out;
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
