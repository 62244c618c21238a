/**
 * Issue 5 benchmark: server CPU (user+sys of the server process) per complete eIM round trip over coaps://
 * (DTLS 1.2 PSK, TLS_PSK_WITH_AES_128_CCM_8): the Write of a signed enable package (TransferEimPackageRequest,
 * SGP.32 ESipa injection) to /3443/0/2, the eUICC's signed EuiccPackageResult back through /3443/0/3, verified
 * and stored. Target <= 250 us per round trip; the floor is one P-256 sign + one verify (bench/crypto.ts).
 *
 * The whole server (startServer) runs in a child process and reports its own process.cpuUsage(); the devices
 * (src/sim SimDevice: LwM2M client + IPA + VirtualEuicc signing with its own key, node-dtls-client PSK) run in
 * another process. eUICCs are registered through the REST API import (certificates, PSKs, association
 * tokens). DTLS handshakes and Register happen before the measurement. Each round queues one enable per
 * device (alternating between two profiles) through the eIM core and waits until the server counts them
 * done (eim_operations_completed_total from /metrics, included in the figure). The wait first asks the device
 * process (no server CPU) until every device has published its result, and only then scrapes /metrics, so a
 * round costs one or two scrapes rather than one per 100 ms: a scrape costs the server about 2 ms when it wakes
 * an otherwise quiet process, i.e. ~100-200 us of each figure when polled every 100 ms.
 * What a round trip costs the server therefore also includes queueing the operation, the device's State
 * notifications, the /3443/0/3 delivery and whatever acknowledgement the eIM sends back.
 */
import { pathToFileURL, fileURLToPath } from 'node:url';
import { fromHex } from '../src/asn1/hex.js';
import { rawSignRate, rawVerifyRate } from './crypto.js';
import { forkTs, median, nextMessage, operationsDone, startServerChild, stopChild, until } from './fixtures/children.js';

export interface RoundTripBench {
  readonly devices: number;
  readonly roundTrips: number;
  /** Server CPU per round trip, per measured round, µs. */
  readonly microsPerRound: readonly number[];
  readonly seconds: number;
  readonly floorMicros: number;
  /** Server CPU while nothing happens (timers, housekeeping), µs per second, and what it adds per round trip. */
  readonly idleMicrosPerSecond: number;
  readonly idleMicrosPerRoundTrip: number;
  /** With EIM_BENCH_COUNT=1: datagrams, CoAP messages and timers per round trip over the measured rounds. */
  readonly countsPerRoundTrip?: Readonly<Record<string, number>>;
}

const PROFILES = ['8944000000000000012', '8944000000000000011'] as const;

