/**
 * End-to-end stack for profile download over LwM2M (SGP.32 v1.2 §3.2.3 direct and indirect download,
 * §3.2.3.2 the eIM as ES9+' relay): an EimCore on a temp SQLite store (test/eim/harness.ts), the ESipa
 * handler with the Es9PlusDownloadRelay, an Es9PlusClient trusting the test CI (the SM-DP+'s TLS root), the
 * NotificationForwarder, a TestSmdp on https://127.0.0.1, and a real Lwm2mServer behind the DTLS server
 * (coaps:// with a PSK table) with the object 3443 EsimBridge whose EsipaPort calls
 * `esipa.handle(message, {eid})`. Devices: SimDevice (direct download by the Ipa) or IpaDownloadDevice
 * (indirect download through the relay, lwm2m-ipa-device.ts).
 */
import { EventEmitter } from 'node:events';
import { AddInitialEimResponse } from '../../src/asn1/eim-configuration.js';
import { decode } from '../../src/asn1/schema.js';
import { addInitialEimRequest } from '../../src/eim/identity.js';
import { Es9PlusDownloadRelay } from '../../src/esipa/download-es9plus-relay.js';
import { NotificationForwarder } from '../../src/esipa/download-notification-forwarder.js';
import { Es9PlusClient } from '../../src/esipa/es9plus-client.js';
import { EsipaHandler } from '../../src/esipa/esipa-handler.js';
import { EsimBridge, type EsipaPort } from '../../src/lwm2m/esim-bridge.js';
import { Lwm2mServer } from '../../src/lwm2m/server.js';
import { DtlsServer } from '../../src/lwm2m/transport/dtls-server.js';
import { SimDevice, type SimDeviceOptions } from '../../src/sim/device.js';
import { VirtualEuicc } from '../../src/sim/euicc/euicc.js';
import { FIXTURE_ICCIDS } from '../../src/sim/euicc/test-eim.js';
import { createSmdpCertificates, type SmdpCertificates } from '../../src/sim/smdp/smdp-pki.js';
import { TestSmdp } from '../../src/sim/smdp/smdp-server.js';
import { harness, type Harness } from '../eim/harness.js';
import { IpaDownloadDevice, type IpaDownloadDeviceOptions } from './lwm2m-ipa-device.js';

export const SMDP_OID = '2.999.10.7';
/** The ~20 KB profile of the indirect download (its BPP is a little larger). */
export const BIG = { matchingId: 'MATCH-20K', iccid: '8944000000000000011', size: 20_000 } as const;
export const SMALL = { matchingId: 'MATCH-2K', iccid: '8944000000000000029' } as const;
/** Retransmission timing for a lossless loopback; block size and everything else stay the server's defaults. */
export const FAST_COAP = { ackTimeoutMs: 100, maxRetransmit: 2, exchangeTimeoutMs: 5000 } as const;
/**
 * The devices wait longer for ACKs: on a loaded test machine a 100 ms ACK timeout makes them retransmit
 * CON notifications, and the server hands a retransmitted notification up twice (see the todo test in
 * lwm2m-download.test.ts), which would turn one relay request into two ES9+ calls.
 */
export const DEVICE_COAP = { ackTimeoutMs: 1000, maxRetransmit: 4, exchangeTimeoutMs: 20_000 } as const;

let certs: SmdpCertificates | undefined;

export interface DownloadStack {
  readonly eim: Harness;
  readonly smdp: TestSmdp;
  readonly es9: Es9PlusClient;
  readonly forwarder: NotificationForwarder;
  readonly relay: Es9PlusDownloadRelay;
  readonly esipa: EsipaHandler;
  readonly server: Lwm2mServer;
  readonly bridge: EsimBridge;
  /** 'handled' (eid, message, outcomeKind) after each IPA message went through the ESipa layer. */
  readonly handled: EventEmitter;
  readonly port: number;
  /** A card for `eid` with two fixture profiles, associated with the eIM and registered in the core. */
  card(eid: string, endpoint?: string): Promise<VirtualEuicc>;
  /** A device whose IPA runs indirect downloads through the eIM over object 3443. */
  ipaDevice(eid: string, options?: Partial<IpaDownloadDeviceOptions>): Promise<IpaDownloadDevice>;
  /** The simulator's SimDevice (its Ipa runs the direct download). */
  simDevice(eid: string, options?: Partial<SimDeviceOptions>): Promise<SimDevice>;
  close(): Promise<void>;
}

export interface DownloadStackOptions {
  /** Server awake window after each uplink, ms (default: the server's own, 93 s). */
  readonly awakeTimeMs?: number;
  /** Server deadline for one downlink exchange, ms (default 10 s). */
  readonly requestTimeoutMs?: number;
  /** ES9+ request timeout, ms (default 3000). */
  readonly es9TimeoutMs?: number;
}

