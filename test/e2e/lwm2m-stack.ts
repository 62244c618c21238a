/**
 * End-to-end stack for simulated devices: a real Lwm2mServer (coap:// on UDP or coaps:// behind the DTLS
 * server with a PSK table), the object 3443 EsimBridge, the EsipaHandler and an EimCore on a temp SQLite
 * store (test/eim/harness.ts), plus the glue a scheduler provides in production: when a device wakes,
 * injection-mode work is pulled with EsipaHandler.nextTransfer and written with EsimBridge.deliver.
 */
import { createSocket, type Socket } from 'node:dgram';
import { EventEmitter } from 'node:events';
import { AddInitialEimResponse } from '../../src/asn1/eim-configuration.js';
import { decode } from '../../src/asn1/schema.js';
import { addInitialEimRequest } from '../../src/eim/identity.js';
import { EsipaHandler } from '../../src/esipa/esipa-handler.js';
import { EsimBridge, type EsipaPort } from '../../src/lwm2m/esim-bridge.js';
import { Lwm2mServer } from '../../src/lwm2m/server.js';
import { DtlsServer } from '../../src/lwm2m/transport/dtls-server.js';
import { SimDevice, type SimDeviceOptions } from '../../src/sim/device.js';
import { VirtualEuicc } from '../../src/sim/euicc/euicc.js';
import { FIXTURE_ICCIDS } from '../../src/sim/euicc/test-eim.js';
import { TrustedCis } from '../../src/crypto/pki.js';
import type { TestPki } from '../../src/sim/pki.js';
import { harness, type Harness } from '../eim/harness.js';

export const FAST_COAP = { ackTimeoutMs: 100, maxRetransmit: 2, exchangeTimeoutMs: 3000 } as const;

export interface Stack {
  readonly eim: Harness;
  readonly server: Lwm2mServer;
  readonly bridge: EsimBridge;
  readonly esipa: EsipaHandler;
  /** 'handled' (eid, message, outcomeKind) after each IPA message went through the ESipa layer. */
  readonly handled: EventEmitter;
  readonly port: number;
  readonly secure: boolean;
  /** PSK table of the DTLS server (identity -> key). */
  readonly psks: Map<string, Uint8Array>;
  /** Builds a device whose card holds two profiles and is associated with the eIM (AddInitialEim). */
  device(eid: string, options?: Partial<SimDeviceOptions>): Promise<SimDevice>;
  close(): Promise<void>;
}

