/**
 * Fixture for the indirect-download tests: the eIM core (test/eim harness), a test SM-DP+ on 127.0.0.1
 * with certificates under the test CI, the ES9+ client trusting that CI, the relay with its notification
 * outbox, the ESipa handler, and a virtual eUICC driven by the IPA download driver.
 */
import { EsipaMessageFromIpaToEim, GetEimPackageResponse } from '../../src/asn1/esipa.js';
import type { ProfileDownloadTriggerRequest } from '../../src/asn1/ipa-euicc-data.js';
import { decode } from '../../src/asn1/schema.js';
import { Es9PlusDownloadRelay } from '../../src/esipa/download-es9plus-relay.js';
import { NotificationForwarder } from '../../src/esipa/download-notification-forwarder.js';
import { Es9PlusClient } from '../../src/esipa/es9plus-client.js';
import { EsipaHandler } from '../../src/esipa/esipa-handler.js';
import { VirtualEuicc } from '../../src/sim/euicc/euicc.js';
import { type IndirectDownloadOptions, type IndirectDownloadResult, runIndirectDownload } from '../../src/sim/ipa-download.js';
import { createSmdpCertificates, type SmdpCertificates } from '../../src/sim/smdp/smdp-pki.js';
import { TestSmdp } from '../../src/sim/smdp/smdp-server.js';
import { EID, harness, type Harness } from '../eim/harness.js';

export const SMDP_OID = '2.999.10.7';

let certs: SmdpCertificates | undefined;

export interface DownloadFixture {
  readonly h: Harness;
  readonly smdp: TestSmdp;
  readonly client: Es9PlusClient;
  readonly relay: Es9PlusDownloadRelay;
  readonly forwarder: NotificationForwarder;
  readonly esipa: EsipaHandler;
  readonly card: VirtualEuicc;
  /** Submits a download operation, polls it out through ESipa and returns the trigger the IPA got. */
  trigger(activationCode: string): Promise<{ operationId: string; trigger: ProfileDownloadTriggerRequest }>;
  /** Runs the IPA's indirect download through the ESipa handler. */
  download(trigger: ProfileDownloadTriggerRequest, options?: Partial<IndirectDownloadOptions>): Promise<IndirectDownloadResult>;
  close(): Promise<void>;
}

export async function downloadFixture(options: { register?: boolean; timeoutMs?: number } = {}): Promise<DownloadFixture> {
  const h = await harness(options.register === false ? { register: false } : {});
  certs ??= createSmdpCertificates({ ci: h.pki.ci, smdpOid: SMDP_OID });
  const smdp = new TestSmdp({
    certificates: certs,
    ci: h.pki.ci,
    profiles: [
      { matchingId: 'MATCH-1', iccid: '8944000000000000011', size: 20_000 },
      { matchingId: 'MATCH-2', iccid: '8944000000000000029' },
    ],
  });
  await smdp.start();
  const client = new Es9PlusClient({ ca: [h.pki.ci.certificate], timeoutMs: options.timeoutMs ?? 3000 });
  const forwarder = new NotificationForwarder({ store: h.store, client, now: () => h.clock.now });
  const relay = new Es9PlusDownloadRelay({ core: h.core, store: h.store, client, forwarder, now: () => h.clock.now });
  const esipa = new EsipaHandler({ core: h.core, relay });
  const card = VirtualEuicc.fromPki(h.pki, EID);
  const send = async (der: Uint8Array): Promise<Uint8Array | undefined> => {
    const o = await esipa.handle(der, { eid: EID });
    return o.kind === 'response' ? o.der : undefined;
  };
  return {
    h,
    smdp,
    client,
    relay,
    forwarder,
    esipa,
    card,
    async trigger(activationCode) {
      const op = await h.core.submit(EID, { kind: 'download', activationCode });
      const out = await esipa.handle(EsipaMessageFromIpaToEim.encode({ getEimPackageRequest: { eidValue: EID } }), { eid: EID });
      if (out.kind !== 'response') throw new Error(`poll answered ${out.kind}`);
      const r = decode(GetEimPackageResponse, out.der);
      if (!('profileDownloadTriggerRequest' in r)) throw new Error(`expected a download trigger, got ${Object.keys(r).join()}`);
      return { operationId: op.id, trigger: r.profileDownloadTriggerRequest };
    },
    download(trigger, more = {}) {
      return runIndirectDownload(trigger, { euicc: card, send, trust: { ciCertificates: [h.pki.ci.certificate] }, ...more });
    },
    async close() {
      await forwarder.stop();
      client.close();
      await smdp.stop();
      await h.close();
    },
  };
}
