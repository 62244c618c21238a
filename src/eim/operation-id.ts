/**
 * Operation ids: UUID version 7 (RFC 9562 §5.7), a 48-bit millisecond timestamp followed by random bits.
 * They sort by creation time, so the store's indexes on operation ids (the operations table's own and the
 * audit log's) grow at their end instead of at random pages: fewer pages written per commit.
 */
import { bufferedRandomBytes } from './random.js';

const random = bufferedRandomBytes();
const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

/** A new UUIDv7 for `now` (epoch ms), lowercase with dashes. */
export function operationId(now: number): string {
  const b = random(16);
  let t = Math.max(0, Math.trunc(now));
  for (let i = 5; i >= 0; i--) {
    b[i] = t % 256;
    t = Math.floor(t / 256);
  }
  b[6] = 0x70 | (b[6]! & 0x0f);
  b[8] = 0x80 | (b[8]! & 0x3f);
  let hex = '';
  for (let i = 0; i < 16; i++) hex += (i === 4 || i === 6 || i === 8 || i === 10 ? '-' : '') + HEX[b[i]!]!;
  return hex;
}