export async function startDownloadStack(options: DownloadStackOptions = {}): Promise<DownloadStack> {
  const eim = await harness({ register: false });
  certs ??= createSmdpCertificates({ ci: eim.pki.ci, smdpOid: SMDP_OID });
  const smdp = new TestSmdp({ certificates: certs, ci: eim.pki.ci, profiles: [BIG, SMALL] });
  await smdp.start();
  const es9 = new Es9PlusClient({ ca: [eim.pki.ci.certificate], timeoutMs: options.es9TimeoutMs ?? 3000 });
  const forwarder = new NotificationForwarder({ store: eim.store, client: es9, now: () => eim.clock.now });
  const relay = new Es9PlusDownloadRelay({ core: eim.core, store: eim.store, client: es9, forwarder, now: () => eim.clock.now });
  const esipa = new EsipaHandler({ core: eim.core, relay });

  const psks = new Map<string, Uint8Array>();
  const dtls = new DtlsServer({ host: '127.0.0.1', port: 0, pskLookup: (id) => psks.get(id) });
  const port = (await dtls.listen()).port;
  const identityOf = (v: string | Uint8Array | undefined): string | undefined => (v === undefined ? undefined : typeof v === 'string' ? v : Buffer.from(v).toString('utf8'));
  const server = new Lwm2mServer({
    socket: dtls.socket,
    coap: FAST_COAP,
    requestTimeoutMs: options.requestTimeoutMs ?? 10_000,
    ...(options.awakeTimeMs !== undefined ? { awakeTimeMs: options.awakeTimeMs } : {}),
    authorize: (endpoint, info) => identityOf(info?.pskIdentity) === endpoint,
  });
  const handled = new EventEmitter();
  const port3443: EsipaPort = {
    async handleIpaMessage(eid, message) {
      const outcome = await esipa.handle(message, eid === '' ? {} : { eid });
      handled.emit('handled', eid, message, outcome.kind);
      return outcome.kind === 'response' ? outcome.der : undefined;
    },
  };
  const bridge = new EsimBridge({ server, esipa: port3443 });
  const devices: { stop(): Promise<void> }[] = [];

  const card = async (eid: string, endpoint = `urn:eid:${eid}`): Promise<VirtualEuicc> => {
    const c = VirtualEuicc.fromPki(eim.pki, eid, { profiles: [{ iccid: FIXTURE_ICCIDS[0], state: 'enabled' }, { iccid: FIXTURE_ICCIDS[1] }] });
    const answer = decode(AddInitialEimResponse, c.addInitialEim(addInitialEimRequest(eim.identity)));
    if (!('addInitialEimOk' in answer)) throw new Error('AddInitialEim refused');
    const item = answer.addInitialEimOk[0]!;
    await eim.core.registerEuicc({
      eid, endpoint, euiccCertificate: c.euiccCertificate, eumCertificate: c.eumCertificate,
      ...('associationToken' in item ? { associationToken: item.associationToken } : {}),
    });
    psks.set(endpoint, Buffer.from(eid.slice(-16), 'hex'));
    return c;
  };

  return {
    eim, smdp, es9, forwarder, relay, esipa, server, bridge, handled, port, card,
    async ipaDevice(eid, o = {}) {
      const endpoint = o.endpoint ?? `urn:eid:${eid}`;
      const euicc = o.euicc ?? (await card(eid, endpoint));
      const device = await IpaDownloadDevice.create({
        endpoint, eid, euicc, server: { address: '127.0.0.1', port }, coap: DEVICE_COAP,
        security: { kind: 'psk', identity: endpoint, key: psks.get(endpoint)! },
        trust: { ciCertificates: [eim.pki.ci.certificate] },
        ...o,
      });
      devices.push(device);
      return device;
    },
    async simDevice(eid, o = {}) {
      const endpoint = o.endpoint ?? `urn:eid:${eid}`;
      const euicc = await card(eid, endpoint);
      const device = await SimDevice.create({
        endpoint, eid, server: { address: '127.0.0.1', port }, localAddress: '127.0.0.1', euicc, coap: DEVICE_COAP, lifetime: 300,
        security: { kind: 'psk', identity: endpoint, key: psks.get(endpoint)! },
        ...o,
      });
      devices.push(device);
      return device;
    },
    async close() {
      for (const d of devices) await d.stop();
      bridge.close();
      server.close();
      await dtls.close();
      await forwarder.stop();
      es9.close();
      await smdp.stop();
      await eim.close();
    },
  };
}

/** Waits until `condition` holds, polling every 10 ms, up to `ms`. */
export async function until(condition: () => boolean | Promise<boolean>, ms = 5000, what = 'condition'): Promise<void> {
  const end = Date.now() + ms;
  while (!(await condition())) {
    if (Date.now() > end) throw new Error(`${what} not reached within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
