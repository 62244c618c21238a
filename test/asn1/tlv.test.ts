import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { childrenOf, encodeTlv, readSingle, retag, tag, tagHex } from '../../src/asn1/tlv.js';
import { DecodeError } from '../../src/asn1/errors.js';
import { fromHex, toHex } from '../../src/asn1/hex.js';

describe('tlv', () => {
  it('builds tag numbers the way the specs write them', () => {
    assert.equal(tagHex(tag('context', 81, true)), 'BF51');
    assert.equal(tagHex(tag('application', 26, false)), '5A');
    assert.equal(tagHex(tag('application', 55, false)), '5F37');
    assert.equal(tagHex(tag('context', 112, false)), '9F70');
    assert.equal(tagHex(tag('context', 200, false)), '9F8148');
    assert.equal(tagHex(tag('private', 3, true)), 'E3');
  });

  it('reads nested elements with absolute offsets and views of the received bytes', () => {
    const msg = fromHex('bf4f125a1089049032123451234512345678901235');
    const t = readSingle(msg);
    assert.equal(t.tag, 0xbf4f);
    const [eid] = childrenOf(t);
    assert.equal(eid!.tag, 0x5a);
    assert.equal(eid!.offset, 3);
    assert.equal(eid!.valueOffset, 5);
    assert.equal(toHex(eid!.value), '89049032123451234512345678901235');
    assert.equal(eid!.bytes.buffer, msg.buffer);
  });

  it('encodes DER lengths minimally', () => {
    assert.equal(toHex(encodeTlv(0x04, new Uint8Array(0x7f))).slice(0, 4), '047f');
    assert.equal(toHex(encodeTlv(0x04, new Uint8Array(0x80))).slice(0, 6), '048180');
    assert.equal(toHex(encodeTlv(0xbf36, new Uint8Array(0x1f1))).slice(0, 10), 'bf368201f1');
  });

  it('retags an element keeping its contents', () => {
    assert.equal(toHex(retag(fromHex('3003020101'), 0xa5)), 'a503020101');
    assert.equal(toHex(retag(fromHex('a503020101'), 0x30)), '3003020101');
  });

  const bad: [string, string, RegExp][] = [
    ['', 'empty input', /expected a tag/],
    ['04', 'no length', /expected a length/],
    ['0405aabb', 'length beyond the input', /exceeds/],
    ['0480', 'indefinite length', /indefinite/],
    ['0485ffffffffff', 'absurd length octets', /absurd/],
    ['1f', 'truncated tag', /truncated tag/],
    ['bf8181818101', 'tag of five octets', /longer than 4/],
    ['04010000', 'trailing garbage', /trailing/],
  ];
  for (const [hex, what, re] of bad) {
    it(`rejects ${what} with a DecodeError and an offset`, () => {
      assert.throws(() => readSingle(fromHex(hex)), (e: unknown) => e instanceof DecodeError && re.test(e.message) && e.offset >= 0);
    });
  }
});
