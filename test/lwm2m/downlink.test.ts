import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ContentFormat } from '../../src/lwm2m/content/formats.js';
import type { NotificationEvent } from '../../src/lwm2m/requests.js';
import { nextEvent, startServer, until } from './harness.js';

describe('downlink requests typed with their responses', () => {
  it('reads a single resource as text and an instance as SenML-CBOR from a 1.1 client', async () => {
    const h = await startServer();
    try {
      const client = await h.client({ endpoint: 'd-read' });
      await client.register();
      const one = await h.server.send('d-read', { kind: 'read', path: '/3/0/0' });
      assert.equal(one.code, '2.05');
      assert.equal(one.format, ContentFormat.TEXT);
      assert.deepEqual(one.nodes, [{ path: '/3/0/0', value: 'lwm2m-eim simulator' }]);
      const all = await h.server.send('d-read', { kind: 'read', path: '/3/0' });
      assert.equal(all.format, ContentFormat.SENML_CBOR);
      assert.ok(all.nodes.some((n) => n.path === '/3/0/11/0' && n.value === 0));
      const missing = await h.server.send('d-read', { kind: 'read', path: '/5/0/1' });
      assert.equal(missing.code, '4.04');
      assert.equal(missing.success, false);
    } finally {
      await h.close();
    }
  });

  it('reads an instance as TLV from a 1.0 client and decodes it with the model types', async () => {
    const h = await startServer();
    try {
      const client = await h.client({ endpoint: 'd-tlv', lwm2mVersion: '1.0' });
      await client.register();
      const all = await h.server.send('d-tlv', { kind: 'read', path: '/1/0' });
      assert.equal(all.format, ContentFormat.TLV);
      assert.ok(all.nodes.some((n) => n.path === '/1/0/1' && n.value === 300));
      assert.ok(all.nodes.some((n) => n.path === '/1/0/23' && n.value === false));
    } finally {
      await h.close();
    }
  });

  it('writes in TLV, SenML-CBOR, text and opaque, and the device sees the values', async () => {
    const h = await startServer();
    try {
      const client = await h.client({ endpoint: 'd-write' });
      await client.register();
      for (const [format, value] of [[ContentFormat.TLV, 111], [ContentFormat.SENML_CBOR, 222], [ContentFormat.SENML_JSON, 333], [ContentFormat.TEXT, 444]] as const) {
        const r = await h.server.send('d-write', { kind: 'write', path: '/1/0/1', value, format });
        assert.equal(r.code, '2.04', `format ${format}`);
        assert.equal(client.getValue('/1/0/1'), value);
      }
      const opaque = await h.server.send('d-write', { kind: 'write', path: '/3443/0/2', value: Uint8Array.of(0xbf, 0x4e, 0x00) });
      assert.equal(opaque.code, '2.04');
      assert.deepEqual([...client.eimMessages[0]!], [0xbf, 0x4e, 0x00]);
      const readOnly = await h.server.send('d-write', { kind: 'write', path: '/3/0/0', value: 'x' });
      assert.equal(readOnly.code, '4.05');
    } finally {
      await h.close();
    }
  });

  it('executes, discovers and writes attributes', async () => {
    const h = await startServer();
    try {
      const client = await h.client({ endpoint: 'd-exec' });
      await client.register();
      const executed = nextEvent<[string]>(client, 'executed');
      const r = await h.server.send('d-exec', { kind: 'execute', path: '/3/0/4' });
      assert.equal(r.code, '2.04');
      assert.deepEqual(await executed, ['/3/0/4']);
      const d = await h.server.send('d-exec', { kind: 'discover', path: '/3443/0' });
      assert.equal(d.code, '2.05');
      assert.deepEqual(d.links.map((l) => l.target), ['/3443/0', '/3443/0/0', '/3443/0/1', '/3443/0/2', '/3443/0/3', '/3443/0/4']);
      const wa = await h.server.send('d-exec', { kind: 'write-attributes', path: '/3443/0/3', attributes: { pmin: 0, pmax: 60, gt: undefined, lt: undefined, st: undefined, epmin: undefined, epmax: undefined, con: 1 } });
      assert.equal(wa.code, '2.04');
    } finally {
      await h.close();
    }
  });

  it('observes a resource, receives notifications, and stops after cancel', async () => {
    const h = await startServer();
    try {
      const client = await h.client({ endpoint: 'd-obs' });
      await client.register();
      const o = await h.server.send('d-obs', { kind: 'observe', path: '/3/0/3' });
      assert.equal(o.code, '2.05');
      assert.ok(o.observationId);
      const notified = nextEvent<[NotificationEvent]>(h.server, 'notification', (n) => n.endpoint === 'd-obs');
      await client.setValue('/3/0/3', 'x');
      const [first] = await notified;
      assert.equal(first.path, '/3/0/3');
      assert.equal(first.confirmable, true);
      assert.deepEqual(first.nodes, [{ path: '/3/0/3', value: 'x' }]);
      const c = await h.server.send('d-obs', { kind: 'cancel-observe', path: '/3/0/3' });
      assert.equal(c.success, true);
      let after = 0;
      h.server.on('notification', () => after++);
      await client.setValue('/3/0/3', 'y');
      await until(() => client.observedPaths().length === 0, 2000, 'observer removed on the device after RST');
      assert.equal(after, 0);
    } finally {
      await h.close();
    }
  });

  it('rejects a request for an endpoint that is not registered', async () => {
    const h = await startServer();
    try {
      await assert.rejects(h.server.send('nobody', { kind: 'read', path: '/3/0' }), /no registration/);
    } finally {
      await h.close();
    }
  });
});
