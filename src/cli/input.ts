/** Reading message bytes given on the command line: hex, base64, a DER/hex/base64 file, or "-" for stdin. */
import { existsSync, readFileSync } from 'node:fs';
import { fromHex } from '../asn1/hex.js';
import { InvalidArgumentError } from '../errors.js';

function fromText(text: string, argument: string): Uint8Array {
  const t = text.trim();
  if (/^(0x)?[0-9a-fA-F\s]+$/.test(t)) return fromHex(t, argument);
  if (/^[A-Za-z0-9+/=\s_-]+$/.test(t)) return new Uint8Array(Buffer.from(t.replace(/\s+/g, ''), t.includes('-') || t.includes('_') ? 'base64url' : 'base64'));
  throw new InvalidArgumentError(argument, 'expected hex, base64, or a file');
}

/** A file holding DER is read as bytes; a file holding hex or base64 text is decoded. */
export function readMessageArgument(arg: string, stdin: () => Promise<Uint8Array>): Promise<Uint8Array> | Uint8Array {
  if (arg === '-') return stdin().then((b) => (looksBinary(b) ? b : fromText(Buffer.from(b).toString('utf8'), 'stdin')));
  if (existsSync(arg)) {
    const b = new Uint8Array(readFileSync(arg));
    return looksBinary(b) ? b : fromText(Buffer.from(b).toString('utf8'), arg);
  }
  return fromText(arg, 'message');
}

function looksBinary(b: Uint8Array): boolean {
  return b.some((x) => x < 0x09 || (x > 0x0d && x < 0x20) || x > 0x7e);
}

export async function readAll(stream: NodeJS.ReadableStream): Promise<Uint8Array> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(typeof c === 'string' ? Buffer.from(c) : c);
  return new Uint8Array(Buffer.concat(chunks));
}
