import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { toHex, fromHex } from '../../src/asn1/hex.js';
import {
  Code, decodeBlock, decodeMessage, encodeBlock, encodeMessage, Opt, pathOptions, uintOption, unknownCriticalOption, uriPath,
} from '../../src/lwm2m/coap/message.js';
import { CoapDecodeError } from '../../src/lwm2m/errors.js';

describe('CoAP message codec (RFC 7252 §3)', () => {
  it('encodes a CON GET of /3443/0/1 to the hand-worked bytes', () => {
    const bytes = encodeMessage({ type: 'CON', code: Code.GET, messageId: 0x1234, token: Uint8Array.of(0xab), options: pathOptions('/3443/0/1'), payload: new Uint8Array(0) });
    // 41: ver 1, CON, TKL 1 | 01 GET | 1234 MID | ab token | b4 "3443" (delta 11, len 4) | 01 "0" | 01 "1"
    assert.equal(toHex(bytes), '41011234abb43334343301300131');
    const decoded = decodeMessage(bytes);
    assert.equal(decoded.type, 'CON');
    assert.equal(uriPath(decoded), '/3443/0/1');
  });

  it('encodes extended option deltas for Size1 (60) and Request-Tag (292) and a payload', () => {
    const bytes = encodeMessage({
      type: 'NON', code: Code.POST, messageId: 1, token: new Uint8Array(0),
      options: [{ number: Opt.RequestTag, value: Uint8Array.of(0xbe, 0xef) }, { number: Opt.ContentFormat, value: uintOption(42) }, { number: Opt.Size1, value: uintOption(2048) }],
      payload: Uint8Array.of(0xaa),
    });
    // 50 02 0001 | c1 2a (Content-Format 42) | d2 23 0800 (delta 48 = 13+35: Size1 2048) |
    // d2 db beef (delta 232 = 13+219: Request-Tag) | ff aa
    assert.equal(toHex(bytes), '50020001c12ad2230800d2dbbeefffaa');
    const decoded = decodeMessage(bytes);
    assert.deepEqual(decoded.options.map((o) => o.number), [Opt.ContentFormat, Opt.Size1, Opt.RequestTag]);
    assert.deepEqual([...decoded.payload], [0xaa]);
    // A delta of 300 needs the 2-byte extension: nibble 14, 300 - 269 = 0x001f.
    const far = encodeMessage({ type: 'CON', code: 1, messageId: 2, token: new Uint8Array(0), options: [{ number: 300, value: new Uint8Array(0) }], payload: new Uint8Array(0) });
    assert.equal(toHex(far), '40010002e0001f');
    assert.equal(decodeMessage(far).options[0]!.number, 300);
  });

  it('reads block options: num 1, more, 1024-byte blocks is 0x1e', () => {
    assert.equal(toHex(encodeBlock({ num: 1, more: true, szx: 6 })), '1e');
    assert.deepEqual(decodeBlock(fromHex('1e')), { num: 1, more: true, szx: 6 });
    assert.deepEqual(decodeBlock(new Uint8Array(0)), { num: 0, more: false, szx: 0 });
    assert.equal(decodeBlock(Uint8Array.of(0x07)), undefined, 'SZX 7 (BERT) refused');
    assert.equal(decodeBlock(Uint8Array.of(1, 2, 3, 4)), undefined, 'more than 3 bytes refused');
  });

  it('rejects malformed datagrams with a reason', () => {
    const bad: [string, string][] = [
      ['4101', 'shorter than a CoAP header'],
      ['81011234', 'version'],
      ['49011234', 'token length'],
      ['4201123401', 'token runs past'],
      ['40011234b4333434', 'runs past the datagram'],
      ['40011234ff', 'no payload'],
      ['40011234f0', 'reserved'],
      ['41001234ab', 'empty message'],
    ];
    for (const [hex, reason] of bad) {
      assert.throws(() => decodeMessage(fromHex(hex)), (e: unknown) => e instanceof CoapDecodeError && e.message.includes(reason), hex);
    }
  });

  it('flags unknown critical options and ignores unknown elective ones', () => {
    const m = (n: number) => decodeMessage(encodeMessage({ type: 'CON', code: 1, messageId: 1, token: new Uint8Array(0), options: [{ number: n, value: Uint8Array.of(1) }], payload: new Uint8Array(0) }));
    assert.equal(unknownCriticalOption(m(9)), 9);
    assert.equal(unknownCriticalOption(m(10)), undefined);
    assert.equal(unknownCriticalOption(m(Opt.UriPath)), undefined);
  });
});
