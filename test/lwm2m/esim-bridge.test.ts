import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { CoapEndpoint } from '../../src/lwm2m/coap/endpoint.js';
import { EsimBridge, type EsipaPort } from '../../src/lwm2m/esim-bridge.js';
import { Code, decodeMessage, encodeMessage, Opt, type CoapMessage, type CoapOption } from '../../src/lwm2m/coap/message.js';
import { nextEvent, startServer, until } from './harness.js';
import { RawPeer } from './raw-peer.js';
import { encodeSenmlCbor } from '../../src/lwm2m/content/senml.js';

const EID = '89049032123451234512345678901235';

/** A fake ESipa layer: records what the IPA sent and answers with a fixed prefix + the request. */
class FakeEsipa implements EsipaPort {
  readonly received: { eid: string; message: Uint8Array }[] = [];
  answer: ((m: Uint8Array) => Uint8Array | undefined) = (m) => Uint8Array.from([0xbf, 0x4f, ...m]);
  async handleIpaMessage(eid: string, message: Uint8Array): Promise<Uint8Array | undefined> {
    this.received.push({ eid, message });
    return this.answer(message);
  }
}

async function setup(awakeTimeMs = 93_000) {
  const h = await startServer({ awakeTimeMs });
  const esipa = new FakeEsipa();
  const bridge = new EsimBridge({ server: h.server, esipa });
  return { h, esipa, bridge };
}