export async function benchRoundTrip(options: { devices?: number; rounds?: number; log?: (l: string) => void } = {}): Promise<RoundTripBench> {
  const n = options.devices ?? 100;
  const rounds = options.rounds ?? 5;
  const log = options.log ?? (() => undefined);
  const devicesChild = forkTs(fileURLToPath(new URL('./fixtures/sim-devices.ts', import.meta.url)), [String(n)]);
  let server: Awaited<ReturnType<typeof startServerChild>> | undefined;
  try {
    const pki = await nextMessage<{ ci: string; eum: string; euiccs: { eid: string; certificate: string }[] }>(devicesChild, 'pki', 120_000);
    server = await startServerChild({ ci: fromHex(pki.ci), coap: false, coaps: true, awakeWindowSeconds: 93 });
    const provisioned = nextMessage<{ tokens: { eid: string; associationToken?: number }[] }>(devicesChild, 'provisioned', 60_000);
    devicesChild.send({ type: 'provision', addInitialEim: server.addInitialEim });
    const tokens = new Map((await provisioned).tokens.map((t) => [t.eid, t.associationToken]));
    const devices = pki.euiccs.map((e, i) => ({ eid: e.eid, endpoint: `urn:imei:35${String(i).padStart(13, '0')}`, pskIdentity: `bench-${i}`, psk: e.eid.slice(-16).padStart(32, '0') }));
    const rows = pki.euiccs.map((e, i) => {
      const token = tokens.get(e.eid);
      return { eid: e.eid, endpoint: devices[i]!.endpoint, pskIdentity: devices[i]!.pskIdentity, psk: devices[i]!.psk, euiccCertificate: e.certificate, eumCertificate: pki.eum, ...(token !== undefined ? { associationToken: token } : {}) };
    });
    const res = await server.api('POST', '/v1/euiccs/import', rows);
    if (res.status !== 200 || (res.body as { registered?: number }).registered !== n) throw new Error(`bench: import answered ${res.status}: ${res.text.slice(0, 300)}`);
    const registered = nextMessage<{ count: number }>(devicesChild, 'registered', 300_000);
    devicesChild.send({ type: 'register', port: server.ports.coaps, devices });
    const count = (await registered).count;
    if (count !== n) throw new Error(`bench: ${count}/${n} devices registered over coaps://`);
    const s = server;
    await until(async () => {
      const r = await s.api('GET', '/v1/devices?limit=1000');
      return ((r.body as { items?: { eid?: string }[] }).items ?? []).filter((d) => d.eid !== undefined).length >= n;
    }, 60_000, 'all devices bound to their EID', 250);
    log(`    ${n} devices registered over coaps:// and bound`);

    const idle0 = await s.cpuMicros();
    const idleT = process.hrtime.bigint();
    await new Promise((r) => setTimeout(r, 3000));
    const idleMicrosPerSecond = (await s.cpuMicros() - idle0) / (Number(process.hrtime.bigint() - idleT) / 1e9);
    const eids = devices.map((d) => d.eid);
    const microsPerRound: number[] = [];
    let done = await operationsDone(s);
    const results = async (): Promise<number> => {
      const reply = nextMessage<{ delivered: number }>(devicesChild, 'results', 10_000);
      devicesChild.send({ type: 'results' });
      return (await reply).delivered;
    };
    let delivered = await results();
    const counting = process.env['EIM_BENCH_COUNT'] === '1';
    let counts0: Record<string, number> = {};
    const t0 = process.hrtime.bigint();
    // Round 0 is a warm-up (JIT, first packages per eUICC), not counted.
    for (let round = 0; round <= rounds; round++) {
      const target = done + n;
      if (round === 1) await s.profileStart();
      if (round === 1 && counting) counts0 = await s.counts();
      const cpu0 = await s.cpuMicros();
      await s.submit(eids, { kind: 'enable', iccid: PROFILES[round % 2]! });
      const publishedTarget = delivered + n;
      await until(async () => (delivered = await results()) >= publishedTarget, 120_000, `round ${round}: ${n} results published by the devices`, 20);
      await until(async () => (done = await operationsDone(s)) >= target, 120_000, `round ${round}: ${n} operations done`, 20);
      const cpu1 = await s.cpuMicros();
      if (round > 0) microsPerRound.push((cpu1 - cpu0) / n);
    }
    const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
    await s.profileStop('round-trip');
    let countsPerRoundTrip: Record<string, number> | undefined;
    if (counting) {
      // Let the last round's trailing exchanges (acknowledgements, State notifications) finish first.
      await new Promise((r) => setTimeout(r, 2000));
      const counts1 = await s.counts();
      countsPerRoundTrip = Object.fromEntries(Object.entries(counts1).map(([k, v]) => [k, (v - (counts0[k] ?? 0)) / (n * rounds)]).filter(([, v]) => (v as number) > 0));
    }
    const floorMicros = 1e6 / rawSignRate('P-256', 1000).perSecond + 1e6 / rawVerifyRate('P-256', 1000).perSecond;
    return { devices: n, roundTrips: n * rounds, microsPerRound, seconds, floorMicros, idleMicrosPerSecond, idleMicrosPerRoundTrip: (idleMicrosPerSecond * seconds) / (n * (rounds + 1)), ...(countsPerRoundTrip ? { countsPerRoundTrip } : {}) };
  } finally {
    await stopChild(devicesChild);
    await server?.close();
  }
}

export function printRoundTripBench(runs: readonly RoundTripBench[], out: (line: string) => void): void {
  const all = runs.flatMap((r) => r.microsPerRound);
  const figure = median(all);
  const floor = median(runs.map((r) => r.floorMicros));
  out(`eIM round trip over coaps:// (issue 5)          server CPU    ratio   target`);
  out(`  floor: one raw P-256 sign + one verify         ${floor.toFixed(0).padStart(7)} us`);
  out(`  per round trip (Write package .. result stored) ${figure.toFixed(0).padStart(6)} us  ${((100 * figure) / 250).toFixed(0).padStart(5)}%   <= 250 us`);
  for (const r of runs) {
    if (r.countsPerRoundTrip === undefined) continue;
    out('  per round trip (EIM_BENCH_COUNT):');
    for (const [k, v] of Object.entries(r.countsPerRoundTrip).sort(([a], [b]) => a.localeCompare(b))) out(`    ${v.toFixed(2).padStart(7)}  ${k}`);
  }
  out(`    idle server: ${median(runs.map((r) => r.idleMicrosPerSecond)).toFixed(0)} us CPU per s, i.e. ${median(runs.map((r) => r.idleMicrosPerRoundTrip)).toFixed(0)} us of each figure; median of ${all.length} rounds of ${runs[0]!.devices} devices (${runs.map((r) => r.microsPerRound.map((x) => x.toFixed(0)).join(', ')).join(' | ')} us); ${(figure / floor).toFixed(1)}x the floor`);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const devices = Number(process.env['EIM_BENCH_DEVICES'] ?? 100);
  const rounds = Number(process.env['EIM_BENCH_ROUNDS'] ?? 5);
  const log = (l: string): void => void process.stdout.write(`${l}\n`);
  printRoundTripBench([await benchRoundTrip({ devices, rounds, log })], log);
}
