import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { fromHex } from '../../src/asn1/hex.js';
import { Code, Opt, uintOption } from '../../src/lwm2m/coap/message.js';
import { ContentFormat } from '../../src/lwm2m/content/formats.js';
import { decodeMessage, encodeMessage, pathOptions } from '../../src/lwm2m/coap/message.js';
import { Lwm2mServer } from '../../src/lwm2m/server.js';
import { Lwm2mClient } from '../../src/sim/lwm2m-client.js';
import { FAST_COAP, startServer } from './harness.js';
import { MemoryNetwork } from './memory-socket.js';
import { RawPeer } from './raw-peer.js';

function capture() {
  const lines: { level: number; msg: string; reason?: string }[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const l of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(l));
      cb();
    },
  });
  return { lines, logger: pino({ level: 'debug' }, stream) };
}

describe('bad traffic', () => {
  it('random and truncated datagrams are dropped, each logged once with a reason', async () => {
    const { lines, logger } = capture();
    const h = await startServer({ logger });
    const peer = await RawPeer.open(h.port);
    try {
      const samples = [fromHex('ff'), fromHex('4101'), fromHex('81011234'), fromHex('4f011234'), fromHex('40011234b43334'), fromHex('40011234ff'), fromHex('40011234f0')];
      for (const s of samples) peer.sendRaw(s);
      await new Promise((r) => setTimeout(r, 200));
      const drops = lines.filter((l) => l.msg === 'dropped bad CoAP datagram');
      assert.equal(drops.length, samples.length);
      assert.ok(drops.every((d) => typeof d.reason === 'string' && d.reason.length > 0));
    } finally {
      peer.close();
      await h.close();
    }
  });

  it('answers malformed LwM2M requests with error codes', async () => {
    const h = await startServer();
    const peer = await RawPeer.open(h.port);
    try {
      const link = [{ number: Opt.ContentFormat, value: uintOption(ContentFormat.LINK_FORMAT) }];
      assert.equal((await peer.request(Code.POST, ['rd'], link, Buffer.from('</3/0'), ['ep=x']))?.code, Code.BadRequest, 'bad link format');
      assert.equal((await peer.request(Code.POST, ['rd'], link, Buffer.from('</3/0>'), []))?.code, Code.BadRequest, 'no ep');
      assert.equal((await peer.request(Code.POST, ['rd'], link, Buffer.from('</3/0>'), ['ep=x', 'lt=-5']))?.code, Code.BadRequest, 'bad lt');
      assert.equal((await peer.request(Code.POST, ['rd'], link, Buffer.from('</3/0>'), ['ep=x', 'lwm2m=9.9']))?.code, Code.BadRequest, 'bad version');
      assert.equal((await peer.request(Code.POST, ['rd'], [{ number: Opt.ContentFormat, value: uintOption(0) }], Buffer.from('</3/0>'), ['ep=x']))?.code, Code.UnsupportedContentFormat);
      assert.equal((await peer.request(Code.POST, ['rd'], [{ number: 9, value: Uint8Array.of(1) }], Buffer.from('</3/0>'), ['ep=x']))?.code, Code.BadOption, 'unknown critical option');
      assert.equal((await peer.request(Code.POST, ['rd', 'nope'], []))?.code, Code.NotFound);
      assert.equal((await peer.request(Code.GET, ['nothing-here'], []))?.code, Code.NotFound);
      // Send before registering, then with bad SenML, an unknown format, and a type the model refuses.
      const cbor = [{ number: Opt.ContentFormat, value: uintOption(ContentFormat.SENML_CBOR) }];
      assert.equal((await peer.request(Code.POST, ['dp'], cbor, fromHex('80')))?.code, Code.BadRequest, 'Send without registration');
      assert.equal((await peer.request(Code.POST, ['rd'], link, Buffer.from('</3443/0>'), ['ep=bad-1', 'b=U', 'Q']))?.code, Code.Created);
      assert.equal((await peer.request(Code.POST, ['dp'], cbor, fromHex('a1')))?.code, Code.BadRequest, 'SenML not an array');
      assert.equal((await peer.request(Code.POST, ['dp'], [{ number: Opt.ContentFormat, value: uintOption(9999) }], fromHex('80')))?.code, Code.UnsupportedContentFormat);
      const json = [{ number: Opt.ContentFormat, value: uintOption(ContentFormat.SENML_JSON) }];
      assert.equal((await peer.request(Code.POST, ['dp'], json, Buffer.from('[{"n":"/3443/0/3","vs":"not opaque"}]')))?.code, Code.BadRequest, '3443/0/3 must be opaque');
      assert.equal((await peer.request(Code.POST, ['dp'], json, Buffer.from('[{"n":"/3443/0/3","vd":"AQID"}]')))?.code, Code.Changed);
    } finally {
      peer.close();
      await h.close();
    }
  });

  it('a flood of random and mutated datagrams does not break a registered device’s next exchange', async () => {
    const h = await startServer();
    const peer = await RawPeer.open(h.port);
    try {
      const client = await h.client({ endpoint: 'survivor' });
      await client.register();
      const valid = fromHex('41011234abb43334343301300131');
      for (let i = 0; i < 2000; i++) {
        if (i % 2 === 0) peer.sendRaw(randomBytes(1 + (i % 300)));
        else {
          const m = Buffer.from(valid);
          const at = 4 + (i % (m.length - 4));
          m[at] = m[at]! ^ (1 + (i % 255));
          peer.sendRaw(m.subarray(0, 4 + (i % (m.length - 3))));
        }
      }
      await new Promise((r) => setTimeout(r, 300));
      await client.update();
      const r = await h.server.send('survivor', { kind: 'read', path: '/3443/0/1' });
      assert.equal(r.code, '2.05');
      assert.equal(h.server.registrations.size, 1);
    } finally {
      peer.close();
      await h.close();
    }
  });

  it('binds the endpoint to the DTLS identity: no registering, updating or sending as another device', async () => {
    const network = new MemoryNetwork();
    const serverSocket = network.socket('10.0.0.1', 5684);
    const server = new Lwm2mServer({ socket: serverSocket, coap: FAST_COAP, authorize: (endpoint, dtls) => dtls?.pskIdentity === endpoint });
    const server_ = { address: '10.0.0.1', port: 5684 };
    const clients: Lwm2mClient[] = [];
    const make = async (endpoint: string, identity: string, port: number) => {
      const c = await Lwm2mClient.create({ endpoint, server: server_, socket: network.socket('10.0.0.2', port, { pskIdentity: identity, cipher: 'TLS_PSK_WITH_AES_128_CCM_8' }), coap: FAST_COAP });
      clients.push(c);
      return c;
    };
    try {
      const honest = await make('dev-a', 'dev-a', 40001);
      await honest.register();
      assert.equal(server.registrations.getByEndpoint('dev-a')!.identity, 'dev-a');
      const impostor = await make('dev-a', 'dev-b', 40002);
      await assert.rejects(impostor.register(), /4\.03/);
      assert.equal(server.registrations.getByEndpoint('dev-a')!.port, 40001, 'registration untouched');
      // A registered device with another identity cannot update dev-a's registration by guessing its location.
      const other = await make('dev-b', 'dev-b', 40003);
      await other.register();
      const answer = await new Promise<number>((resolve) => {
        const sock = network.socket('10.0.0.9', 40005, { pskIdentity: 'dev-b' });
        sock.on('message', (m: Buffer) => resolve(decodeMessage(m).code));
        sock.send(encodeMessage({ type: 'CON', code: Code.POST, messageId: 7, token: Uint8Array.of(1), options: pathOptions(honest.location!), payload: new Uint8Array(0) }), 5684, '10.0.0.1');
      });
      assert.equal(answer, Code.Forbidden);
      await honest.update();
      assert.equal(await honest.send([{ path: '/3443/0/3', value: Uint8Array.of(1) }]), '2.04');
    } finally {
      for (const c of clients) await c.close();
      server.close();
    }
  });

  it('a DTLS device that reappears from a new port without an Update is followed by its identity', async () => {
    const network = new MemoryNetwork();
    const server = new Lwm2mServer({ socket: network.socket('10.0.0.1', 5684), coap: FAST_COAP, authorize: (endpoint, dtls) => dtls?.pskIdentity === endpoint });
    const target = { address: '10.0.0.1', port: 5684 };
    const before = await Lwm2mClient.create({ endpoint: 'dev-n', server: target, socket: network.socket('10.0.0.3', 40001, { pskIdentity: 'dev-n' }), coap: FAST_COAP });
    const after = await Lwm2mClient.create({ endpoint: 'dev-n', server: target, socket: network.socket('10.0.0.3', 40009, { pskIdentity: 'dev-n' }), coap: FAST_COAP });
    const stranger = await Lwm2mClient.create({ endpoint: 'dev-x', server: target, socket: network.socket('10.0.0.4', 40010, { pskIdentity: 'dev-x' }), coap: FAST_COAP });
    try {
      await before.register();
      assert.equal(await after.send([{ path: '/3443/0/3', value: Uint8Array.of(1) }]), '2.04');
      assert.equal(server.registrations.getByEndpoint('dev-n')!.port, 40009);
      const r = await server.send('dev-n', { kind: 'read', path: '/3/0/2' });
      assert.equal(r.code, '2.05', 'downlinks follow the device');
      assert.equal(await stranger.send([{ path: '/3443/0/3', value: Uint8Array.of(1) }]), '4.00', 'an unregistered identity gets nothing');
    } finally {
      await before.close();
      await after.close();
      await stranger.close();
      server.close();
    }
  });
});
