/**
 * Bad traffic against the DTLS server (RFC 6347 §4.1.2.7 invalid records, §4.2.1 stateless cookies):
 * garbage and mutated datagrams, a bad MAC after the handshake, spoofed ClientHello floods, the caps on
 * handshakes and sessions, idle expiry and a rebooted device. The server must keep serving and never
 * hold state for a peer that has not echoed a cookie.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import dgram from 'node:dgram';
import {
  clientHello,
  connectPsk,
  delay,
  helloVerifyCookie,
  rawPeer,
  stalledHandshake,
  startServer,
  vanish,
  waitFor,
} from './dtls-harness.js';

/** A UDP relay client -> server that can flip the last byte (part of the CCM tag) of the next application record. */
async function macFlipper(serverPort: number): Promise<{ port: number; flipNext(): void; inject(d: Buffer): void; close(): void }> {
  const front = dgram.createSocket('udp4');
  const back = dgram.createSocket('udp4');
  let client: dgram.RemoteInfo | undefined;
  let flip = false;
  front.on('message', (m, rinfo) => {
    client = rinfo;
    if (flip && m[0] === 23) {
      flip = false;
      m[m.length - 1]! ^= 0x01;
    }
    back.send(m, serverPort, '127.0.0.1');
  });
  back.on('message', (m) => {
    if (client) front.send(m, client.port, client.address);
  });
  await new Promise<void>((r) => front.bind(0, '127.0.0.1', () => r()));
  await new Promise<void>((r) => back.bind(0, '127.0.0.1', () => r()));
  return {
    port: front.address().port,
    flipNext: () => (flip = true),
    inject: (d) => back.send(d, serverPort, '127.0.0.1'),
    close: () => {
      front.close();
      back.close();
    },
  };
}

/** Handshake message types of the records in one datagram (RFC 6347 §4.2.2). */
function handshakeTypes(datagram: Buffer): number[] {
  const types: number[] = [];
  for (let o = 0; o + 13 < datagram.length; o += 13 + datagram.readUInt16BE(o + 11)) {
    if (datagram[o] === 22) types.push(datagram[o + 13]!);
  }
  return types;
}

describe('DTLS PSK server flight', () => {
  it('answers a cookie-verified ClientHello with ServerHello and ServerHelloDone in one datagram, without an identity hint', async () => {
    const h = await startServer();
    const peer = await rawPeer();
    try {
      peer.send(clientHello(), h.port);
      await waitFor(() => peer.received.length === 1, 2000, 'HelloVerifyRequest');
      assert.deepEqual(handshakeTypes(peer.received[0]!), [3]);
      peer.send(clientHello(helloVerifyCookie(peer.received[0]!)!), h.port);
      await waitFor(() => peer.received.length === 2, 2000, 'server flight');
      // 2 ServerHello, 14 ServerHelloDone; a ServerKeyExchange (12) would carry a PSK identity hint.
      assert.deepEqual(handshakeTypes(peer.received[1]!), [2, 14]);
    } finally {
      peer.socket.close();
      await h.close();
    }
  });
});

