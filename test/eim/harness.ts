/**
 * Test harness for the eIM core: a temp-file SqliteStore, a test PKI (CI, EUM, eUICCs), a file signer, a
 * controllable clock, and a minimal eUICC answerer that signs results the way the spec says, so the core's
 * verification is exercised against independently built bytes.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EuiccPackageRequest, EuiccPackageResult, EuiccPackageResultDataSigned, EuiccPackageErrorDataSigned, type EuiccResultData } from '../../src/asn1/euicc-package.js';
import { eidWithCheckDigits } from '../../src/asn1/identifiers.js';
import { decode } from '../../src/asn1/schema.js';
import { concat } from '../../src/asn1/tlv.js';
import { signEcdsa } from '../../src/crypto/ecdsa.js';
import { FileSigner } from '../../src/crypto/file-signer.js';
import { generateKeyPair, privateKeyToPem } from '../../src/crypto/keys.js';
import { TrustedCis } from '../../src/crypto/pki.js';
import { EimCore, type EimCoreOptions } from '../../src/eim/eim-core.js';
import type { EimEvent } from '../../src/eim/events.js';
import type { EimIdentity } from '../../src/eim/identity.js';
import { integer } from '../../src/asn1/schema.js';
import { createTestPki, type TestPki } from '../../src/sim/pki.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';

export const EIDS = [eidWithCheckDigits('890490321234512345123456789012'), eidWithCheckDigits('890490321234512345123456789013'), eidWithCheckDigits('890490321234512345123456789014')];
export const EID = EIDS[0]!;

let cachedPki: TestPki | undefined;
/** One PKI per test process: key generation is the slow part. */
export function testPki(): TestPki {
  cachedPki ??= createTestPki({ eids: EIDS });
  return cachedPki;
}

export interface Harness {
  readonly core: EimCore;
  readonly store: SqliteStore;
  readonly identity: EimIdentity;
  readonly pki: TestPki;
  readonly events: EimEvent[];
  readonly clock: { now: number };
  readonly dir: string;
  close(): Promise<void>;
}

export async function harness(options: Partial<EimCoreOptions> & { register?: boolean; dbPath?: string } = {}): Promise<Harness> {
  const dir = mkdtempSync(join(tmpdir(), 'eim-core-'));
  const store = await SqliteStore.open({ path: options.dbPath ?? join(dir, 'eim.db') });
  const pki = testPki();
  const signer = FileSigner.fromPem(privateKeyToPem(generateKeyPair('P-256').privateKey));
  const identity: EimIdentity = { eimId: 'eim.test', eimFqdn: 'eim.test:5684', signer, supportedProtocols: ['eimRetrieveCoaps', 'eimInjectCoaps'], indirectProfileDownload: false };
  const clock = { now: Date.UTC(2026, 10, 23, 12) };
  const events: EimEvent[] = [];
  const core = new EimCore({ store, identity, trustedCis: new TrustedCis([pki.ci.certificate]), now: () => clock.now, onEvent: (e) => events.push(e), ...options });
  if (options.register !== false) {
    for (const eid of EIDS) await core.registerEuicc({ eid, euiccCertificate: pki.euiccs.get(eid)!.certificate, eumCertificate: pki.eum.certificate });
  }
  return {
    core,
    store,
    identity,
    pki,
    events,
    clock,
    dir,
    async close() {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

const token = integer(0x84);

/** What a minimal, honest eUICC answers: echo eimId/counter/txId, sign data || token TLV with its key. */
export function euiccAnswer(
  pki: TestPki,
  eid: string,
  packageDer: Uint8Array,
  results: EuiccResultData[],
  options: { seqNumber?: number; associationToken?: number; error?: 'replayError' | 'invalidEid' | 'counterValueOutOfRange'; counterValue?: number; key?: 'euicc' | 'eum' } = {},
): Uint8Array {
  const req = decode(EuiccPackageRequest, packageDer);
  const s = req.euiccPackageSigned;
  const key = options.key === 'eum' ? pki.eum.privateKey : pki.euiccs.get(eid)!.privateKey;
  const tokenTlv = token.encode(options.associationToken ?? 0);
  const common = { eimId: s.eimId, counterValue: options.counterValue ?? s.counterValue, ...(s.eimTransactionId ? { eimTransactionId: s.eimTransactionId } : {}) };
  if (options.error !== undefined) {
    const data = { ...common, euiccPackageErrorCode: options.error };
    const der = EuiccPackageErrorDataSigned.encode(data);
    return EuiccPackageResult.encode({ euiccPackageErrorSigned: { euiccPackageErrorDataSigned: data, euiccSignEPE: signEcdsa(key, concat([der, tokenTlv])) } });
  }
  const data = { ...common, seqNumber: options.seqNumber ?? 1, euiccResult: results };
  const der = EuiccPackageResultDataSigned.encode(data);
  return EuiccPackageResult.encode({ euiccPackageResultSigned: { euiccPackageResultDataSigned: data, euiccSignEPR: signEcdsa(key, concat([der, tokenTlv])) } });
}

export function decodeResult(der: Uint8Array): EuiccPackageResult {
  return decode(EuiccPackageResult, der);
}
