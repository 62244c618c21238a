/**
 * Issue 4 benchmark: what the device simulator itself costs, so fleet benchmarks can subtract its load from
 * the server's. Against a stub registrar (a UDP socket answering Register 2.01 / Update 2.04 / Deregister
 * 2.02 from pre-decoded messages, a few µs per datagram), it measures for fleets of idle, sleeping devices:
 * heap and RSS per device, CPU per device-second while they sleep, and CPU per PSM wake-up (Registration
 * Update + awake window + radio off), over coap:// with NAT timeouts long enough that ports are kept.
 */
import { createSocket, type Socket } from 'node:dgram';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { pathToFileURL } from 'node:url';
import { eidWithCheckDigits } from '../src/asn1/identifiers.js';
import { Code, decodeMessage, encodeMessage, Opt, type CoapMessage } from '../src/lwm2m/coap/message.js';
import { VirtualEuicc } from '../src/sim/euicc/euicc.js';
import { Fleet } from '../src/sim/fleet.js';
import { createTestPki } from '../src/sim/pki.js';
import { psm } from '../src/sim/sleep.js';

export interface SimulatorBench {
  readonly devices: number;
  readonly registerSeconds: number;
  readonly heapBytesPerDevice: number;
  readonly rssBytesPerDevice: number;
  /** CPU µs per sleeping device per second of wall time. */
  readonly idleCpuMicrosPerDeviceSecond: number;
}

export interface WakeBench {
  readonly devices: number;
  readonly wakes: number;
  readonly cpuMicrosPerWake: number;
}

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

function settleHeap(): number {
  for (let i = 0; i < 3; i++) gc();
  return process.memoryUsage().heapUsed;
}

const cpuMicros = (): number => {
  const u = process.cpuUsage();
  return u.user + u.system;
};

/** A registrar that answers every CON request at once and nothing else. */
async function stubRegistrar(): Promise<{ socket: Socket; port: number; close(): Promise<void> }> {
  const socket = createSocket('udp4');
  let next = 0;
  socket.on('message', (datagram, rinfo) => {
    let m: CoapMessage;
    try {
      m = decodeMessage(datagram);
    } catch {
      return;
    }
    if (m.type !== 'CON') return;
    const segments = m.options.filter((o) => o.number === Opt.UriPath).length;
    const code = m.code === Code.DELETE ? Code.Deleted : m.code === Code.POST && segments === 1 ? Code.Created : Code.Changed;
    const options = code === Code.Created ? [{ number: Opt.LocationPath, value: Buffer.from('rd') }, { number: Opt.LocationPath, value: Buffer.from(String(next++)) }] : [];
    socket.send(encodeMessage({ type: 'ACK', code, messageId: m.messageId, token: m.token, options, payload: new Uint8Array(0) }), rinfo.port, rinfo.address);
  });
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', () => resolve()));
  return { socket, port: socket.address().port, close: () => new Promise((resolve) => socket.close(() => resolve())) };
}

function eids(n: number): string[] {
  return Array.from({ length: n }, (_, i) => eidWithCheckDigits(`89049032000000000000${String(i).padStart(10, '0')}`));
}

