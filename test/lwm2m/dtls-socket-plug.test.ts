import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import type { DatagramInfo, DatagramSocket } from '../../src/lwm2m/coap/socket.js';
import { EsimBridge } from '../../src/lwm2m/esim-bridge.js';
import { Lwm2mServer } from '../../src/lwm2m/server.js';
import type { SecureDatagramBackend } from '../../src/lwm2m/transport/contract.js';
import { DtlsSocket } from '../../src/lwm2m/transport/dtls-socket.js';
import { Lwm2mClient } from '../../src/sim/lwm2m-client.js';
import { FAST_COAP, nextEvent } from './harness.js';

const EID = '89049032123451234512345678901235';

/** A device-side socket whose datagrams reach the server's DtlsSocket as if decrypted by a PSK session. */
class DeviceSocket extends EventEmitter implements DatagramSocket {
  constructor(readonly port: number, readonly identity: string, readonly server: () => DtlsSocket) {
    super();
  }
  send(message: Uint8Array, _port: number, _address: string, callback?: (error: Error | null) => void): void {
    const rinfo = { address: '192.0.2.7', port: this.port, family: 'IPv4' as const, size: message.length, dtls: { pskIdentity: this.identity, cipher: 'PSK-AES128-CCM8', version: 'DTLSv1.2' } };
    setImmediate(() => this.server().deliver(Buffer.from(message), rinfo));
    callback?.(null);
  }
}

describe('the LwM2M server over the DTLS socket contract', () => {
  it('runs unchanged on a DtlsSocket: identity-bound Register, EID read, and an injected eIM message', async () => {
    const devices = new Map<number, DeviceSocket>();
    const backend: SecureDatagramBackend = {
      sendPlaintext(data, port, _address, callback) {
        const device = devices.get(port);
        if (device) setImmediate(() => device.emit('message', Buffer.from(data), { address: '198.51.100.1', port: 5684 } satisfies DatagramInfo));
        callback?.(null, data.length);
      },
      address: () => ({ address: '198.51.100.1', family: 'IPv4', port: 5684 }),
    };
    const socket = new DtlsSocket(backend);
    const server = new Lwm2mServer({ socket, coap: FAST_COAP, authorize: (endpoint, dtls) => dtls?.pskIdentity === `psk-${endpoint}` });
    const bridge = new EsimBridge({ server, esipa: { handleIpaMessage: async () => undefined } });
    const honest = new DeviceSocket(40001, 'psk-dev-1', () => socket);
    const impostor = new DeviceSocket(40002, 'psk-dev-2', () => socket);
    devices.set(40001, honest);
    devices.set(40002, impostor);
    const target = { address: '198.51.100.1', port: 5684 };
    const a = await Lwm2mClient.create({ endpoint: 'dev-1', server: target, socket: honest, coap: FAST_COAP, eid: EID });
    const b = await Lwm2mClient.create({ endpoint: 'dev-1', server: target, socket: impostor, coap: FAST_COAP });
    try {
      const bound = nextEvent<[string, string]>(bridge, 'bound');
      await a.register();
      assert.deepEqual(await bound, ['dev-1', EID]);
      assert.equal(server.registrations.getByEndpoint('dev-1')!.identity, 'psk-dev-1');
      await assert.rejects(b.register(), /4\.03/);
      assert.deepEqual(await bridge.deliver(EID, Uint8Array.of(0xbf, 0x4e, 0x00)), { delivered: true });
      assert.deepEqual([...a.eimMessages[0]!], [0xbf, 0x4e, 0x00]);
    } finally {
      await a.close();
      await b.close();
      bridge.close();
      server.close();
      socket.close();
    }
  });
});
