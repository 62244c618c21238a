import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { fromHex, toHex } from '../../src/asn1/hex.js';
import { ContentFormat, decodeContent, encodeContent, UnsupportedContentFormatError } from '../../src/lwm2m/content/formats.js';
import { formatLinkFormat, parseLinkFormat } from '../../src/lwm2m/content/link-format.js';
import { decodeSenmlCbor, decodeSenmlJson, encodeSenmlCbor, encodeSenmlJson } from '../../src/lwm2m/content/senml.js';
import { decodeTlv, encodeTlvInstance, encodeTlvResource, tlvValue } from '../../src/lwm2m/content/tlv.js';
import { parsePath } from '../../src/lwm2m/content/values.js';
import { CoapDecodeError } from '../../src/lwm2m/errors.js';
import { loadObjectRegistry } from '../../src/lwm2m/objects.js';

const objects = loadObjectRegistry();
const hex = (s: string) => Buffer.from(s, 'utf8').toString('hex');

describe('OMA-TLV (11542)', () => {
  it('encodes a string resource with an 8-bit length: /3/0/0 "Open Mobile Alliance" is c8 00 14 …', () => {
    // c8 = 11 (resource) 0 (8-bit id) 01 (8-bit length follows) 000; id 00; length 0x14 = 20.
    const bytes = encodeTlvResource(0, 'Open Mobile Alliance', 'String');
    assert.equal(toHex(bytes), 'c80014' + hex('Open Mobile Alliance'));
  });

  it('encodes integers in the shortest of 1, 2, 4, 8 bytes', () => {
    assert.equal(toHex(encodeTlvResource(9, 100, 'Integer')), 'c10964');
    assert.equal(toHex(encodeTlvResource(9, 1000, 'Integer')), 'c20903e8');
    assert.equal(toHex(encodeTlvResource(9, -1, 'Integer')), 'c109ff');
    assert.equal(toHex(encodeTlvResource(9, 70000, 'Integer')), 'c40900011170');
    assert.equal(toHex(encodeTlvResource(9, 2n ** 40n, 'Integer')), 'c8090800000100' + '00000000');
  });

  it('encodes a 16-bit resource id, a 16-bit length, booleans, object links and a multiple resource', () => {
    assert.equal(toHex(encodeTlvResource(300, 5, 'Integer')), 'e1012c05');
    const opaque = new Uint8Array(300).fill(0xaa);
    assert.equal(toHex(encodeTlvResource(2, opaque, 'Opaque').subarray(0, 4)), 'd002012c');
    assert.equal(toHex(encodeTlvResource(6, true, 'Boolean')), 'c10601');
    assert.equal(toHex(encodeTlvResource(10, { objectId: 3443, instanceId: 0 }, 'Objlnk')), 'c40a0d730000');
    // 83 = 10 (multiple) 0 00 011 (length 3); 0b; 41 00 00 = resource instance 0, value 0.
    assert.equal(toHex(encodeTlvResource(11, new Map([[0, 0]]), 'Integer')), '830b410000');
    assert.equal(toHex(encodeTlvInstance(0, [fromHex('c10964')])), '0300c10964');
  });

  it('decodes an object-instance TLV into absolute paths with model types', () => {
    // 08 00 0b: object instance 0 (kind 00, 8-bit length follows) of 11 bytes holding
    // c1 09 64 (/3/0/9 = 100), 83 0b 41 00 00 (/3/0/11/0 = 0), c1 10 03 (/3/0/16 = one byte 03).
    const payload = fromHex('08000bc10964830b410000c11003');
    const raw = decodeTlv(payload, { objectId: 3 });
    assert.deepEqual(raw.map((n) => n.path), ['/3/0/9', '/3/0/11/0', '/3/0/16']);
    const nodes = decodeContent(ContentFormat.TLV, payload, { objectId: 3 }, objects.typeOf);
    assert.deepEqual(nodes.map((n) => n.value), [100, 0, '\u0003']);
    assert.equal(tlvValue(fromHex('0000000000000064'), 'Integer'), 100);
    assert.equal(tlvValue(fromHex('3ff8000000000000'), 'Float'), 1.5);
    assert.deepEqual(tlvValue(fromHex('0d730001'), 'Objlnk'), { objectId: 3443, instanceId: 1 });
  });

  it('decodes resource TLVs under an instance path and refuses truncated ones', () => {
    const nodes = decodeContent(ContentFormat.TLV, fromHex('c80014' + hex('Open Mobile Alliance') + 'c10964'), { objectId: 3, instanceId: 0 }, objects.typeOf);
    assert.deepEqual(nodes, [{ path: '/3/0/0', value: 'Open Mobile Alliance' }, { path: '/3/0/9', value: 100 }]);
    assert.throws(() => decodeTlv(fromHex('c80014'), { objectId: 3 }), CoapDecodeError);
    assert.throws(() => decodeTlv(fromHex('e1'), { objectId: 3 }), CoapDecodeError);
    assert.throws(() => tlvValue(fromHex('02'), 'Boolean'), CoapDecodeError);
    assert.throws(() => tlvValue(fromHex('010203'), 'Integer'), CoapDecodeError);
  });
});

