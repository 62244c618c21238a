/**
 * Issue 6 benchmark: a wake storm. 10,000 queue-mode devices, each with one real `enable` operation pending,
 * wake within 10 s (Registration Update, OMA LwM2M 1.1.1 Core §6.2.2); each must get its eIM Package (a Write
 * of /3443/0/2 carrying a TransferEimPackageRequest signed by the eIM, SGP.32 §5.14.x / ESipa injection) inside
 * its awake window. Measured as the device sees it: from sending its Update to receiving the Write.
 * Target: p99 <= 20 ms, every device served in its window.
 *
 * The whole server (startServer) runs in a child process; the devices are lean raw-CoAP devices
 * (bench/fixtures/lean-device.ts) in two other processes, over coap:// — over coaps:// a storm of 10,000
 * sessions would measure DTLS handshakes (see the 'dtls' section), and queue-mode devices resuming a DTLS
 * session would need session resumption or Connection ID to be comparable. The eUICCs are registered
 * through the REST API import with certificates from a test PKI; the operations are queued through the eIM
 * core in the server process (as the API does; the API's per-token rate limit would take minutes for 10,000).
 * The awake window is configured to 5 s (default 93 s) so the fleet falls asleep after registering.
 */
import { readFileSync } from 'node:fs';
import { toHex } from '../src/asn1/hex.js';
import { eidWithCheckDigits } from '../src/asn1/identifiers.js';
import { createTestPki, type TestPki } from '../src/sim/pki.js';
import { pathToFileURL, fileURLToPath } from 'node:url';
import { forkTs, median, nextMessage, percentile, startServerChild, stopChild, type ServerChild } from './fixtures/children.js';

export interface StormBench {
  readonly devices: number;
  readonly spreadMs: number;
  readonly windowMs: number;
  readonly served: number;
  readonly inWindow: number;
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
  readonly earlyWrites: number;
  readonly updateRetransmissions: number;
  readonly serverCpuMicrosPerWake: number;
  /** Server CPU with the fleet asleep and the operations queued, µs per second. */
  readonly idleMicrosPerSecond: number;
  /** UDP datagrams the kernel dropped for full receive buffers during the storm (whole machine, Linux only). */
  readonly udpRcvbufErrors: number | undefined;
  /** Of which on the server's coap:// socket (the drops column of /proc/net/udp). */
  readonly serverSocketDrops: number | undefined;
}

/** Datagrams dropped on the 127.0.0.1 UDP socket bound to `port` (undefined off Linux). */
function socketDrops(port: number): number | undefined {
  try {
    const hex = `0100007F:${port.toString(16).toUpperCase().padStart(4, '0')}`;
    const line = readFileSync('/proc/net/udp', 'utf8').split('\n').find((l) => l.trim().split(/\s+/)[1] === hex);
    return line === undefined ? undefined : Number(line.trim().split(/\s+/).pop());
  } catch {
    return undefined;
  }
}

/** RcvbufErrors from /proc/net/snmp (undefined off Linux). */
function udpRcvbufErrors(): number | undefined {
  try {
    const lines = readFileSync('/proc/net/snmp', 'utf8').split('\n').filter((l) => l.startsWith('Udp:'));
    const names = lines[0]!.trim().split(/\s+/);
    const values = lines[1]!.trim().split(/\s+/);
    return Number(values[names.indexOf('RcvbufErrors')]);
  } catch {
    return undefined;
  }
}

const ICCID = '8944000000000000012';

const stormEids = (n: number): string[] => Array.from({ length: n }, (_, i) => eidWithCheckDigits(`89049032000000000000${String(i).padStart(10, '0')}`));

/** The test PKI of a storm fleet (slow for 10,000: make it once for several runs). */
export function stormPki(devices: number): TestPki {
  return createTestPki({ eids: stormEids(devices) });
}

