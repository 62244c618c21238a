import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import coap from 'coap';
import { Code, decodeBlock, encodeBlock, getOption, getUintOption, Opt, uintOption, type CoapOption } from '../../src/lwm2m/coap/message.js';
import { ContentFormat } from '../../src/lwm2m/content/formats.js';
import { encodeSenmlCbor } from '../../src/lwm2m/content/senml.js';
import type { NotificationEvent, SendEvent } from '../../src/lwm2m/requests.js';
import { nextEvent, startServer, TestClock } from './harness.js';
import { RawPeer } from './raw-peer.js';

const bytes = (n: number, seed = 7): Uint8Array => Uint8Array.from({ length: n }, (_, i) => (i * 31 + seed) & 0xff);

/** Posts `body` in 2^(szx+4)-byte blocks, a new token per block and one Request-Tag, like libcoap. */
async function libcoapStylePost(peer: RawPeer, path: string[], body: Uint8Array, szx: number, tag: number[], format?: number) {
  const size = 1 << (szx + 4);
  const codes: number[] = [];
  let last;
  for (let num = 0; num * size < body.length; num++) {
    const more = (num + 1) * size < body.length;
    const options: CoapOption[] = [{ number: Opt.Block1, value: encodeBlock({ num, more, szx }) }, { number: Opt.RequestTag, value: Uint8Array.from(tag) }];
    if (num === 0) options.push({ number: Opt.Size1, value: uintOption(body.length) });
    if (format !== undefined) options.push({ number: Opt.ContentFormat, value: uintOption(format) });
    last = await peer.request(Code.POST, path, options, body.subarray(num * size, num * size + size));
    assert.ok(last, `block ${num} answered`);
    codes.push(last.code);
  }
  return { codes, last: last! };
}