describe('SenML JSON (110) and SenML CBOR (112)', () => {
  it('resolves base names and value kinds from SenML JSON', () => {
    const text = '[{"bn":"/3/0/","n":"0","vs":"Open Mobile Alliance"},{"n":"9","v":95},{"bn":"/3443/0/","n":"3","vd":"AQID"},{"n":"0","v":0}]';
    const nodes = decodeSenmlJson(Buffer.from(text));
    assert.deepEqual(nodes, [
      { path: '/3/0/0', value: 'Open Mobile Alliance' },
      { path: '/3/0/9', value: 95 },
      { path: '/3443/0/3', value: Uint8Array.of(1, 2, 3) },
      { path: '/3443/0/0', value: 0 },
    ]);
    assert.equal(Buffer.from(encodeSenmlJson([{ path: '/3443/0/3', value: Uint8Array.of(1, 2, 3) }])).toString(), '[{"n":"/3443/0/3","vd":"AQID"}]');
  });

  it('encodes SenML CBOR with integer labels and no map tag: 81 a2 00 69 "/3443/0/3" 08 43 010203', () => {
    const bytes = encodeSenmlCbor([{ path: '/3443/0/3', value: Uint8Array.of(1, 2, 3) }]);
    assert.equal(toHex(bytes), '81a200692f333434332f302f330843010203');
    assert.deepEqual(decodeSenmlCbor(bytes), [{ path: '/3443/0/3', value: Uint8Array.of(1, 2, 3) }]);
  });

  it('decodes SenML CBOR with a base name (label -2 = 0x21)', () => {
    const bytes = fromHex('81a321652f332f302f0061300374' + hex('Open Mobile Alliance'));
    assert.deepEqual(decodeSenmlCbor(bytes), [{ path: '/3/0/0', value: 'Open Mobile Alliance' }]);
  });

  it('refuses SenML that is not an array of records or names no LwM2M path', () => {
    assert.throws(() => decodeSenmlJson(Buffer.from('{"n":"x"}')), CoapDecodeError);
    assert.throws(() => decodeSenmlJson(Buffer.from('[{"n":"/a/b","v":1}]')), CoapDecodeError);
    assert.throws(() => decodeSenmlJson(Buffer.from('[1')), CoapDecodeError);
    assert.throws(() => decodeSenmlCbor(fromHex('a1')), CoapDecodeError);
    assert.throws(() => decodeSenmlCbor(fromHex('01')), CoapDecodeError);
  });
});

describe('single-value formats and link format', () => {
  it('reads text with the model type and writes opaque as raw bytes', () => {
    assert.deepEqual(decodeContent(ContentFormat.TEXT, Buffer.from('42'), parsePath('/1/0/1'), objects.typeOf), [{ path: '/1/0/1', value: 42 }]);
    assert.deepEqual(decodeContent(ContentFormat.TEXT, Buffer.from('1'), parsePath('/1/0/6'), objects.typeOf), [{ path: '/1/0/6', value: true }]);
    assert.throws(() => decodeContent(ContentFormat.TEXT, Buffer.from('x'), parsePath('/1/0/1'), objects.typeOf), CoapDecodeError);
    assert.deepEqual([...encodeContent(ContentFormat.OPAQUE, [{ path: '/3443/0/2', value: Uint8Array.of(0xbf, 0x4e) }], parsePath('/3443/0/2'), objects.typeOf)], [0xbf, 0x4e]);
    assert.equal(toHex(encodeContent(ContentFormat.CBOR, [{ path: '/1/0/1', value: 300 }], parsePath('/1/0/1'), objects.typeOf)), '19012c');
    assert.throws(() => decodeContent(9999, fromHex('a0'), parsePath('/3'), objects.typeOf), UnsupportedContentFormatError);
  });

  it('parses a registration payload with a root link, versions and quoted attributes', () => {
    const links = parseLinkFormat('</>;rt="oma.lwm2m";ct="60 110 112 11542", </1/0>,</3/0>,</3443/0>;ver=1.0');
    assert.deepEqual(links.map((l) => l.target), ['/', '/1/0', '/3/0', '/3443/0']);
    assert.equal(links[0]!.attributes.get('ct'), '60 110 112 11542');
    assert.equal(links[3]!.attributes.get('ver'), '1.0');
    assert.equal(formatLinkFormat(links.slice(2)), '</3/0>,</3443/0>;ver=1.0');
    for (const bad of ['/1/0', '</1/0', '</1/0>;', '</1/0>x', '</1/0>;a="x', '<a b>']) assert.throws(() => parseLinkFormat(bad), CoapDecodeError, bad);
  });
});

describe('LwM2M-CBOR (11544)', () => {
  it('encodes nested maps from the Object level: {3443: {0: {3: h\'0102\'}}} is a1 19 0d73 a1 00 a1 03 42 0102', () => {
    const bytes = encodeContent(ContentFormat.LWM2M_CBOR, [{ path: '/3443/0/3', value: Uint8Array.of(1, 2) }], parsePath('/3443/0/3'), objects.typeOf);
    assert.equal(toHex(bytes), 'a1190d73a100a103420102');
    assert.deepEqual(decodeContent(ContentFormat.LWM2M_CBOR, bytes, parsePath('/3443/0/3'), objects.typeOf), [{ path: '/3443/0/3', value: Uint8Array.of(1, 2) }]);
  });

  it('decodes path-array keys and several resources', () => {
    // {[3, 0]: {0: "A", 9: 95}}: a1 82 03 00 a2 00 61 41 09 18 5f
    assert.deepEqual(decodeContent(ContentFormat.LWM2M_CBOR, fromHex('a18203 00a2006141 09185f'.replace(/ /g, '')), parsePath('/3/0'), objects.typeOf), [
      { path: '/3/0/0', value: 'A' }, { path: '/3/0/9', value: 95 },
    ]);
    assert.throws(() => decodeContent(ContentFormat.LWM2M_CBOR, fromHex('a16178 01'.replace(/ /g, '')), parsePath('/3'), objects.typeOf), CoapDecodeError);
    assert.throws(() => decodeContent(ContentFormat.LWM2M_CBOR, fromHex('80'), parsePath('/3'), objects.typeOf), CoapDecodeError);
  });
});
