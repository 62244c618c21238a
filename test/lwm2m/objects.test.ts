import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { CoapDecodeError } from '../../src/lwm2m/errors.js';
import { loadObjectRegistry, parseDdf, parseXml } from '../../src/lwm2m/objects.js';

const objects = loadObjectRegistry();

describe('object definitions in objects/', () => {
  it('loads 0 Security, 1 Server, 3 Device and 3443 eSIM IoT with their resource facts', () => {
    for (const id of [0, 1, 3, 3443]) assert.ok(objects.get(id), `object ${id}`);
    const esim = objects.get(3443)!;
    assert.equal(esim.name, 'eSIM IoT');
    assert.equal(esim.urn, 'urn:oma:lwm2m:ext:3443');
    assert.equal(esim.multiple, false);
    assert.deepEqual([...esim.resources.values()].map((r) => [r.id, r.operations, r.type]), [
      [0, 'R', 'Integer'], [1, 'R', 'String'], [2, 'W', 'Opaque'], [3, 'R', 'Opaque'], [4, 'E', 'none'],
    ]);
    assert.equal(objects.get(3)!.resources.get(11)!.multiple, true);
    assert.equal(objects.get(1)!.resources.get(23)!.type, 'Boolean');
  });

  it('agrees with the registry copy of 3443 in shared/ on ids, operations and types', (t) => {
    let xml: string;
    try {
      xml = readFileSync(new URL('../../../shared/lwm2m-objects/3443.xml', import.meta.url), 'utf8');
    } catch {
      t.skip('shared/lwm2m-objects not present');
      return;
    }
    const [registry] = parseDdf(xml);
    const ours = objects.get(3443)!;
    assert.deepEqual([...registry!.resources.values()].map((r) => [r.id, r.operations, r.type, r.multiple, r.mandatory]),
      [...ours.resources.values()].map((r) => [r.id, r.operations, r.type, r.multiple, r.mandatory]));
  });

  it('validates what a client sends: /3443/0/3 must be opaque, /3443/0/2 is not readable', () => {
    assert.equal(objects.validate([{ path: '/3443/0/3', value: Uint8Array.of(1) }], 'send'), undefined);
    assert.match(objects.validate([{ path: '/3443/0/3', value: 'text' }], 'send') ?? '', /must be Opaque/);
    assert.match(objects.validate([{ path: '/3443/0/2', value: Uint8Array.of(1) }], 'send') ?? '', /does not allow send/);
    assert.match(objects.validate([{ path: '/3443/0/9', value: 1 }], 'send') ?? '', /no resource 9/);
    assert.match(objects.validate([{ path: '/3443/0/0/1', value: 1 }], 'send') ?? '', /single-instance/);
    assert.match(objects.validate([{ path: '/3443/0/0', value: 1.5 }], 'send') ?? '', /must be Integer/);
    assert.equal(objects.validate([{ path: '/3/0/11/0', value: 0 }], 'send'), undefined);
    assert.equal(objects.validate([{ path: '/9999/0/1', value: 'anything' }], 'send'), undefined, 'unknown objects pass');
  });

  it('the XML reader refuses malformed documents and DTDs', () => {
    for (const bad of ['<a>', '<a></b>', '<a><![CDATA[x</a>', '<!DOCTYPE x><a/>', '<a x=1/>', '<a/>junk']) {
      assert.throws(() => parseXml(bad), CoapDecodeError, bad);
    }
    const doc = parseXml('<?xml version="1.0"?><!-- c --><a k="v &amp; w"><b>t &lt; u</b><c/></a>');
    const a = doc.children[0]!;
    assert.equal(a.attributes.get('k'), 'v & w');
    assert.equal(a.children[0]!.text, 't < u');
  });
});
