/**
 * The CoAP codec (src/lwm2m/coap/message.ts, RFC 7252 §3.1) on the edges of its one-pass encoder and
 * decoder: option deltas and lengths at the 13 / 269 boundaries, options given out of order, an empty
 * payload, and the minimal uint encoding.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { decodeMessage, encodeMessage, readUint, uintOption, type CoapMessage } from '../../src/lwm2m/coap/message.js';

const bytes = (n: number, fill: number): Uint8Array => new Uint8Array(n).fill(fill);

describe('CoAP codec round trip', () => {
  it('decodes what it encodes for deltas and lengths of 0, 12, 13, 268, 269 and 300', () => {
    const options = [
      { number: 1, value: bytes(0, 0) },
      { number: 13, value: bytes(12, 1) },
      { number: 26, value: bytes(13, 2) },
      { number: 294, value: bytes(268, 3) },
      { number: 563, value: bytes(269, 4) },
      { number: 863, value: bytes(300, 5) },
    ];
    const message: CoapMessage = { type: 'NON', code: 69, messageId: 0xbeef, token: Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8), options, payload: bytes(5, 9) };
    const decoded = decodeMessage(encodeMessage(message));
    assert.equal(decoded.type, 'NON');
    assert.equal(decoded.code, 69);
    assert.equal(decoded.messageId, 0xbeef);
    assert.deepEqual([...decoded.token], [1, 2, 3, 4, 5, 6, 7, 8]);
    assert.deepEqual(decoded.options.map((o) => [o.number, o.value.length, o.value[0]]), options.map((o) => [o.number, o.value.length, o.value[0]]));
    assert.deepEqual([...decoded.payload], [9, 9, 9, 9, 9]);
  });

  it('sorts options given out of order (stable for repeated ones) and writes no payload marker without payload', () => {
    const encoded = encodeMessage({
      type: 'CON', code: 1, messageId: 1, token: new Uint8Array(0), payload: new Uint8Array(0),
      options: [{ number: 15, value: Uint8Array.of(0x61) }, { number: 11, value: Uint8Array.of(0x78) }, { number: 15, value: Uint8Array.of(0x62) }],
    });
    assert.deepEqual([...encoded], [0x40, 0x01, 0x00, 0x01, 0xb1, 0x78, 0x41, 0x61, 0x01, 0x62]);
    assert.deepEqual(decodeMessage(encoded).options.map((o) => [o.number, String.fromCharCode(o.value[0]!)]), [[11, 'x'], [15, 'a'], [15, 'b']]);
  });

  it('encodes uints minimally: zero is empty, then big-endian without leading zeros', () => {
    assert.deepEqual([...uintOption(0)], []);
    assert.deepEqual([...uintOption(255)], [0xff]);
    assert.deepEqual([...uintOption(256)], [0x01, 0x00]);
    assert.deepEqual([...uintOption(0x1234567)], [0x01, 0x23, 0x45, 0x67]);
    assert.equal(readUint(uintOption(93_000)), 93_000);
  });

  it('rejects a length nibble of 15 and an option header cut short', () => {
    assert.throws(() => decodeMessage(Uint8Array.of(0x40, 0x01, 0x00, 0x01, 0x1f)), /nibble 15/);
    assert.throws(() => decodeMessage(Uint8Array.of(0x40, 0x01, 0x00, 0x01, 0xe0, 0x01)), /runs past/);
  });
});
