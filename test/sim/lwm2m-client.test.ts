import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { CoapEndpoint, type InboundRequest } from '../../src/lwm2m/coap/endpoint.js';
import { Code, Opt, uintOption } from '../../src/lwm2m/coap/message.js';
import type { Peer } from '../../src/lwm2m/coap/socket.js';
import { ContentFormat } from '../../src/lwm2m/content/formats.js';
import { decodeSenmlCbor } from '../../src/lwm2m/content/senml.js';
import { Lwm2mClient } from '../../src/sim/lwm2m-client.js';

const FAST = { ackTimeoutMs: 100, maxRetransmit: 1, exchangeTimeoutMs: 1500 };
const EID = '89049032123451234512345678901235';

/** A bare CoAP endpoint playing the server, recording every uplink. */
async function fakeServer() {
  const socket = createSocket('udp4');
  await new Promise<void>((r) => socket.bind(0, '127.0.0.1', () => r()));
  const uplinks: InboundRequest[] = [];
  const endpoint = new CoapEndpoint(socket, {
    ...FAST,
    handler: (r) => {
      uplinks.push(r);
      if (r.path === '/rd') return { code: Code.Created, options: [{ number: Opt.LocationPath, value: Buffer.from('rd') }, { number: Opt.LocationPath, value: Buffer.from('x1') }] };
      if (r.path === '/rd/x1') return { code: r.message.code === Code.DELETE ? Code.Deleted : Code.Changed };
      return { code: Code.Changed };
    },
  });
  const server: Peer = { address: '127.0.0.1', port: socket.address().port };
  return {
    server, uplinks, endpoint,
    close: async () => {
      endpoint.close();
      await new Promise<void>((r) => socket.close(() => r()));
    },
  };
}

describe('simulated LwM2M client', () => {
  it('registers with lwm2m=1.1, b=U and Q, object links with 3443 ver=1.0, then updates and deregisters', async () => {
    const s = await fakeServer();
    const c = await Lwm2mClient.create({ endpoint: 'sim-1', server: s.server, coap: FAST, lifetime: 120 });
    try {
      await c.register();
      const reg = s.uplinks[0]!;
      assert.deepEqual(reg.query, ['ep=sim-1', 'lt=120', 'lwm2m=1.1', 'b=U', 'Q']);
      const links = Buffer.from(reg.message.payload).toString();
      assert.match(links, /^<\/>;rt=oma\.lwm2m;ct="0 42 110 112 11542",/);
      assert.match(links, /<\/3443\/0>;ver=1\.0/);
      assert.equal(c.location, '/rd/x1');
      await c.update();
      assert.equal(s.uplinks[1]!.path, '/rd/x1');
      await c.deregister();
      assert.equal(s.uplinks[2]!.message.code, Code.DELETE);
      assert.equal(c.registered, false);
    } finally {
      await c.close();
      await s.close();
    }
  });

  it('uses the 1.0 form b=UQ', async () => {
    const s = await fakeServer();
    const c = await Lwm2mClient.create({ endpoint: 'sim-2', server: s.server, coap: FAST, lwm2mVersion: '1.0' });
    try {
      await c.register();
      assert.deepEqual(s.uplinks[0]!.query.slice(2), ['lwm2m=1.0', 'b=UQ']);
    } finally {
      await c.close();
      await s.close();
    }
  });

  it('answers Read of the EID, refuses /3443/0/2 while State is 1, and clears /3443/0/3 on Execute /3443/0/4', async () => {
    const s = await fakeServer();
    const c = await Lwm2mClient.create({ endpoint: 'sim-3', server: s.server, coap: FAST, eid: EID });
    try {
      await c.register();
      const peer = s.uplinks[0]!.peer;
      const eid = await s.endpoint.request(peer, { code: Code.GET, path: '/3443/0/1' });
      assert.equal(eid.code, Code.Content);
      assert.equal(Buffer.from(eid.payload).toString(), EID);
      await c.setValue('/3443/0/0', 1);
      const opaque = [{ number: Opt.ContentFormat, value: uintOption(ContentFormat.OPAQUE) }];
      const refused = await s.endpoint.request(peer, { code: Code.PUT, path: '/3443/0/2', options: opaque, payload: Uint8Array.of(1) });
      assert.equal(refused.code, Code.MethodNotAllowed);
      await c.setValue('/3443/0/0', 0);
      const accepted = await s.endpoint.request(peer, { code: Code.PUT, path: '/3443/0/2', options: opaque, payload: Uint8Array.of(1) });
      assert.equal(accepted.code, Code.Changed);
      assert.deepEqual(c.eimMessages.map((m) => [...m]), [[1]]);
      await c.putIpaMessage(Uint8Array.of(9, 9), 'store');
      const read = await s.endpoint.request(peer, { code: Code.GET, path: '/3443/0/3' });
      assert.deepEqual([...read.payload], [9, 9]);
      const exec = await s.endpoint.request(peer, { code: Code.POST, path: '/3443/0/4' });
      assert.equal(exec.code, Code.Changed);
      assert.equal((c.getValue('/3443/0/3') as Uint8Array).length, 0);
      const readOnly = await s.endpoint.request(peer, { code: Code.PUT, path: '/3443/0/1', options: [{ number: Opt.ContentFormat, value: uintOption(0) }], payload: Buffer.from('x') });
      assert.equal(readOnly.code, Code.MethodNotAllowed);
    } finally {
      await c.close();
      await s.close();
    }
  });

  it('sends the IPA message with Send as SenML-CBOR and clears it on 2.04', async () => {
    const s = await fakeServer();
    const c = await Lwm2mClient.create({ endpoint: 'sim-4', server: s.server, coap: FAST });
    try {
      await c.register();
      await c.putIpaMessage(Uint8Array.of(0xbf, 0x4f, 0x00), 'send');
      const send = s.uplinks.find((u) => u.path === '/dp')!;
      assert.equal(send.message.options.find((o) => o.number === Opt.ContentFormat)!.value[0], ContentFormat.SENML_CBOR);
      assert.deepEqual(decodeSenmlCbor(send.message.payload), [{ path: '/3443/0/3', value: Uint8Array.of(0xbf, 0x4f, 0x00) }]);
      assert.equal((c.getValue('/3443/0/3') as Uint8Array).length, 0);
    } finally {
      await c.close();
      await s.close();
    }
  });

  it('ignores the server while asleep and answers again after its next uplink', async () => {
    const s = await fakeServer();
    const c = await Lwm2mClient.create({ endpoint: 'sim-5', server: s.server, coap: FAST });
    try {
      await c.register();
      const peer = s.uplinks[0]!.peer;
      c.sleep();
      await assert.rejects(s.endpoint.request(peer, { code: Code.GET, path: '/3/0/0', timeoutMs: 800 }));
      await c.update();
      const r = await s.endpoint.request(peer, { code: Code.GET, path: '/3/0/0' });
      assert.equal(r.code, Code.Content);
    } finally {
      await c.close();
      await s.close();
    }
  });
});
