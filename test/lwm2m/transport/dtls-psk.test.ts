/**
 * DTLS 1.2 PSK server (RFC 6347, RFC 7925 TLS_PSK_WITH_AES_128_CCM_8) against node-dtls-client, and the
 * DtlsSocket contract node-coap relies on (send overloads, the address-less send, address()).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { DtlsSocket } from '../../../src/lwm2m/transport/dtls-socket.js';
import { DtlsServer } from '../../../src/lwm2m/transport/dtls-server.js';
import type { SecureRemoteInfo } from '../../../src/lwm2m/transport/contract.js';
import { connectPsk, PSK_IDENTITY, PSK_KEY, startServer, waitFor } from './dtls-harness.js';

describe('DTLS PSK server', () => {
  it('completes a PSK handshake and exchanges datagrams both ways with the identity in rinfo', async () => {
    const h = await startServer();
    const seen: { text: string; rinfo: SecureRemoteInfo }[] = [];
    h.server.socket.on('message', (m: Buffer, rinfo: SecureRemoteInfo) => {
      seen.push({ text: m.toString(), rinfo });
      h.server.socket.send(Buffer.from(`echo ${m}`), rinfo.port, rinfo.address);
    });
    const client = await connectPsk(h.port);
    const replies: string[] = [];
    client.on('message', (m: Buffer) => replies.push(m.toString()));
    try {
      client.send(Buffer.from('one'));
      client.send(Buffer.from('two'));
      await waitFor(() => replies.length === 2, 3000, 'two replies');
      assert.deepEqual(replies.sort(), ['echo one', 'echo two']);
      assert.equal(h.sessions.length, 1);
      assert.equal(h.sessions[0]!.dtls.pskIdentity, PSK_IDENTITY);
      assert.equal(h.sessions[0]!.dtls.cipher, 'PSK-AES128-CCM8');
      assert.equal(h.sessions[0]!.dtls.version, 'DTLSv1.2');
      const rinfo = seen[0]!.rinfo;
      assert.equal(rinfo.address, '127.0.0.1');
      assert.equal(rinfo.family, 'IPv4');
      assert.equal(rinfo.size, 3);
      assert.equal(rinfo.dtls.pskIdentity, PSK_IDENTITY);
      assert.equal(h.server.getSession('127.0.0.1', rinfo.port)?.dtls.pskIdentity, PSK_IDENTITY);
      assert.deepEqual(h.server.stats(), { sessions: 1, handshakes: 0, helloVerifyRequests: 1 });
    } finally {
      client.close();
      await waitFor(() => h.closed.length === 1, 3000, 'close_notify');
      assert.equal(h.closed[0]!.reason, 'closed-by-peer');
      await h.close();
    }
  });

  it('creates no session when the client holds a wrong key', async () => {
    const h = await startServer({ handshakeTimeoutMs: 600 });
    try {
      await assert.rejects(connectPsk(h.port, PSK_IDENTITY, Buffer.from('not the right key'), { timeoutMs: 1000 }));
      await waitFor(() => h.dropped.some((d) => d.reason === 'handshake-timeout'), 3000, 'handshake-timeout');
      assert.equal(h.sessions.length, 0);
      assert.deepEqual({ ...h.server.stats(), helloVerifyRequests: 0 }, { sessions: 0, handshakes: 0, helloVerifyRequests: 0 });
    } finally {
      await h.close();
    }
  });

  it('fails the handshake of an unknown identity with an unknown_psk_identity alert', async () => {
    const h = await startServer();
    try {
      await assert.rejects(connectPsk(h.port, 'urn:imei:000000000000000', PSK_KEY, { timeoutMs: 1000 }), /unknown_psk_identity/);
      await waitFor(() => h.dropped.length > 0, 3000, 'dropped');
      assert.equal(h.dropped[0]!.reason, 'unknown-psk-identity');
      // OpenSSL's own reason travels with the drop (the addon's lastError()).
      assert.match(h.dropped[0]!.detail ?? '', /psk identity not found/i);
      assert.equal(h.sessions.length, 0);
      assert.equal(h.server.stats().sessions, 0);
      assert.equal(h.server.stats().handshakes, 0);
    } finally {
      await h.close();
    }
  });

  it('reports psk-lookup-failed when the PSK lookup throws, and keeps serving', async () => {
    const h = await startServer({
      pskLookup: (id) => {
        if (id === 'boom') throw new Error('store down');
        return id === PSK_IDENTITY ? PSK_KEY : undefined;
      },
    });
    try {
      await assert.rejects(connectPsk(h.port, 'boom', PSK_KEY, { timeoutMs: 1000 }));
      await waitFor(() => h.dropped.length > 0, 3000, 'dropped');
      assert.equal(h.dropped[0]!.reason, 'psk-lookup-failed');
      const ok = await connectPsk(h.port);
      ok.close();
      assert.equal(h.sessions.length, 1);
    } finally {
      await h.close();
    }
  });
});

describe('DtlsSocket', () => {
  it('is a dgram.Socket that reports the server address and refuses to bind', async () => {
    const h = await startServer();
    try {
      assert.ok(h.server.socket instanceof dgram.Socket);
      assert.equal(h.server.socket.address().port, h.port);
      assert.throws(() => h.server.socket.bind(), { code: 'EIM_ERR_DTLS' });
    } finally {
      await h.close();
    }
  });

  it('accepts the offset/length form and the address-less form used by node-coap error replies', async () => {
    const h = await startServer();
    let port = 0;
    h.server.socket.on('message', (_m: Buffer, rinfo: SecureRemoteInfo) => {
      port = rinfo.port;
      const reply = Buffer.from('xxhelloxx');
      h.server.socket.send(reply, 2, 5, rinfo.port, rinfo.address);
      h.server.socket.send(Buffer.from('no address'), 0, 10, rinfo.port);
    });
    const client = await connectPsk(h.port);
    const replies: string[] = [];
    client.on('message', (m: Buffer) => replies.push(m.toString()));
    try {
      client.send(Buffer.from('hi'));
      await waitFor(() => replies.length === 2, 3000, 'two replies');
      assert.deepEqual(replies.sort(), ['hello', 'no address']);
      const error = await new Promise<Error | null>((r) => h.server.socket.send(Buffer.from('x'), port + 1, '127.0.0.1', r));
      assert.equal((error as { code?: string }).code, 'EIM_ERR_DTLS');
    } finally {
      client.close();
      await h.close();
    }
  });

  it('passes a send to its backend and reports a malformed call through the callback', async () => {
    const sent: { data: string; port: number; address: string | undefined }[] = [];
    const socket = new DtlsSocket({
      sendPlaintext: (data, port, address, cb) => {
        sent.push({ data: Buffer.from(data).toString(), port, address });
        cb?.(null, data.length);
      },
      address: () => ({ address: '127.0.0.1', family: 'IPv4', port: 5684 }),
    });
    socket.send('abc', 7000, '10.0.0.1');
    socket.send([Buffer.from('a'), 'b'], 7001);
    const error = await new Promise<Error | null>((r) => socket.send('x', r as () => void));
    assert.deepEqual(sent, [
      { data: 'abc', port: 7000, address: '10.0.0.1' },
      { data: 'ab', port: 7001, address: undefined },
    ]);
    assert.equal((error as { code?: string }).code, 'EIM_ERR_DTLS');
    socket.close();
  });

  it('rejects a server with neither PSK lookup nor certificate', () => {
    assert.throws(() => new DtlsServer({ port: 0 }), { code: 'EIM_ERR_INVALID_ARGUMENT' });
  });
});
