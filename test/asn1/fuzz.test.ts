/**
 * Property-style robustness: thousands of mutated, truncated and synthetic messages fed to every decoder.
 * The only acceptable outcomes are a value or a DecodeError with an offset inside the input.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { bytes, EID, ICCID_HEX, SIG, T, TXID, utf8 } from './known-answer.js';
import { DecodeError } from '../../src/asn1/errors.js';
import { detectAndDecode, TYPES } from '../../src/asn1/registry.js';
import { decode } from '../../src/asn1/schema.js';
import { seededRandom as prng } from '../../src/sim/sleep.js';

const SEEDS = [
  T('bf4f', T('5a', EID), '8000', '810101'),
  T('bf51', T('30', T('80', utf8('eim')), T('5a', EID), '810105', T('82', TXID), T('a0', T('a3', T('5a', ICCID_HEX), '0500'), 'a600')), T('5f37', SIG)),
  T('bf50', T('5a', EID), T('bf51', T('a0', T('30', T('80', utf8('eim')), '810105', T('82', TXID), '83010e', T('30', '830100', T('ab', T('a0', T('30', T('80', utf8('e'))))))), T('5f37', SIG)))),
  T('bf50', T('5a', EID), T('30', T('bf51', T('a2', T('80', utf8('eim')))), T('a0', T('30', T('bf2f', '800105', '81020640', T('0c', utf8('x'))), T('5f37', SIG), '3003020101', '3003020101')))),
  T('bf4e', T('bf52', T('a0', T('81', utf8('smdp')), '840103', T('a5', '020101'), T('a8', '80020640')))),
  T('bf39', T('a0', T('80', TXID), T('30', T('80', TXID), T('81', '11'.repeat(16)), T('83', utf8('a')), T('84', '11'.repeat(16))), T('5f37', SIG), T('04', '01'), '3003020101')),
  T('bf57', T('a0', T('30', T('80', utf8('eIM')), '8401ff', T('a5', T('a0', '020101')), '87020490'))),
].map(bytes);

type Outcome = 'value' | 'error';

function decodeSafely(input: Uint8Array): Outcome[] {
  const outcomes: Outcome[] = [];
  const attempt = (f: () => unknown): void => {
    try {
      f();
      outcomes.push('value');
    } catch (e) {
      assert.ok(e instanceof DecodeError, `untyped exception: ${(e as Error)?.stack ?? String(e)}`);
      assert.ok(e.offset >= 0 && e.offset <= input.length, `offset ${e.offset} outside input of ${input.length}`);
      // decode() wraps any stray exception as an "internal decoder failure": that would be our bug.
      assert.doesNotMatch(e.message, /internal decoder failure/);
      outcomes.push('error');
    }
  };
  attempt(() => detectAndDecode(input));
  for (const codec of Object.values(TYPES)) attempt(() => decode(codec, input));
  return outcomes;
}

describe('decoder robustness', () => {
  it('turns 4,000 random mutations of valid messages into values or typed errors only', () => {
    const rnd = prng(0x5eed);
    let errors = 0;
    for (let i = 0; i < 4000; i++) {
      const m = new Uint8Array(SEEDS[i % SEEDS.length]!);
      const kind = i % 4;
      const pos = Math.floor(rnd() * m.length);
      if (kind === 0) m[pos]! ^= 1 << Math.floor(rnd() * 8);
      else if (kind === 1) m[pos] = Math.floor(rnd() * 256);
      else if (kind === 2) m[pos] = [0x80, 0x81, 0x84, 0x85, 0xff, 0x00, 0x7f][Math.floor(rnd() * 7)]!;
      else m.fill(Math.floor(rnd() * 256), pos, Math.min(m.length, pos + 3));
      errors += decodeSafely(m).filter((o) => o === 'error').length;
    }
    assert.ok(errors > 4000, 'mutations should mostly be rejected');
  });

  it('rejects every truncation of every seed with a typed error', () => {
    for (const seed of SEEDS) {
      for (let n = 0; n < seed.length; n++) {
        assert.ok(decodeSafely(seed.subarray(0, n)).every((o) => o === 'error'), `truncated to ${n}`);
      }
    }
  });

  it('rejects trailing garbage after a complete message', () => {
    for (const seed of SEEDS) {
      const m = new Uint8Array(seed.length + 2);
      m.set(seed);
      assert.ok(decodeSafely(m).every((o) => o === 'error'));
    }
  });

  it('survives random byte strings, absurd lengths and deep nesting without throwing anything untyped', () => {
    const rnd = prng(42);
    for (let i = 0; i < 2000; i++) {
      const m = new Uint8Array(1 + Math.floor(rnd() * 64));
      for (let j = 0; j < m.length; j++) m[j] = Math.floor(rnd() * 256);
      if (i % 3 === 0) m[0] = [0xbf, 0x30, 0xa0][i % 9 === 0 ? 0 : 1]!;
      decodeSafely(m);
    }
    decodeSafely(bytes('bf5184ffffffff'));
    decodeSafely(bytes('bf4f84000000105a10'));
    // 20,000 levels of nested constructed elements: decoding is driven by the schema, not by the input's depth.
    const depth = 20000;
    const nested = new Uint8Array(depth * 2);
    for (let d = 0; d < depth; d++) {
      nested[2 * d] = 0xa0;
      nested[2 * d + 1] = 0x80; // indefinite lengths are refused at once
    }
    assert.ok(decodeSafely(nested).every((o) => o === 'error'));
  });
});
