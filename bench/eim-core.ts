/**
 * Issue 3 benchmark: eIM packages built, signed and committed per second against raw node:crypto P-256
 * signatures per second, and eUICC results decoded, verified and applied per second against raw
 * verifications per second, side by side in one run (target: at least 80% of each raw rate).
 * The store is a real SQLite file (WAL); eUICCs are served concurrently as a fleet would be. Signing and
 * verification run on a CryptoPool (worker threads), as the server is meant to be configured, so the core and
 * its store have the main thread to themselves; the raw rates are single-threaded node:crypto calls.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { EuiccPackageRequest, EuiccPackageResult, EuiccPackageResultDataSigned } from '../src/asn1/euicc-package.js';
import { eidWithCheckDigits } from '../src/asn1/identifiers.js';
import { decode, integer } from '../src/asn1/schema.js';
import { concat } from '../src/asn1/tlv.js';
import { CryptoPool } from '../src/crypto/crypto-pool.js';
import { signEcdsa } from '../src/crypto/ecdsa.js';
import { FileSigner } from '../src/crypto/file-signer.js';
import { generateKeyPair, privateKeyToPem } from '../src/crypto/keys.js';
import { TrustedCis } from '../src/crypto/pki.js';
import { EimCore } from '../src/eim/eim-core.js';
import { createTestPki } from '../src/sim/pki.js';
import { SqliteStore } from '../src/store/sqlite/sqlite-store.js';
import { rawSignRate, rawVerifyRate } from './crypto.js';
import { profiler, threadCpu, threadCpuSince } from './fixtures/profiler.js';
import { measureStoreFloor, type StoreFloor } from './fixtures/store-floor.js';

export interface CoreBench {
  readonly rawSign: number;
  readonly packages: number;
  /** CPU time of the whole process (every thread) per package / per result, us. */
  readonly packageCpuMicros: number;
  readonly resultCpuMicros: number;
  readonly rawVerify: number;
  readonly results: number;
  /** The SQLite statements alone (store-floor.ts), us per package / per result. */
  readonly floor: StoreFloor;
}

const BATCH = 256;

async function inBatches<T>(items: readonly T[], fn: (item: T) => Promise<unknown>): Promise<void> {
  for (let i = 0; i < items.length; i += BATCH) await Promise.all(items.slice(i, i + BATCH).map(fn));
}

