/**
 * Issue 5 benchmark: server heap per registered idle queue-mode device (target <= 1.5 KB with 100,000
 * registrations; OMA LwM2M 1.1.1 Core §6.2 Registration, Transport §6.5 queue mode).
 *
 * A production-shaped Lwm2mServer + EsimBridge (as src/main.ts builds them, default 93 s awake window) is fed
 * real CoAP Register requests over an in-memory datagram socket, one peer address per device. The devices
 * are stateless lean devices (bench/fixtures/lean-device.ts) that answer the bridge's setup in full — Read of
 * /3443/0/1 (EID), Observe of /3443/0/0 and /3443/0/3 — so what is measured is a bound, observed device at
 * rest, not a device with a Read stuck in retransmission. The clock is then moved past the awake window and
 * the CoAP deduplication lifetime (247 s) and housekeeping is run, so the figure is an idle, sleeping device.
 * Heap is measured after forced GCs, before and after; the device side holds no per-device state. Then one
 * device in SAMPLE_EVERY sends a CON notification of /3443/0/3 on the token it was observed with, and the
 * run counts how many of these reach the ESipa port with the right EID: the idle state must still serve.
 */
import { EventEmitter } from 'node:events';
import { setFlagsFromString, writeHeapSnapshot } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { spawn } from 'node:child_process';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { pino } from 'pino';
import { eidWithCheckDigits } from '../src/asn1/identifiers.js';
import { decodeMessage } from '../src/lwm2m/coap/message.js';
import type { DatagramSocket } from '../src/lwm2m/coap/socket.js';
import { EsimBridge } from '../src/lwm2m/esim-bridge.js';
import { Lwm2mServer } from '../src/lwm2m/server.js';
import { median } from './fixtures/children.js';
import { answer, ipaNotification, registerRequest } from './fixtures/lean-device.js';

export interface MemoryBench {
  readonly devices: number;
  readonly bound: number;
  readonly heapBytesPerDevice: number;
  readonly registerSeconds: number;
  /** Devices that registered again because their setup stalled (seen only on a loaded machine). */
  readonly reRegistered: number;
  /** Sampled idle devices whose IPA notification reached the ESipa port with their EID, of `sampled`. */
  readonly served: number;
  readonly sampled: number;
}

/** One device in this many keeps its /3443/0/3 token on the bench side, to notify after the measurement. */
const SAMPLE_EVERY = 997;

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

async function settledHeap(): Promise<number> {
  for (let i = 0; i < 4; i++) {
    gc();
    await new Promise((r) => setImmediate(r));
  }
  return process.memoryUsage().heapUsed;
}