export async function benchWakeStorm(options: { devices?: number; spreadMs?: number; awakeWindowSeconds?: number; processes?: number; pki?: TestPki; log?: (l: string) => void } = {}): Promise<StormBench> {
  const n = options.devices ?? 10_000;
  const spreadMs = options.spreadMs ?? 10_000;
  const windowS = options.awakeWindowSeconds ?? 5;
  const processes = options.processes ?? 2;
  const log = options.log ?? (() => undefined);
  const eids = stormEids(n);
  const endpointOf = (i: number): string => `urn:imei:35${String(i).padStart(13, '0')}`;
  let t = Date.now();
  const pki = options.pki ?? stormPki(n);
  if (options.pki === undefined) log(`    test PKI for ${n} eUICCs: ${((Date.now() - t) / 1000).toFixed(1)} s`);
  const server: ServerChild = await startServerChild({ ci: pki.ci.certificate, coap: true, coaps: false, awakeWindowSeconds: windowS });
  const children = Array.from({ length: processes }, () => forkTs(fileURLToPath(new URL('./fixtures/storm-devices.ts', import.meta.url))));
  try {
    t = Date.now();
    const eum = toHex(pki.eum.certificate);
    for (let i = 0; i < n; i += 2500) {
      const rows = eids.slice(i, i + 2500).map((eid, k) => ({ eid, endpoint: endpointOf(i + k), euiccCertificate: toHex(pki.euiccs.get(eid)!.certificate), eumCertificate: eum }));
      const res = await server.api('POST', '/v1/euiccs/import', rows);
      const body = res.body as { registered?: number } | undefined;
      if (res.status !== 200 || body?.registered !== rows.length) throw new Error(`bench: import answered ${res.status}: ${res.text.slice(0, 300)}`);
    }
    log(`    ${n} eUICCs imported through the API: ${((Date.now() - t) / 1000).toFixed(1)} s`);

    t = Date.now();
    const per = Math.ceil(n / processes);
    const registered = children.map((c, p) => {
      const reply = nextMessage<{ registered: number; setUp: number }>(c, 'registered', 300_000);
      const devices = eids.slice(p * per, (p + 1) * per).map((eid, k) => ({ eid, endpoint: endpointOf(p * per + k) }));
      c.send({ type: 'register', port: server.ports.coap, devices, perSecond: 1500 / processes });
      return reply;
    });
    const regs = await Promise.all(registered);
    const setUp = regs.reduce((s, r) => s + r.setUp, 0);
    log(`    ${setUp}/${n} devices registered and bound: ${((Date.now() - t) / 1000).toFixed(1)} s`);
    // All asleep (the awake window passed), then one enable operation each.
    await new Promise((r) => setTimeout(r, windowS * 1000 + 1500));
    t = Date.now();
    await server.submit(eids, { kind: 'enable', iccid: ICCID });
    log(`    ${n} enable operations queued: ${((Date.now() - t) / 1000).toFixed(1)} s`);
    const idle0 = await server.cpuMicros();
    await new Promise((r) => setTimeout(r, 2000));
    const idleMicrosPerSecond = ((await server.cpuMicros()) - idle0) / 2;

    await server.profileStart();
    const drops0 = udpRcvbufErrors();
    const serverDrops0 = socketDrops(server.ports.coap!);
    const cpu0 = await server.cpuMicros();
    const windowMs = windowS * 1000;
    const stormed = await Promise.all(
      children.map((c) => {
        const reply = nextMessage<{ delays: number[]; earlyWrites: number; updateRetransmissions: number }>(c, 'stormed', spreadMs + windowMs + 60_000);
        c.send({ type: 'storm', spreadMs, windowMs: windowMs + 500 });
        return reply;
      }),
    );
    const cpu1 = await server.cpuMicros();
    const drops1 = udpRcvbufErrors();
    const serverDrops1 = socketDrops(server.ports.coap!);
    await server.profileStop('wake-storm');
    const delays = stormed.flatMap((s) => s.delays);
    const served = delays.filter((d) => d >= 0).sort((a, b) => a - b);
    return {
      devices: n,
      spreadMs,
      windowMs,
      served: served.length,
      inWindow: served.filter((d) => d <= windowMs).length,
      p50: percentile(served, 50),
      p99: percentile(served, 99),
      max: served[served.length - 1] ?? NaN,
      earlyWrites: stormed.reduce((s, x) => s + x.earlyWrites, 0),
      updateRetransmissions: stormed.reduce((s, x) => s + x.updateRetransmissions, 0),
      serverCpuMicrosPerWake: (cpu1 - cpu0) / n,
      idleMicrosPerSecond,
      udpRcvbufErrors: drops0 === undefined || drops1 === undefined ? undefined : drops1 - drops0,
      serverSocketDrops: serverDrops0 === undefined || serverDrops1 === undefined ? undefined : serverDrops1 - serverDrops0,
    };
  } finally {
    await Promise.all(children.map((c) => stopChild(c)));
    await server.close();
  }
}

export function printStormBench(runs: readonly StormBench[], out: (line: string) => void): void {
  const b = runs[0]!;
  const p50 = median(runs.map((r) => r.p50));
  const p99 = median(runs.map((r) => r.p99));
  const max = median(runs.map((r) => r.max));
  const inWindow = median(runs.map((r) => r.inWindow));
  out(`Wake storm (issue 6): ${b.devices} devices wake within ${b.spreadMs / 1000} s, coap://, ${b.windowMs / 1000} s window   figure   ratio   target`);
  out(`  Update -> Write /3443/0/2 p50                            ${p50.toFixed(1).padStart(8)} ms`);
  out(`  Update -> Write /3443/0/2 p99                            ${p99.toFixed(1).padStart(8)} ms  ${((100 * p99) / 20).toFixed(0).padStart(5)}%   <= 20 ms`);
  out(`  Update -> Write /3443/0/2 max                            ${max.toFixed(1).padStart(8)} ms`);
  out(`  served inside their awake window                         ${String(inWindow).padStart(8)}    ${((100 * inWindow) / b.devices).toFixed(1).padStart(5)}%   100%`);
  out(`    median of ${runs.length} run(s); per run p99 ${runs.map((r) => r.p99.toFixed(1)).join(', ')} ms; served ${runs.map((r) => r.served).join(', ')}; Update retransmissions ${runs.map((r) => r.updateRetransmissions).join(', ')}; writes before the Update ${runs.map((r) => r.earlyWrites).join(', ')}; UDP receive-buffer drops on the machine ${runs.map((r) => r.udpRcvbufErrors ?? 'n/a').join(', ')}, on the server socket ${runs.map((r) => r.serverSocketDrops ?? 'n/a').join(', ')}; server CPU ${runs.map((r) => r.serverCpuMicrosPerWake.toFixed(0)).join(', ')} us per wake (Update + signed package + Write; idle server before the storm: ${runs.map((r) => (r.idleMicrosPerSecond / 1000).toFixed(0)).join(', ')} ms CPU per s)`);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const devices = Number(process.env['EIM_BENCH_DEVICES'] ?? 10_000);
  const log = (l: string): void => void process.stdout.write(`${l}\n`);
  printStormBench([await benchWakeStorm({ devices, log })], log);
}