describe('object 3443 bridge', () => {
  it('reads the EID after Register, binds it and observes State and IPA message', async () => {
    const { h, bridge } = await setup();
    try {
      const client = await h.client({ endpoint: 'ipa-1', eid: EID });
      const bound = nextEvent<[string, string]>(bridge, 'bound');
      await client.register();
      assert.deepEqual(await bound, ['ipa-1', EID]);
      assert.equal(bridge.eidOf('ipa-1'), EID);
      assert.equal(bridge.endpointOf(EID), 'ipa-1');
      await until(() => client.observedPaths().length === 2, 3000, 'two observations');
      assert.deepEqual(client.observedPaths().sort(), ['/3443/0/0', '/3443/0/3']);
      assert.equal(client.attributes.size, 0, 'no con attribute for a 1.1 client');
    } finally {
      bridge.close();
      await h.close();
    }
  });

  it('an IPA message notified in /3443/0/3 reaches the ESipa port and its answer is written to /3443/0/2', async () => {
    const { h, esipa, bridge } = await setup();
    try {
      const client = await h.client({ endpoint: 'ipa-2', eid: EID });
      await client.register();
      await until(() => client.observedPaths().length === 2, 3000, 'observations');
      const answered = nextEvent<[Uint8Array]>(client, 'eimMessage');
      await client.putIpaMessage(Uint8Array.of(0x30, 0x01, 0x02), 'notify');
      const [answer] = await answered;
      assert.deepEqual(esipa.received, [{ eid: EID, message: Uint8Array.of(0x30, 0x01, 0x02) }]);
      assert.deepEqual(Uint8Array.from(answer), Uint8Array.of(0xbf, 0x4f, 0x30, 0x01, 0x02));
      assert.equal((client.getValue('/3443/0/3') as Uint8Array).length, 0, 'CON notification acknowledged clears resource 3');
    } finally {
      bridge.close();
      await h.close();
    }
  });

  it('an IPA message sent with Send (SenML-CBOR) reaches the ESipa port and is answered', async () => {
    const { h, esipa, bridge } = await setup();
    try {
      const client = await h.client({ endpoint: 'ipa-3', eid: EID });
      const bound = nextEvent(bridge, 'bound');
      await client.register();
      await bound;
      const answered = nextEvent<[Uint8Array]>(client, 'eimMessage');
      await client.putIpaMessage(Uint8Array.of(0xbf, 0x50, 0x00), 'send');
      const [answer] = await answered;
      assert.deepEqual(esipa.received.map((r) => [...r.message]), [[0xbf, 0x50, 0x00]]);
      assert.deepEqual([...answer], [0xbf, 0x4f, 0xbf, 0x50, 0x00]);
    } finally {
      bridge.close();
      await h.close();
    }
  });

  it('keeps an IPA message sent before the EID is bound and hands it on once the EID is read', async () => {
    const { h, esipa, bridge } = await setup();
    const peer = await RawPeer.open(h.port);
    try {
      // A raw device: registers, Sends an IPA message at once, and answers the EID read only afterwards.
      const reads: CoapMessage[] = [];
      peer.socket.on('message', (m: Buffer) => {
        try {
          const msg = decodeMessage(m);
          if (msg.code === Code.GET) reads.push(msg);
        } catch {
          // not ours
        }
      });
      const reg = await peer.request(Code.POST, ['rd'], [{ number: Opt.ContentFormat, value: Buffer.of(40) }], Buffer.from('</3443/0>'), ['ep=raw-early', 'lwm2m=1.1', 'b=U']);
      assert.equal(reg?.code, Code.Created);
      const senml = encodeSenmlCbor([{ path: '/3443/0/3', value: Uint8Array.of(0xbf, 0x4f, 0x01) }]);
      const sent = await peer.request(Code.POST, ['dp'], [{ number: Opt.ContentFormat, value: Buffer.of(112) }], senml);
      assert.ok(sent !== undefined && sent.code < 0x80, 'the Send is accepted');
      await until(() => reads.some((r) => r.options.filter((o) => o.number === Opt.UriPath).map((o) => Buffer.from(o.value).toString()).join('/') === '3443/0/1'), 3000, 'the EID read');
      assert.equal(esipa.received.length, 0, 'nothing reaches ESipa before the EID is known');
      const read = reads.find((r) => r.options.some((o) => o.number === Opt.UriPath && Buffer.from(o.value).toString() === '1'))!;
      peer.sendRaw(encodeMessage({ type: 'ACK', code: Code.Content, messageId: read.messageId, token: read.token, options: [{ number: Opt.ContentFormat, value: Buffer.alloc(0) }], payload: Buffer.from(EID) }));
      await until(() => esipa.received.length === 1, 3000, 'the early message handed on');
      assert.deepEqual(esipa.received.map((r) => [r.eid, [...r.message]]), [[EID, [0xbf, 0x4f, 0x01]]]);
    } finally {
      peer.close();
      bridge.close();
      await h.close();
    }
  });

  it('an IPA message waiting in /3443/0/3 at Register is read, handled and cleared with Execute /3443/0/4', async () => {
    const { h, esipa, bridge } = await setup();
    try {
      esipa.answer = () => undefined;
      const client = await h.client({ endpoint: 'ipa-4', eid: EID });
      await client.putIpaMessage(Uint8Array.of(1, 2, 3, 4), 'store');
      const executed = nextEvent<[string]>(client, 'executed', (p) => p === '/3443/0/4');
      await client.register();
      await executed;
      assert.deepEqual(esipa.received.map((r) => [...r.message]), [[1, 2, 3, 4]]);
      assert.equal((client.getValue('/3443/0/3') as Uint8Array).length, 0);
      assert.equal(client.eimMessages.length, 0, 'no answer means nothing is written');
    } finally {
      bridge.close();
      await h.close();
    }
  });

  it('an injected message waits while the device sleeps and is written in its next awake window', async () => {
    const { h, bridge } = await setup(300);
    try {
      const client = await h.client({ endpoint: 'ipa-5', eid: EID });
      const bound = nextEvent(bridge, 'bound');
      await client.register();
      await bound;
      await until(() => client.observedPaths().length === 2, 3000, 'observations');
      client.sleep();
      await nextEvent(h.server, 'sleeping', (e) => e === 'ipa-5');
      const outcome = bridge.deliver(EID, Uint8Array.of(0xbf, 0x4e, 0x01, 0x00));
      await new Promise((r) => setTimeout(r, 300));
      assert.equal(client.eimMessages.length, 0, 'nothing written while asleep');
      assert.equal(bridge.pending(EID), 1);
      const delivered = nextEvent<[string, Uint8Array]>(bridge, 'delivered');
      await client.update();
      assert.deepEqual(await outcome, { delivered: true });
      const [eid, message] = await delivered;
      assert.equal(eid, EID);
      assert.deepEqual([...message], [0xbf, 0x4e, 0x01, 0x00]);
      assert.deepEqual([...client.eimMessages[0]!], [0xbf, 0x4e, 0x01, 0x00]);
    } finally {
      bridge.close();
      await h.close();
    }
  });

  it('does not write /3443/0/2 while State says not ready, and writes once it turns ready', async () => {
    const { h, bridge } = await setup();
    try {
      const client = await h.client({ endpoint: 'ipa-6', eid: EID });
      await client.register();
      await until(() => client.observedPaths().length === 2, 3000, 'observations');
      await client.setValue('/3443/0/0', 1);
      await new Promise((r) => setTimeout(r, 50));
      const outcome = bridge.deliver(EID, Uint8Array.of(0xbf, 0x4e, 0x00));
      await new Promise((r) => setTimeout(r, 200));
      assert.equal(client.eimMessages.length, 0);
      await client.setValue('/3443/0/0', 0);
      assert.deepEqual(await outcome, { delivered: true });
      assert.equal(client.eimMessages.length, 1);
    } finally {
      bridge.close();
      await h.close();
    }
  });

  it('does not bind an endpoint whose EID differs from the registry', async () => {
    const h = await startServer();
    const bridge = new EsimBridge({ server: h.server, esipa: new FakeEsipa(), expectedEid: () => '89049032000000000000000000000001' });
    try {
      const client = await h.client({ endpoint: 'ipa-7', eid: EID });
      const mismatch = nextEvent<[string, string, string]>(bridge, 'eidMismatch');
      await client.register();
      const [endpoint, reported] = await mismatch;
      assert.equal(endpoint, 'ipa-7');
      assert.equal(reported, EID);
      assert.equal(bridge.eidOf('ipa-7'), undefined);
    } finally {
      bridge.close();
      await h.close();
    }
  });

  it('answers POST /gsma/rsp2/asn1 with the ESipa reply, including a Block1 body', async () => {
    const { h, esipa, bridge } = await setup();
    const socket = createSocket('udp4');
    await new Promise<void>((r) => socket.bind(0, '127.0.0.1', () => r()));
    try {
      const reply = (mid: number, payload: Uint8Array, block1?: number): Promise<ReturnType<typeof decodeMessage>> => new Promise((resolve) => {
        socket.once('message', (m) => resolve(decodeMessage(m)));
        const options: CoapOption[] = [{ number: Opt.UriPath, value: Buffer.from('gsma') }, { number: Opt.UriPath, value: Buffer.from('rsp2') }, { number: Opt.UriPath, value: Buffer.from('asn1') }];
        if (block1 !== undefined) options.push({ number: Opt.Block1, value: Uint8Array.of(block1) });
        socket.send(encodeMessage({ type: 'CON', code: Code.POST, messageId: mid, token: Uint8Array.of(mid), options, payload }), h.port, '127.0.0.1');
      });
      const small = await reply(1, Uint8Array.of(0xbf, 0x4f, 0x00));
      assert.equal(small.code, Code.Changed);
      assert.deepEqual([...small.payload], [0xbf, 0x4f, 0xbf, 0x4f, 0x00]);
      // Two 16-byte blocks (SZX 0): block 0 with M, then the last one.
      const body = Uint8Array.from({ length: 20 }, (_, i) => i);
      const first = await reply(2, body.subarray(0, 16), 0x08);
      assert.equal(first.code, Code.Continue);
      const last = await reply(3, body.subarray(16), 0x10);
      assert.equal(last.code, Code.Changed);
      assert.deepEqual([...esipa.received[1]!.message], [...body]);
      assert.equal(esipa.received[1]!.eid, '');
      esipa.answer = () => undefined;
      const empty = await reply(4, Uint8Array.of(1));
      assert.equal(empty.code, Code.Changed);
      assert.equal(empty.payload.length, 0);
    } finally {
      socket.close();
      bridge.close();
      await h.close();
    }
  });

  it('clears /3443/0/3 with Execute after a non-confirmable notification', async () => {
    const { h, esipa, bridge } = await setup();
    try {
      esipa.answer = () => undefined;
      const client = await h.client({ endpoint: 'ipa-8', eid: EID, confirmableNotifications: false });
      await client.register();
      await until(() => client.observedPaths().length === 2, 3000, 'observations');
      const executed = nextEvent<[string]>(client, 'executed', (p) => p === '/3443/0/4');
      await client.putIpaMessage(Uint8Array.of(7, 7), 'notify');
      await executed;
      assert.deepEqual(esipa.received.map((r) => [...r.message]), [[7, 7]]);
      assert.equal((client.getValue('/3443/0/3') as Uint8Array).length, 0);
    } finally {
      bridge.close();
      await h.close();
    }
  });

  it('returns a large POST /gsma/rsp2/asn1 answer with Block2', async () => {
    const { h, esipa, bridge } = await setup();
    const socket = createSocket('udp4');
    await new Promise<void>((r) => socket.bind(0, '127.0.0.1', () => r()));
    const coap = new CoapEndpoint(socket, { ackTimeoutMs: 100, maxRetransmit: 2, exchangeTimeoutMs: 3000, handler: () => ({ code: Code.NotFound }) });
    try {
      const big = Uint8Array.from({ length: 4000 }, (_, i) => i & 0xff);
      esipa.answer = () => big;
      const r = await coap.request({ address: '127.0.0.1', port: h.port }, { code: Code.POST, path: '/gsma/rsp2/asn1', payload: Uint8Array.of(0xbf, 0x3a, 0x00) });
      assert.equal(r.code, Code.Changed);
      assert.deepEqual(Buffer.from(r.payload), Buffer.from(big));
    } finally {
      coap.close();
      socket.close();
      bridge.close();
      await h.close();
    }
  });

  it('asks a 1.2 client for confirmable notifications of /3443/0/3 (con=1)', async () => {
    const { h, bridge } = await setup();
    try {
      const client = await h.client({ endpoint: 'ipa-12', eid: EID, lwm2mVersion: '1.2' });
      await client.register();
      await until(() => client.observedPaths().length === 2, 3000, 'observations');
      assert.deepEqual(client.attributes.get('/3443/0/3'), ['con=1']);
    } finally {
      bridge.close();
      await h.close();
    }
  });

  it('a message injected before the device ever registered is written after its Register', async () => {
    const { h, bridge } = await setup();
    try {
      const outcome = bridge.deliver(EID, Uint8Array.of(0xbf, 0x4e, 0x02));
      assert.equal(bridge.pending(EID), 1);
      const client = await h.client({ endpoint: 'ipa-late', eid: EID });
      await client.register();
      assert.deepEqual(await outcome, { delivered: true });
      assert.deepEqual([...client.eimMessages[0]!], [0xbf, 0x4e, 0x02]);
      assert.equal(bridge.pending(EID), 0);
    } finally {
      bridge.close();
      await h.close();
    }
  });

  it('refuses to queue a message for a malformed EID or empty bytes', async () => {
    const { h, bridge } = await setup();
    try {
      assert.deepEqual(await bridge.deliver('1234', Uint8Array.of(1)), { delivered: false, reason: 'eid must be 32 decimal digits' });
      assert.equal((await bridge.deliver(EID, new Uint8Array(0))).delivered, false);
    } finally {
      bridge.close();
      await h.close();
    }
  });
});
