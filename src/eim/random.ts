/**
 * node:crypto randomBytes, drawn 4 KiB at a time: one 16-byte call cost ~6 us here (a libuv job each time),
 * paid for every eimTransactionId and operation id; slicing a CSPRNG buffer gives the same bytes for a
 * fraction of that. Handed-out bytes are zeroed in the buffer, so they are not kept around.
 */
import { randomBytes } from 'node:crypto';

export function bufferedRandomBytes(): (n: number) => Uint8Array {
  let buffer = new Uint8Array(0);
  let pos = 0;
  return (n) => {
    if (n > 256) return new Uint8Array(randomBytes(n));
    if (pos + n > buffer.length) {
      buffer = new Uint8Array(randomBytes(4096));
      pos = 0;
    }
    const out = buffer.slice(pos, pos + n);
    buffer.fill(0, pos, pos + n);
    pos += n;
    return out;
  };
}
