import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket, type Socket } from 'node:dgram';
import { CoapEndpoint, type EndpointOptions } from '../../src/lwm2m/coap/endpoint.js';
import { Code, decodeMessage, encodeMessage, pathOptions } from '../../src/lwm2m/coap/message.js';

async function bound(): Promise<Socket> {
  const s = createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
  return s;
}

async function pair(serverOptions: EndpointOptions) {
  const a = await bound();
  const b = await bound();
  const server = new CoapEndpoint(a, serverOptions);
  const client = new CoapEndpoint(b, { ackTimeoutMs: 100, maxRetransmit: 2, exchangeTimeoutMs: 3000, handler: () => ({ code: Code.NotFound }) });
  return {
    server, client, a, b, peer: { address: '127.0.0.1', port: a.address().port },
    close: () => { server.close(); client.close(); a.close(); b.close(); },
  };
}

describe('CoAP endpoint message layer', () => {
  it('answers a slow handler with an empty ACK and then a separate CON response', async () => {
    const p = await pair({ separateResponseAfterMs: 50, handler: async () => {
      await new Promise((r) => setTimeout(r, 250));
      return { code: Code.Changed, payload: Buffer.from('late') };
    } });
    try {
      const seen: string[] = [];
      p.b.on('message', (m: Buffer) => { const d = decodeMessage(m); seen.push(`${d.type} ${d.code}`); });
      const r = await p.client.request(p.peer, { code: Code.POST, path: '/slow' });
      assert.equal(r.code, Code.Changed);
      assert.equal(Buffer.from(r.payload).toString(), 'late');
      assert.deepEqual(seen.slice(0, 2), ['ACK 0', `CON ${Code.Changed}`]);
    } finally {
      p.close();
    }
  });

  it('runs the handler once for a retransmitted CON and repeats the same answer', async () => {
    let calls = 0;
    const p = await pair({ handler: () => { calls++; return { code: Code.Content, payload: Buffer.from(String(calls)) }; } });
    try {
      const raw = await bound();
      const answers: string[] = [];
      raw.on('message', (m: Buffer) => answers.push(Buffer.from(decodeMessage(m).payload).toString()));
      const request = encodeMessage({ type: 'CON', code: Code.GET, messageId: 77, token: Uint8Array.of(5), options: pathOptions('/x'), payload: new Uint8Array(0) });
      raw.send(request, p.peer.port, '127.0.0.1');
      await new Promise((r) => setTimeout(r, 50));
      raw.send(request, p.peer.port, '127.0.0.1');
      await new Promise((r) => setTimeout(r, 50));
      raw.close();
      assert.equal(calls, 1);
      assert.deepEqual(answers, ['1', '1']);
    } finally {
      p.close();
    }
  });

  it('answers a CoAP ping (empty CON) with RST and a request to a silent peer times out', async () => {
    const p = await pair({ handler: () => ({ code: Code.Content }) });
    try {
      const reply = new Promise<string>((resolve) => p.b.once('message', (m: Buffer) => resolve(decodeMessage(m).type)));
      p.b.send(encodeMessage({ type: 'CON', code: Code.Empty, messageId: 9, token: new Uint8Array(0), options: [], payload: new Uint8Array(0) }), p.peer.port, '127.0.0.1');
      assert.equal(await reply, 'RST');
      const silent = await bound();
      await assert.rejects(p.client.request({ address: '127.0.0.1', port: silent.address().port }, { code: Code.GET, path: '/x' }), /no acknowledgement/);
      silent.close();
    } finally {
      p.close();
    }
  });
});