describe('DTLS server under bad traffic', () => {
  it('drops random and mutated datagrams and keeps serving a real client', async () => {
    const h = await startServer();
    const peer = await rawPeer();
    try {
      const hello = clientHello();
      for (let i = 0; i < 300; i++) {
        const kind = i % 3;
        let d: Buffer;
        if (kind === 0) d = randomBytes(i % 1400);
        else if (kind === 1) d = Buffer.concat([Buffer.from([22, 0xfe, 0xfd]), randomBytes(10 + (i % 300))]);
        else {
          d = Buffer.from(hello.subarray(0, 13 + (i % (hello.length - 13))));
          d[13 + (i % (d.length - 13 || 1))]! ^= 0xff;
        }
        peer.send(d, h.port);
      }
      await waitFor(() => h.dropped.length > 150, 5000, 'drops');
      assert.ok(h.dropped.some((d) => d.reason === 'malformed-record'));
      assert.equal(h.server.stats().sessions, 0);
      const client = await connectPsk(h.port);
      const got: string[] = [];
      h.server.socket.on('message', (m: Buffer) => got.push(m.toString()));
      client.send(Buffer.from('still alive'));
      await waitFor(() => got.length === 1, 3000, 'message');
      assert.deepEqual(got, ['still alive']);
      client.close();
    } finally {
      peer.socket.close();
      await h.close();
    }
  });

  it('drops a record with a flipped MAC byte and forged records after the handshake, and keeps the session', async () => {
    const h = await startServer();
    const relay = await macFlipper(h.port);
    const got: string[] = [];
    h.server.socket.on('message', (m: Buffer) => got.push(m.toString()));
    const client = await connectPsk(relay.port);
    try {
      relay.flipNext();
      client.send(Buffer.from('tampered'));
      await waitFor(() => h.dropped.some((d) => d.reason === 'bad-record'), 3000, 'bad-record');
      // Forged records in the session's own epoch and from its own address: alerts, handshakes, data.
      for (let i = 0; i < 300; i++) {
        const type = [21, 22, 23, 20][i % 4]!;
        const body = randomBytes(1 + (i % 200));
        const header = Buffer.from([type, 0xfe, 0xfd, 0, 1, 0, 0, 0, 0, 0x10, i & 0xff, body.length >> 8, body.length & 0xff]);
        relay.inject(Buffer.concat([header, body]));
      }
      await waitFor(() => h.dropped.filter((d) => d.reason === 'bad-record').length >= 76, 3000, 'forged records dropped');
      client.send(Buffer.from('intact'));
      await waitFor(() => got.length === 1, 3000, 'intact message');
      assert.deepEqual(got, ['intact']);
      assert.equal(h.server.stats().sessions, 1);
      assert.equal(h.closed.length, 0);
    } finally {
      client.close();
      relay.close();
      await h.close();
    }
  });

  it('answers a flood of ClientHellos from many ports with cookies only, creating no per-peer state', async () => {
    const h = await startServer();
    const peers = await Promise.all(Array.from({ length: 100 }, () => rawPeer()));
    try {
      for (const p of peers) p.send(clientHello(), h.port);
      // A forged cookie is no better than none.
      for (const p of peers.slice(0, 20)) p.send(clientHello(randomBytes(32)), h.port);
      await waitFor(() => h.server.stats().helloVerifyRequests === 120, 5000, '120 HelloVerifyRequests');
      assert.deepEqual(h.server.stats(), { sessions: 0, handshakes: 0, helloVerifyRequests: 120 });
      assert.ok(peers.every((p) => p.received.length > 0 && helloVerifyCookie(p.received[0]!)?.length === 32));
      // A cookie is bound to the ip:port it was issued to.
      const stolen = helloVerifyCookie(peers[0]!.received[0]!)!;
      peers[1]!.send(clientHello(stolen), h.port);
      await waitFor(() => h.server.stats().helloVerifyRequests === 121, 3000, 'a fresh HelloVerifyRequest');
      assert.equal(h.server.stats().sessions, 0);
    } finally {
      for (const p of peers) p.socket.close();
      await h.close();
    }
  });

  it('caps handshakes in progress, retransmits the server flight, and expires stalled handshakes', async () => {
    const h = await startServer({ maxHandshakes: 2, handshakeTimeoutMs: 1600 });
    const sockets: dgram.Socket[] = [];
    try {
      sockets.push(await stalledHandshake(h.port), await stalledHandshake(h.port));
      assert.deepEqual({ s: h.server.stats().sessions, hs: h.server.stats().handshakes }, { s: 2, hs: 2 });
      const third = await rawPeer();
      sockets.push(third.socket);
      third.send(clientHello(), h.port);
      await waitFor(() => third.received.length === 1, 2000, 'HelloVerifyRequest');
      third.send(clientHello(helloVerifyCookie(third.received[0]!)!), h.port);
      await waitFor(() => h.dropped.some((d) => d.reason === 'handshake-cap'), 2000, 'handshake-cap');
      assert.equal(h.server.stats().handshakes, 2);
      const firstFlights = await new Promise<number>((resolve) => {
        let n = 0;
        sockets[0]!.on('message', () => n++);
        setTimeout(() => resolve(n), 1200);
      });
      assert.ok(firstFlights > 0, 'the unanswered flight is retransmitted');
      await waitFor(() => h.dropped.filter((d) => d.reason === 'handshake-timeout').length === 2, 3000, 'two handshake-timeouts');
      assert.deepEqual({ s: h.server.stats().sessions, hs: h.server.stats().handshakes }, { s: 0, hs: 0 });
    } finally {
      for (const s of sockets) s.close();
      await h.close();
    }
  });

  it('caps sessions', async () => {
    const h = await startServer({ maxSessions: 1 });
    const first = await connectPsk(h.port);
    try {
      await assert.rejects(connectPsk(h.port, undefined, undefined, { timeoutMs: 800 }));
      assert.ok(h.dropped.some((d) => d.reason === 'session-cap'));
      assert.equal(h.server.stats().sessions, 1);
    } finally {
      first.close();
      await h.close();
    }
  });

  it('closes a session after the idle timeout', async () => {
    const h = await startServer({ idleTimeoutMs: 300 });
    const client = await connectPsk(h.port);
    try {
      await delay(100);
      client.send(Buffer.from('keep me'));
      await waitFor(() => h.closed.length === 1, 3000, 'idle expiry');
      assert.equal(h.closed[0]!.reason, 'idle');
      assert.equal(h.server.stats().sessions, 0);
    } finally {
      vanish(client);
      await h.close();
    }
  });

  it('gives a rebooted device (new ClientHello from the same ip:port) a new session', async () => {
    const h = await startServer();
    const probe = dgram.createSocket('udp4');
    await new Promise<void>((r) => probe.bind(0, '127.0.0.1', () => r()));
    const port = probe.address().port;
    await new Promise<void>((r) => probe.close(() => r()));
    const got: string[] = [];
    h.server.socket.on('message', (m: Buffer) => got.push(m.toString()));
    const before = await connectPsk(h.port, undefined, undefined, { listenPort: port });
    vanish(before);
    const after = await connectPsk(h.port, undefined, undefined, { listenPort: port });
    try {
      await waitFor(() => h.sessions.length === 2, 3000, 'second session');
      assert.deepEqual(h.closed.map((c) => c.reason), ['replaced']);
      assert.equal(h.sessions[0]!.port, port);
      assert.equal(h.sessions[1]!.port, port);
      assert.equal(h.server.stats().sessions, 1);
      after.send(Buffer.from('after reboot'));
      await waitFor(() => got.length === 1, 3000, 'message');
      assert.deepEqual(got, ['after reboot']);
    } finally {
      after.close();
      await h.close();
    }
  });
});