export async function startStack(options: { secure?: boolean; awakeTimeMs?: number; inject?: boolean; pki?: TestPki; dtlsIdleTimeoutMs?: number } = {}): Promise<Stack> {
  const eim = await harness({ register: false, ...(options.pki !== undefined ? { trustedCis: new TrustedCis([options.pki.ci.certificate]) } : {}) });
  const secure = options.secure === true;
  const psks = new Map<string, Uint8Array>();
  let udp: Socket | undefined;
  let dtls: DtlsServer | undefined;
  let port: number;
  let server: Lwm2mServer;
  const common = { coap: FAST_COAP, requestTimeoutMs: 3000, awakeTimeMs: options.awakeTimeMs ?? 1500 } as const;
  if (secure) {
    dtls = new DtlsServer({ host: '127.0.0.1', port: 0, pskLookup: (id) => psks.get(id), ...(options.dtlsIdleTimeoutMs !== undefined ? { idleTimeoutMs: options.dtlsIdleTimeoutMs } : {}) });
    port = (await dtls.listen()).port;
    const identityOf = (v: string | Uint8Array | undefined): string | undefined => (v === undefined ? undefined : typeof v === 'string' ? v : Buffer.from(v).toString('utf8'));
    server = new Lwm2mServer({ socket: dtls.socket, ...common, authorize: (endpoint, info) => identityOf(info?.pskIdentity) === endpoint });
  } else {
    udp = createSocket('udp4');
    await new Promise<void>((resolve) => udp!.bind(0, '127.0.0.1', () => resolve()));
    port = udp.address().port;
    server = new Lwm2mServer({ socket: udp, ...common });
  }
  const esipa = new EsipaHandler({ core: eim.core });
  const handled = new EventEmitter();
  const port3443: EsipaPort = {
    async handleIpaMessage(eid, message) {
      const outcome = await esipa.handle(message, eid === '' ? {} : { eid });
      handled.emit('handled', eid, message, outcome.kind);
      return outcome.kind === 'response' ? outcome.der : undefined;
    },
  };
  const bridge = new EsimBridge({ server, esipa: port3443 });
  if (options.inject !== false) injectOnWake(bridge, esipa, handled);
  const devices: SimDevice[] = [];
  return {
    eim, server, bridge, esipa, handled, port, secure, psks,
    async device(eid, o = {}) {
      const card = VirtualEuicc.fromPki(eim.pki, eid, { profiles: [{ iccid: FIXTURE_ICCIDS[0], state: 'enabled' }, { iccid: FIXTURE_ICCIDS[1] }] });
      const answer = decode(AddInitialEimResponse, card.addInitialEim(addInitialEimRequest(eim.identity)));
      if (!('addInitialEimOk' in answer)) throw new Error('AddInitialEim refused');
      const item = answer.addInitialEimOk[0]!;
      const endpoint = o.endpoint ?? `urn:eid:${eid}`;
      await eim.core.registerEuicc({
        eid, endpoint, euiccCertificate: card.euiccCertificate, eumCertificate: card.eumCertificate,
        ...('associationToken' in item ? { associationToken: item.associationToken } : {}),
      });
      const key = Buffer.from(eid.slice(-16), 'hex');
      if (secure) psks.set(endpoint, key);
      const device = await SimDevice.create({
        endpoint, eid, server: { address: '127.0.0.1', port }, localAddress: '127.0.0.1', euicc: card, coap: FAST_COAP, lifetime: 300,
        security: secure ? { kind: 'psk', identity: endpoint, key } : { kind: 'nosec' },
        ...o,
      });
      devices.push(device);
      return device;
    },
    async close() {
      for (const d of devices) await d.stop();
      bridge.close();
      server.close();
      if (udp) await new Promise<void>((resolve) => udp!.close(() => resolve()));
      if (dtls) await dtls.close();
      await eim.close();
    },
  };
}

/** The scheduler's part in injection mode: on every wake of a bound device, deliver what the eIM has for it. */
function injectOnWake(bridge: EsimBridge, esipa: EsipaHandler, handled: EventEmitter): void {
  const running = new Set<string>();
  const drive = async (eid: string): Promise<void> => {
    if (running.has(eid)) return;
    running.add(eid);
    try {
      for (let i = 0; i < 10; i++) {
        const der = await esipa.nextTransfer(eid);
        if (der === undefined) break;
        const answered = new Promise<void>((resolve) => {
          const timer = setTimeout(done, 5000);
          function done(): void {
            clearTimeout(timer);
            handled.removeListener('handled', listener);
            resolve();
          }
          function listener(e: string): void {
            if (e === eid) done();
          }
          handled.on('handled', listener);
        });
        const outcome = await bridge.deliver(eid, der);
        if (!outcome.delivered) break;
        await answered;
      }
    } finally {
      running.delete(eid);
    }
  };
  // After close the store is gone: a drive still running then fails, which is of no interest here.
  bridge.on('bound', (_endpoint: string, eid: string) => void drive(eid).catch(() => undefined));
  bridge.on('awake', (endpoint: string) => {
    const eid = bridge.eidOf(endpoint);
    if (eid !== undefined) void drive(eid).catch(() => undefined);
  });
}

/** Waits until `condition` holds, polling every 10 ms, up to `ms`. */
export async function until(condition: () => boolean | Promise<boolean>, ms = 5000, what = 'condition'): Promise<void> {
  const end = Date.now() + ms;
  while (!(await condition())) {
    if (Date.now() > end) throw new Error(`${what} not reached within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