describe('block-wise transfer (RFC 7959)', () => {
  it('writes a 64 KiB opaque value to /3443/0/2 with Block1 and the device gets it whole', async () => {
    const h = await startServer();
    try {
      const client = await h.client({ endpoint: 'b-1' });
      await client.register();
      const body = bytes(65_536);
      const r = await h.server.send('b-1', { kind: 'write', path: '/3443/0/2', value: body });
      assert.equal(r.code, '2.04');
      assert.equal(client.eimMessages[0]!.length, body.length);
      assert.deepEqual(Buffer.from(client.eimMessages[0]!), Buffer.from(body));
    } finally {
      await h.close();
    }
  });

  it('reads a 5000-byte /3443/0/3 with Block2 and gets it whole', async () => {
    const h = await startServer();
    try {
      const client = await h.client({ endpoint: 'b-2' });
      await client.register();
      const body = bytes(5000);
      await client.putIpaMessage(body, 'store');
      const r = await h.server.send('b-2', { kind: 'read', path: '/3443/0/3' });
      assert.equal(r.code, '2.05');
      assert.deepEqual(Buffer.from(r.nodes[0]!.value as Uint8Array), Buffer.from(body));
    } finally {
      await h.close();
    }
  });

  it('completes a notification whose value needs Block2 by fetching the remaining blocks', async () => {
    const h = await startServer();
    try {
      const client = await h.client({ endpoint: 'b-3' });
      await client.register();
      await h.server.send('b-3', { kind: 'observe', path: '/3443/0/3' });
      const body = bytes(3000, 3);
      const notified = nextEvent<[NotificationEvent]>(h.server, 'notification');
      await client.putIpaMessage(body, 'notify');
      const [n] = await notified;
      assert.deepEqual(Buffer.from(n.payload), Buffer.from(body));
    } finally {
      await h.close();
    }
  });

  it('reassembles a Send from a client that changes the token on every block (libcoap style)', async () => {
    const h = await startServer();
    const peer = await RawPeer.open(h.port);
    try {
      const reg = await peer.request(Code.POST, ['rd'], [{ number: Opt.ContentFormat, value: uintOption(40) }], Buffer.from('</3443/0>'), ['ep=raw-1', 'lt=300', 'lwm2m=1.1', 'b=U', 'Q']);
      assert.equal(reg?.code, Code.Created);
      const value = bytes(3000, 9);
      const body = encodeSenmlCbor([{ path: '/3443/0/3', value }]);
      const sent = nextEvent<[SendEvent]>(h.server, 'send');
      const { codes, last } = await libcoapStylePost(peer, ['dp'], body, 4, [0xa1], ContentFormat.SENML_CBOR);
      assert.deepEqual(codes.slice(0, -1).every((c) => c === Code.Continue), true);
      assert.equal(codes.at(-1), Code.Changed);
      assert.equal(decodeBlock(getOption(last, Opt.Block1)!)!.more, false);
      const [event] = await sent;
      assert.equal(event.endpoint, 'raw-1');
      assert.deepEqual(Buffer.from(event.nodes[0]!.value as Uint8Array), Buffer.from(value));
    } finally {
      peer.close();
      await h.close();
    }
  });

  it('keeps two interleaved transfers from one peer apart by Request-Tag', async () => {
    const h = await startServer();
    const peer = await RawPeer.open(h.port);
    const got: Uint8Array[] = [];
    h.server.route(Code.POST, '/echo', (r) => {
      got.push(r.message.payload);
      return { code: Code.Changed };
    });
    try {
      const a = bytes(64, 1);
      const b = bytes(64, 2);
      const send = (tag: number, body: Uint8Array, num: number) => peer.request(Code.POST, ['echo'], [
        { number: Opt.Block1, value: encodeBlock({ num, more: num < 3, szx: 0 }) }, { number: Opt.RequestTag, value: Uint8Array.of(tag) },
      ], body.subarray(num * 16, num * 16 + 16));
      for (let num = 0; num < 4; num++) {
        assert.equal((await send(1, a, num))?.code, num < 3 ? Code.Continue : Code.Changed);
        assert.equal((await send(2, b, num))?.code, num < 3 ? Code.Continue : Code.Changed);
      }
      assert.deepEqual(got.map((g) => Buffer.from(g)), [Buffer.from(a), Buffer.from(b)]);
    } finally {
      peer.close();
      await h.close();
    }
  });

  it('accepts a Block1 POST from node-coap (same token on every block)', async () => {
    const h = await startServer();
    let received: Uint8Array | undefined;
    h.server.route(Code.POST, '/echo', (r) => {
      received = r.message.payload;
      return { code: Code.Changed, payload: Buffer.from(String(r.message.payload.length)) };
    });
    const agent = new coap.Agent({ type: 'udp4' });
    try {
      const body = Buffer.from(bytes(3000, 5));
      const answer = await new Promise<string>((resolve, reject) => {
        const req = coap.request({ hostname: '127.0.0.1', port: h.port, method: 'POST', pathname: '/echo', agent });
        req.setOption('Block1', Buffer.of(0x04));
        const timer = setTimeout(() => reject(new Error('node-coap got no response')), 3000);
        req.on('response', (res) => {
          clearTimeout(timer);
          resolve(`${res.code} ${res.payload.toString()}`);
        });
        req.on('error', reject);
        req.end(body);
      });
      assert.equal(answer, '2.04 3000');
      assert.deepEqual(Buffer.from(received!), body);
    } finally {
      agent.close();
      await h.close();
    }
  });

  it('refuses bodies over the configured maximum with 4.13 and Size1', async () => {
    const h = await startServer({ coap: { ackTimeoutMs: 100, maxRetransmit: 2, reassembly: { maxBodySize: 1024 } } });
    const peer = await RawPeer.open(h.port);
    h.server.route(Code.POST, '/echo', () => ({ code: Code.Changed }));
    try {
      const announced = await peer.request(Code.POST, ['echo'], [{ number: Opt.Block1, value: encodeBlock({ num: 0, more: true, szx: 2 }) }, { number: Opt.Size1, value: uintOption(5000) }], bytes(64));
      assert.equal(announced?.code, Code.RequestEntityTooLarge);
      assert.equal(getUintOption(announced!, Opt.Size1), 1024);
      // Without Size1 the limit bites when the running total passes it: block 16 of 64 bytes.
      for (let num = 0; num <= 16; num++) {
        const r = await peer.request(Code.POST, ['echo'], [{ number: Opt.Block1, value: encodeBlock({ num, more: true, szx: 2 }) }, { number: Opt.RequestTag, value: Uint8Array.of(9) }], bytes(64));
        assert.equal(r?.code, num < 16 ? Code.Continue : Code.RequestEntityTooLarge, `block ${num}`);
      }
      const out = await peer.request(Code.POST, ['echo'], [{ number: Opt.Block1, value: encodeBlock({ num: 5, more: true, szx: 2 }) }], bytes(64));
      assert.equal(out?.code, Code.RequestEntityIncomplete, 'a block with no transfer in progress');
    } finally {
      peer.close();
      await h.close();
    }
  });

  it('drops never-finished transfers after their lifetime and caps transfers per peer', async () => {
    const clock = new TestClock();
    const h = await startServer({ clock, coap: { ackTimeoutMs: 100, maxRetransmit: 2, reassembly: { lifetimeMs: 10_000, maxTransfersPerPeer: 2 } } });
    const peer = await RawPeer.open(h.port);
    h.server.route(Code.POST, '/echo', () => ({ code: Code.Changed }));
    try {
      const start = (tag: number) => peer.request(Code.POST, ['echo'], [{ number: Opt.Block1, value: encodeBlock({ num: 0, more: true, szx: 0 }) }, { number: Opt.RequestTag, value: Uint8Array.of(tag) }], bytes(16));
      assert.equal((await start(1))?.code, Code.Continue);
      assert.equal((await start(2))?.code, Code.Continue);
      assert.equal((await start(3))?.code, Code.ServiceUnavailable);
      clock.advance(11_000);
      h.server.tick();
      assert.equal((await start(4))?.code, Code.Continue, 'expired transfers freed their slots');
      const next = await peer.request(Code.POST, ['echo'], [{ number: Opt.Block1, value: encodeBlock({ num: 1, more: false, szx: 0 }) }, { number: Opt.RequestTag, value: Uint8Array.of(1) }], bytes(4));
      assert.equal(next?.code, Code.RequestEntityIncomplete, 'the expired transfer cannot be continued');
    } finally {
      peer.close();
      await h.close();
    }
  });

  it('refuses new blocks once all transfers together hold the memory budget', async () => {
    const h = await startServer({ coap: { ackTimeoutMs: 100, maxRetransmit: 2, reassembly: { maxTotalBytes: 32 } } });
    const peer = await RawPeer.open(h.port);
    h.server.route(Code.POST, '/echo', () => ({ code: Code.Changed }));
    try {
      const block = (tag: number, num: number) => peer.request(Code.POST, ['echo'], [{ number: Opt.Block1, value: encodeBlock({ num, more: true, szx: 0 }) }, { number: Opt.RequestTag, value: Uint8Array.of(tag) }], bytes(16));
      assert.equal((await block(1, 0))?.code, Code.Continue);
      assert.equal((await block(1, 1))?.code, Code.Continue);
      assert.equal((await block(2, 0))?.code, Code.ServiceUnavailable);
      const done = await peer.request(Code.POST, ['echo'], [{ number: Opt.Block1, value: encodeBlock({ num: 2, more: false, szx: 0 }) }, { number: Opt.RequestTag, value: Uint8Array.of(1) }], bytes(5));
      assert.equal(done?.code, Code.Changed);
      assert.equal((await block(3, 0))?.code, Code.Continue, 'a finished transfer gives its bytes back');
    } finally {
      peer.close();
      await h.close();
    }
  });
});
