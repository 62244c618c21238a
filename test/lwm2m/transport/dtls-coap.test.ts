/**
 * node-coap over the DtlsSocket (RFC 7252 coaps, LwM2M 1.1 Transport §6): a Server and an Agent share one
 * socket, so a device's uplink request is answered and a server-initiated request reaches the same device
 * through its DTLS session. The device is node-dtls-client speaking hand-built CoAP (RFC 7252 §3).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import coap from 'coap';
import type { SecureRemoteInfo } from '../../../src/lwm2m/transport/contract.js';
import { connectPsk, PSK_IDENTITY, startServer, waitFor } from './dtls-harness.js';

/** CON POST /rd with token 0xaa and message ID 0x1234. */
const REGISTER = Buffer.from([0x41, 0x02, 0x12, 0x34, 0xaa, 0xb2, 0x72, 0x64, 0xff, ...Buffer.from('</3/0>')]);

/** A piggybacked 2.05 ACK for a CoAP request (same message ID and token). */
function ack205(request: Buffer, payload: string): Buffer {
  const tkl = request[0]! & 0x0f;
  return Buffer.concat([Buffer.from([0x60 | tkl, 0x45, request[2]!, request[3]!]), request.subarray(4, 4 + tkl), Buffer.from([0xff]), Buffer.from(payload)]);
}

describe('node-coap over DtlsSocket', () => {
  it('answers a device request and reaches the device with an Agent request on the same socket', async () => {
    const h = await startServer();
    const server = coap.createServer();
    const agent = new coap.Agent({ socket: h.server.socket });
    const identities: string[] = [];
    server.on('request', (req, res) => {
      identities.push((req.rsinfo as unknown as SecureRemoteInfo).dtls.pskIdentity ?? '');
      res.code = '2.01';
      res.end();
    });
    await new Promise<void>((r) => server.listen(h.server.socket, () => r()));
    const device = await connectPsk(h.port);
    const fromServer: Buffer[] = [];
    device.on('message', (m: Buffer) => {
      fromServer.push(m);
      if ((m[0]! & 0x30) === 0x00 && m[1] === 0x01) device.send(ack205(m, 'device says hi')); // CON GET
    });
    try {
      device.send(REGISTER);
      await waitFor(() => fromServer.length === 1, 3000, 'register response');
      assert.equal(fromServer[0]![1], 0x41, '2.01 Created');
      assert.equal(fromServer[0]![4], 0xaa, 'token echoed');
      assert.deepEqual(identities, [PSK_IDENTITY]);

      const session = h.sessions[0]!;
      const payload = await new Promise<string>((resolve, reject) => {
        const req = coap.request({ hostname: session.address, port: session.port, pathname: '/3/0', method: 'GET', agent });
        req.on('response', (res) => resolve(res.payload.toString()));
        req.on('error', reject);
        req.end();
      });
      assert.equal(payload, 'device says hi');
    } finally {
      device.close();
      await new Promise<void>((r) => server.close(() => r()));
      await h.close();
    }
  });
});