async function until(condition: () => boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > end) throw new Error(`bench: ${what} not reached within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Registers `devices` devices that then sleep (PSM, 1 h period), and measures them asleep. */
export async function benchIdleFleet(devices: number, options: { idleSeconds?: number } = {}): Promise<SimulatorBench> {
  const registrar = await stubRegistrar();
  const list = eids(devices);
  // One PKI with a single eUICC identity: cards are never built while idle (lazy), so its size does not matter.
  const pki = createTestPki({ eids: list.slice(0, 1) });
  const baseHeap = settleHeap();
  const baseRss = process.memoryUsage().rss;
  const fleet = new Fleet({
    server: { address: '127.0.0.1', port: registrar.port },
    devices: list.map((eid, i) => ({ endpoint: `bench-${i}`, eid, euicc: () => VirtualEuicc.fromPki(pki, list[0]!) })),
    schedule: psm({ periodMs: 3_600_000, awakeMs: 200, jitter: 0 }),
    localAddress: '127.0.0.1',
    registerConcurrency: 256,
  });
  try {
    const t0 = Date.now();
    fleet.start();
    await fleet.whenRegistered(300_000);
    const registerSeconds = (Date.now() - t0) / 1000;
    await until(() => fleet.stats.awake === 0, 30_000, 'whole fleet asleep');
    const heap = settleHeap() - baseHeap;
    const rss = process.memoryUsage().rss - baseRss;
    const seconds = options.idleSeconds ?? 5;
    const c0 = cpuMicros();
    const w0 = Date.now();
    await new Promise((r) => setTimeout(r, seconds * 1000));
    const idle = (cpuMicros() - c0) / (devices * ((Date.now() - w0) / 1000));
    if (fleet.stats.errors > 0) throw new Error(`bench: ${fleet.stats.errors} device errors: ${fleet.stats.lastErrors.join('; ')}`);
    return { devices, registerSeconds, heapBytesPerDevice: heap / devices, rssBytesPerDevice: rss / devices, idleCpuMicrosPerDeviceSecond: idle };
  } finally {
    await fleet.stop();
    await registrar.close();
  }
}

/** `devices` devices waking every `periodMs` (PSM, short window); CPU per wake-up over `seconds`. */
export async function benchWakeUps(devices = 1000, options: { periodMs?: number; seconds?: number } = {}): Promise<WakeBench> {
  const registrar = await stubRegistrar();
  const list = eids(devices);
  const pki = createTestPki({ eids: list.slice(0, 1) });
  const fleet = new Fleet({
    server: { address: '127.0.0.1', port: registrar.port },
    devices: list.map((eid, i) => ({ endpoint: `bench-${i}`, eid, euicc: () => VirtualEuicc.fromPki(pki, list[0]!) })),
    schedule: psm({ periodMs: options.periodMs ?? 2000, awakeMs: 100, jitter: 0.2 }),
    natTimeoutMs: Infinity,
    localAddress: '127.0.0.1',
    registerConcurrency: 256,
  });
  try {
    fleet.start();
    await fleet.whenRegistered(120_000);
    await new Promise((r) => setTimeout(r, options.periodMs ?? 2000)); // past the first, phase-shifted wake
    const wakes0 = fleet.stats.wakes;
    const c0 = cpuMicros();
    await new Promise((r) => setTimeout(r, (options.seconds ?? 6) * 1000));
    const wakes = fleet.stats.wakes - wakes0;
    const cpu = cpuMicros() - c0;
    if (fleet.stats.errors > 0) throw new Error(`bench: ${fleet.stats.errors} device errors: ${fleet.stats.lastErrors.join('; ')}`);
    return { devices, wakes, cpuMicrosPerWake: cpu / Math.max(1, wakes) };
  } finally {
    await fleet.stop();
    await registrar.close();
  }
}

export async function benchSimulator(sizes: readonly number[] = [1000, 10_000]): Promise<{ idle: SimulatorBench[]; wake: WakeBench }> {
  const idle: SimulatorBench[] = [];
  for (const n of sizes) idle.push(await benchIdleFleet(n));
  return { idle, wake: await benchWakeUps() };
}

export function printSimulatorBench(b: { idle: SimulatorBench[]; wake: WakeBench }, out: (line: string) => void): void {
  out('device simulator (issue 4)         devices   register s   heap/device   RSS/device   idle CPU µs/device·s');
  for (const r of b.idle) {
    out(`  sleeping fleet (PSM, coap://)  ${String(r.devices).padStart(9)}   ${r.registerSeconds.toFixed(1).padStart(10)}   ${kb(r.heapBytesPerDevice).padStart(11)}   ${kb(r.rssBytesPerDevice).padStart(10)}   ${r.idleCpuMicrosPerDeviceSecond.toFixed(2).padStart(20)}`);
  }
  out(`  CPU per PSM wake-up (Update + window + radio off): ${b.wake.cpuMicrosPerWake.toFixed(0)} µs over ${b.wake.wakes} wake-ups of ${b.wake.devices} devices`);
  out('  (figures include a stub registrar answering each request in the same process)');
}

function kb(bytes: number): string {
  return `${(bytes / 1024).toFixed(1)} KiB`;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const sizes = process.argv.slice(2).map(Number).filter((n) => n > 0);
  printSimulatorBench(await benchSimulator(sizes.length > 0 ? sizes : undefined), (l) => process.stdout.write(`${l}\n`));
}