/** Device i: a distinct peer address (in memory only: nothing is bound), an IMEI-style endpoint, an EID. */
const addressOf = (i: number): string => `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
const indexOf = (address: string): number => {
  const [, a, b, c] = address.split('.').map(Number) as [number, number, number, number];
  return (a << 16) | (b << 8) | c;
};
const endpointOf = (i: number): string => `urn:imei:35${String(i).padStart(13, '0')}`;
const eidOf = (i: number): string => eidWithCheckDigits(`89049032000000000000${String(i).padStart(10, '0')}`);

/** The network: the server's socket, and every device behind it answering statelessly. */
class MemoryNet extends EventEmitter implements DatagramSocket {
  setupDone = 0;
  /** 1 once device i answered the last setup request (allocated before the baseline). */
  done: Uint8Array = new Uint8Array(0);
  /** The /3443/0/3 observe token of every SAMPLE_EVERY-th device, 8 bytes each (allocated before the baseline). */
  tokens: Uint8Array = new Uint8Array(0);
  tokenLengths: Uint8Array = new Uint8Array(0);
  send(message: Uint8Array, port: number, address: string, callback?: (error: Error | null) => void): void {
    callback?.(null);
    const m = decodeMessage(message);
    const i = indexOf(address);
    const a = answer(m, eidOf(i));
    if (a === undefined) return;
    if (a.request.kind === 'observe-ipa' && this.done[i] === 0) {
      this.done[i] = 1;
      this.setupDone++;
    }
    if (a.request.kind === 'observe-ipa' && i % SAMPLE_EVERY === 0 && i / SAMPLE_EVERY < this.tokenLengths.length && m.token.length <= 8) {
      this.tokens.set(m.token, (i / SAMPLE_EVERY) * 8);
      this.tokenLengths[i / SAMPLE_EVERY] = m.token.length;
    }
    setImmediate(() => this.emit('message', Buffer.from(a.reply), { address, port, size: a.reply.length }));
  }

  fromDevice(i: number, datagram: Uint8Array): void {
    this.emit('message', Buffer.from(datagram), { address: addressOf(i), port: 56830, size: datagram.length });
  }
}

export async function benchLwm2mMemory(options: { devices?: number } = {}): Promise<MemoryBench> {
  const devices = options.devices ?? 100_000;
  let offset = 0;
  const clock = { now: () => Date.now() + offset };
  const net = new MemoryNet();
  const logger = pino({ level: 'silent' });
  const server = new Lwm2mServer({ socket: net, logger, clock, awakeTimeMs: 93_000 });
  const servedEids = new Set<string>();
  const esipa = {
    handleIpaMessage: (eid: string): Promise<undefined> => {
      servedEids.add(eid);
      return Promise.resolve(undefined);
    },
  };
  const bridge = new EsimBridge({ server, esipa, logger, expectedEid: () => undefined });
  net.done = new Uint8Array(devices + 200);
  const sampled = Math.ceil(devices / SAMPLE_EVERY);
  net.tokens = new Uint8Array(sampled * 8);
  net.tokenLengths = new Uint8Array(sampled);
  let reRegistered = 0;
  try {
    // Warm-up on a few devices outside the measured range, so code and shapes are compiled before the baseline.
    for (let i = 0; i < 200; i++) net.fromDevice(devices + i, registerRequest(endpointOf(devices + i), i));
    await waitFor(() => net.setupDone >= 200, 20_000, 'warm-up setup');
    const before = await settledHeap();
    const t0 = process.hrtime.bigint();
    const BATCH = 2000;
    for (let start = 0; start < devices; start += BATCH) {
      const end = Math.min(devices, start + BATCH);
      for (let i = start; i < end; i++) net.fromDevice(i, registerRequest(endpointOf(i), i));
      // A device whose setup stalled (a request timed out while the machine was overloaded, so the server
      // holds it until the next uplink) registers again, as a real device would after a while.
      for (let attempt = 1; net.setupDone < 200 + end; attempt++) {
        if (attempt > 4) throw new Error(`bench: setup of ${end} devices incomplete after ${attempt - 1} re-registrations`);
        const ok = await waitFor(() => net.setupDone >= 200 + end, 20_000, '').then(() => true, () => false);
        if (ok) break;
        for (let i = start; i < end; i++) {
          if (net.done[i] === 0) {
            reRegistered++;
            net.fromDevice(i, registerRequest(endpointOf(i), i + attempt * 7919));
          }
        }
      }
    }
    const registerSeconds = Number(process.hrtime.bigint() - t0) / 1e9;
    // Idle: past the awake window and the deduplication lifetime, housekeeping done.
    offset += 300_000;
    server.tick();
    await new Promise((r) => setTimeout(r, 50));
    const after = await settledHeap();
    // EIM_BENCH_SNAPSHOT=file.heapsnapshot: a heap snapshot of the idle fleet, to see where the bytes go.
    const snapshot = process.env['EIM_BENCH_SNAPSHOT'];
    if (snapshot) writeHeapSnapshot(snapshot);
    let bound = 0;
    for (let i = 0; i < devices; i++) if (bridge.eidOf(endpointOf(i)) !== undefined) bound++;
    if (server.presence.isAwake(endpointOf(0))) throw new Error('bench: device 0 still awake after the window');
    // Still served: sampled idle devices notify an IPA message on their /3443/0/3 observation.
    const ipaMessage = Uint8Array.of(0xbf, 0x52, 0x00);
    for (let k = 0; k < sampled; k++) {
      const i = k * SAMPLE_EVERY;
      net.fromDevice(i, ipaNotification(net.tokens.subarray(k * 8, k * 8 + net.tokenLengths[k]!), 2, 40_000 + k, ipaMessage));
    }
    const wanted = Array.from({ length: sampled }, (_, k) => eidOf(k * SAMPLE_EVERY));
    await waitFor(() => wanted.every((eid) => servedEids.has(eid)), 5000, '').catch(() => undefined);
    const served = wanted.filter((eid) => servedEids.has(eid)).length;
    if (served !== sampled) throw new Error(`bench: only ${served} of ${sampled} idle devices had their notification processed`);
    return { devices, bound, heapBytesPerDevice: (after - before) / devices, registerSeconds, reRegistered, served, sampled };
  } finally {
    bridge.close();
    server.close();
  }
}

async function waitFor(condition: () => boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > end) throw new Error(`bench: ${what} not reached within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

export function printMemoryBench(runs: readonly MemoryBench[], out: (line: string) => void): void {
  const b = runs[0]!;
  const perDevice = median(runs.map((r) => r.heapBytesPerDevice));
  out(`LwM2M server memory (issue 5)                   figure        ratio   target`);
  out(`  heap per idle queue-mode device (${b.devices} reg.)  ${(perDevice / 1024).toFixed(2).padStart(8)} KB  ${((100 * perDevice) / 1536).toFixed(0).padStart(5)}%   <= 1.5 KB`);
  out(`    median of ${runs.length}: ${runs.map((r) => `${(r.heapBytesPerDevice / 1024).toFixed(2)}`).join(', ')} KB; ${b.bound}/${b.devices} bound to their EID, 2 observations each; idle devices served a notification: ${runs.map((r) => `${r.served}/${r.sampled}`).join(', ')}; Register+setup ${(b.devices / b.registerSeconds).toFixed(0)}/s; re-registered after a stalled setup: ${runs.map((r) => r.reRegistered).join(', ')}`);
}

/** Each run in a fresh process, so no run's garbage or compiled code skews another's baseline. */
export async function benchLwm2mMemoryRuns(runs: number, devices = 100_000): Promise<MemoryBench[]> {
  const results: MemoryBench[] = [];
  for (let i = 0; i < runs; i++) {
    const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), '--json'], { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, EIM_BENCH_DEVICES: String(devices) } });
    let text = '';
    child.stdout.on('data', (d: Buffer) => (text += d.toString()));
    const code = await new Promise<number | null>((r) => child.once('exit', r));
    if (code !== 0) throw new Error(`bench: lwm2m-memory run exited with ${code}`);
    results.push(JSON.parse(text.trim().split('\n').pop()!) as MemoryBench);
  }
  return results;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const devices = Number(process.env['EIM_BENCH_DEVICES'] ?? 100_000);
  const result = await benchLwm2mMemory({ devices });
  if (process.argv.includes('--json')) process.stdout.write(`${JSON.stringify(result)}\n`);
  else printMemoryBench([result], (l) => process.stdout.write(`${l}\n`));
}