export async function benchEimCore(options: { devices?: number; rounds?: number; threads?: number } = {}): Promise<CoreBench> {
  const devices = options.devices ?? 2000;
  const rounds = options.rounds ?? 2;
  const dir = mkdtempSync(join(tmpdir(), 'eim-bench-'));
  const eids = Array.from({ length: devices }, (_, i) => eidWithCheckDigits(`8904903200000000000${String(i).padStart(11, '0')}`));
  const pki = createTestPki({ eids });
  const store = SqliteStore.open({ path: join(dir, 'eim.db') });
  // threads: 0 signs and verifies on the main thread (no pool), to see the core's own cost.
  const pool = options.threads === 0 ? undefined : new CryptoPool(options.threads !== undefined ? { threads: options.threads } : {});
  const signer = FileSigner.fromPem(privateKeyToPem(generateKeyPair('P-256').privateKey), undefined, pool ? { pool } : {});
  const core = new EimCore({ store, identity: { eimId: 'eim.bench', signer, supportedProtocols: [], indirectProfileDownload: false }, trustedCis: new TrustedCis([pki.ci.certificate]), ...(pool ? { cryptoPool: pool } : {}) });
  const token = integer(0x84).encode(0);
  try {
    await inBatches(eids, (eid) => core.registerEuicc({ eid, euiccCertificate: pki.euiccs.get(eid)!.certificate, eumCertificate: pki.eum.certificate }));
    let packageSeconds = 0;
    let resultSeconds = 0;
    let packageCpu = 0;
    let resultCpu = 0;
    let count = 0;
    const prof = profiler();
    for (let round = 0; round < rounds; round++) {
      await inBatches(eids, (eid) => core.submit(eid, { kind: 'enable', iccid: '8944000000000000001' }));
      // Timed: build, sign, commit.
      const issued = new Map<string, Uint8Array>();
      let t = process.hrtime.bigint();
      let cpu = process.cpuUsage();
      let threads = threadCpu();
      if (round === rounds - 1) await prof.start();
      await inBatches(eids, async (eid) => issued.set(eid, (await core.nextPackage(eid))!.der));
      if (round === rounds - 1) await prof.stop('core-packages');
      packageSeconds += Number(process.hrtime.bigint() - t) / 1e9;
      cpu = process.cpuUsage(cpu);
      packageCpu += cpu.user + cpu.system;
      if (process.env['EIM_BENCH_THREADS_CPU']) console.log('packages', threadCpuSince(threads).map(([k, v]) => `${k}: ${(v / devices).toFixed(1)} us`).join(', '));
      // What each eUICC answers (not timed: that is the device's work).
      const answers = eids.map((eid, i) => {
        const s = decode(EuiccPackageRequest, issued.get(eid)!).euiccPackageSigned;
        const data = { eimId: s.eimId, counterValue: s.counterValue, eimTransactionId: s.eimTransactionId!, seqNumber: round * devices + i + 1, euiccResult: [{ enableResult: 'ok' as const }] };
        const sig = signEcdsa(pki.euiccs.get(eid)!.privateKey, concat([EuiccPackageResultDataSigned.encode(data), token]));
        return [eid, EuiccPackageResult.encode({ euiccPackageResultSigned: { euiccPackageResultDataSigned: data, euiccSignEPR: sig } })] as const;
      });
      // Timed: decode, verify, apply.
      t = process.hrtime.bigint();
      cpu = process.cpuUsage();
      threads = threadCpu();
      if (round === rounds - 1) await prof.start();
      await inBatches(answers, async ([eid, der]) => {
        const applied = await core.applyEuiccPackageResult(eid, decode(EuiccPackageResult, der));
        if (applied.state !== 'done') throw new Error('bench: result not applied');
      });
      if (round === rounds - 1) await prof.stop('core-results');
      resultSeconds += Number(process.hrtime.bigint() - t) / 1e9;
      cpu = process.cpuUsage(cpu);
      resultCpu += cpu.user + cpu.system;
      if (process.env['EIM_BENCH_THREADS_CPU']) console.log('results', threadCpuSince(threads).map(([k, v]) => `${k}: ${(v / devices).toFixed(1)} us`).join(', '));
      count += devices;
    }
    return {
      rawSign: rawSignRate('P-256', 1500).perSecond,
      packages: count / packageSeconds,
      packageCpuMicros: packageCpu / count,
      rawVerify: rawVerifyRate('P-256', 1500).perSecond,
      results: count / resultSeconds,
      resultCpuMicros: resultCpu / count,
      floor: await measureStoreFloor(devices),
    };
  } finally {
    await pool?.close();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * What 80% of the raw rate allows per item on this machine's cores (CPU of every thread together), and what is
 * left of it once the raw crypto operation and the SQLite floor (store-floor.ts) are paid.
 */
function budget(item: string, raw: number, crypto: string, floorMicros: number): string {
  const cores = availableParallelism();
  const allowed = (cores * 1e6) / (0.8 * raw);
  const left = allowed - 1e6 / raw - floorMicros;
  return `at 80% on ${cores} cores: ${allowed.toFixed(0)} us of CPU per ${item}; raw ${crypto} ${(1e6 / raw).toFixed(0)} + SQLite floor ${floorMicros.toFixed(0)} leave ${left.toFixed(0)} us for the rest`;
}

export function printCoreBench(b: CoreBench, out: (line: string) => void): void {
  const pct = (a: number, b: number): string => `${((100 * a) / b).toFixed(0)}%`;
  out('eIM core (issue 3)                              per second   ratio   target');
  out(`  raw node:crypto P-256 sign                     ${b.rawSign.toFixed(0).padStart(10)}`);
  out(`  packages built, signed and committed           ${b.packages.toFixed(0).padStart(10)}   ${pct(b.packages, b.rawSign).padStart(5)}   >= 80%`);
  out(`    CPU per package, all threads: ${b.packageCpuMicros.toFixed(0)} us (raw signature ${(1e6 / b.rawSign).toFixed(0)} us)`);
  out(`    ${budget('package', b.rawSign, 'signature', b.floor.packageMicros)}`);
  out(`  raw node:crypto P-256 verify                   ${b.rawVerify.toFixed(0).padStart(10)}`);
  out(`  results decoded, verified and applied          ${b.results.toFixed(0).padStart(10)}   ${pct(b.results, b.rawVerify).padStart(5)}   >= 80%`);
  out(`    CPU per result, all threads: ${b.resultCpuMicros.toFixed(0)} us (raw verification ${(1e6 / b.rawVerify).toFixed(0)} us)`);
  out(`    ${budget('result', b.rawVerify, 'verification', b.floor.resultMicros)}`);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const threads = process.env['EIM_BENCH_THREADS'];
  printCoreBench(await benchEimCore(threads !== undefined ? { threads: Number(threads) } : {}), (l) => process.stdout.write(`${l}\n`));
}
