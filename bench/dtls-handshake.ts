/**
 * Bench: DTLS 1.2 PSK handshakes per second (TLS_PSK_WITH_AES_128_CCM_8, RFC 7925) of our DtlsServer
 * versus libcoap's coap-server-openssl under the same client load, both servers in their own process,
 * both on the OpenSSL 3.0 family. The load is node-dtls-client: `concurrency` loops, each doing
 * connect (full handshake with cookie exchange) then close; `count` handshakes per server after a warm-up,
 * in interleaved rounds (see benchDtlsHandshakes). Server CPU (user+sys from /proc/<pid>/stat, clock-tick resolution) per handshake is reported too,
 * since the rate of a client-bound run says little on its own.
 *
 * `benchDtlsHandshakes()` is exported for bench/run.ts; `node --import tsx bench/dtls-handshake.ts`
 * runs it alone; with `--serve` the file is the child process hosting our server.
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import dgram from 'node:dgram';
import { readFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { dtls } from 'node-dtls-client';
import { DtlsServer } from '../src/lwm2m/transport/dtls-server.js';

const IDENTITY = 'bench-device';
const KEY = 'benchSecretPSK';

export interface HandshakeFigures {
  /** Median over the rounds of handshakes per second. */
  handshakesPerSecond: number;
  /** Server user+sys CPU per handshake over all rounds, microseconds (clock-tick resolution). */
  serverCpuMicrosPerHandshake: number;
  /** Rate of each round, in order. */
  rounds: number[];
}

export interface DtlsHandshakeBenchResult {
  count: number;
  concurrency: number;
  eim: HandshakeFigures;
  libcoap?: HandshakeFigures;
  /** Median over the rounds of (eim rate / libcoap rate in the same round); target >= 0.8. */
  ratio?: number;
}

/**
 * Both servers run at once, each in its own process, and the load alternates between them in rounds
 * (eim first in even rounds, libcoap first in odd ones): on a shared machine the background load drifts
 * over a run, and measuring one server entirely before the other turned that drift into the ratio.
 * The ratio is the median of the per-round ratios. Each server gets the same warm-up first, long enough
 * for V8 to finish optimising our hot path (libcoap needs none, but it costs it nothing).
 */
export async function benchDtlsHandshakes(
  options: { count?: number; concurrency?: number; rounds?: number; log?: (line: string) => void } = {},
): Promise<DtlsHandshakeBenchResult> {
  const count = options.count ?? 2000;
  const concurrency = options.concurrency ?? 4;
  const rounds = Math.max(1, options.rounds ?? 5);
  const perRound = Math.max(1, Math.floor(count / rounds));
  const log = options.log ?? ((line: string) => console.log(line));

  const servers: { child: ChildProcess; port: number; ticks: number; rates: number[] }[] = [];
  try {
    const eimChild = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), '--serve'], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    servers.push({ child: eimChild, port: 0, ticks: 0, rates: [] });
    servers[0]!.port = await readPort(eimChild);
    if (has('coap-server-openssl')) {
      const coapPort = await freePortPair();
      const libcoapChild = spawn('coap-server-openssl', ['-k', KEY, '-A', '127.0.0.1', '-p', String(coapPort), '-v', '0'], {
        stdio: 'ignore',
      });
      servers.push({ child: libcoapChild, port: coapPort + 1, ticks: 0, rates: [] }); // coaps is the CoAP port + 1
      await waitForHandshake(coapPort + 1);
    }
    // Warm-up: V8 tiers up our server and the client here (the first rounds ran about half speed with 300).
    for (const s of servers) await runLoad(s.port, 600, concurrency);
    for (let round = 0; round < rounds; round++) {
      const order = round % 2 === 0 ? servers : [...servers].reverse();
      for (const s of order) {
        const { rate, ticks } = await measure(s.child, s.port, perRound, concurrency);
        s.rates.push(rate);
        s.ticks += ticks;
      }
    }
  } finally {
    for (const s of servers) s.child.kill();
  }
  const tick = 1e6 / clockTicksPerSecond();
  const figures = (s: (typeof servers)[number]): HandshakeFigures => ({
    handshakesPerSecond: median(s.rates),
    serverCpuMicrosPerHandshake: (s.ticks * tick) / (perRound * rounds),
    rounds: s.rates,
  });
  const eim = figures(servers[0]!);
  const show = (f: HandshakeFigures): string =>
    `${f.handshakesPerSecond.toFixed(0)}/s (rounds ${f.rounds.map((r) => r.toFixed(0)).join(' ')}), server CPU ${f.serverCpuMicrosPerHandshake.toFixed(0)} us/handshake`;
  log(`DTLS PSK handshakes, node-dtls-client load (${rounds} rounds of ${perRound} handshakes per server, concurrency ${concurrency}):`);
  log(`  eim DtlsServer (OpenSSL addon):  ${show(eim)}`);
  const libcoapServer = servers[1];
  if (!libcoapServer) {
    log('  libcoap coap-server-openssl: not installed, skipped');
    return { count: perRound * rounds, concurrency, eim };
  }
  const libcoap = figures(libcoapServer);
  const ratio = median(eim.rounds.map((r, i) => r / libcoap.rounds[i]!));
  log(`  libcoap coap-server-openssl:     ${show(libcoap)}`);
  log(`  ratio eim/libcoap (median of rounds): ${ratio.toFixed(2)} (target >= 0.80); CPU ratio ${(eim.serverCpuMicrosPerHandshake / libcoap.serverCpuMicrosPerHandshake).toFixed(2)}`);
  return { count: perRound * rounds, concurrency, eim, libcoap, ratio };
}

/** One timed round against one server: its rate and the server's CPU ticks over it. */
async function measure(server: ChildProcess, port: number, count: number, concurrency: number): Promise<{ rate: number; ticks: number }> {
  const cpu0 = cpuTicks(server.pid!);
  const t0 = process.hrtime.bigint();
  await runLoad(port, count, concurrency);
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  // Let the server finish the last close_notify before reading its CPU time.
  await new Promise((r) => setTimeout(r, 100));
  return { rate: count / seconds, ticks: cpuTicks(server.pid!) - cpu0 };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

async function runLoad(port: number, count: number, concurrency: number): Promise<void> {
  let started = 0;
  const loop = async (): Promise<void> => {
    while (started < count) {
      started++;
      await handshake(port, 5000);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, loop));
}

function handshake(port: number, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = dtls.createSocket({
      type: 'udp4',
      address: '127.0.0.1',
      port,
      psk: { [IDENTITY]: KEY },
      ciphers: ['TLS_PSK_WITH_AES_128_CCM_8'],
      timeout: timeoutMs,
    });
    socket.once('connected', () => {
      socket.close();
      resolve();
    });
    socket.once('error', reject);
  });
}

async function waitForHandshake(port: number): Promise<void> {
  for (let i = 0; i < 50; i++) {
    try {
      await handshake(port, 200);
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  throw new Error(`no DTLS server answered on port ${port}`);
}

function readPort(child: ChildProcess): Promise<number> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('bench server did not start in 20 s')), 20_000);
    let text = '';
    child.stdout!.on('data', (d: Buffer) => {
      text += d.toString();
      const m = /PORT (\d+)/.exec(text);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
    child.once('exit', (code) => reject(new Error(`bench server exited with ${code}`)));
  });
}

/** utime + stime of a process, in clock ticks (fields 14 and 15 of /proc/<pid>/stat). */
function cpuTicks(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(fields[11]) + Number(fields[12]);
}

function clockTicksPerSecond(): number {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;
  } catch {
    return 100;
  }
}

function has(binary: string): boolean {
  try {
    execFileSync('which', [binary], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** A UDP port p on 127.0.0.1 with p + 1 also free (libcoap binds both). */
async function freePortPair(): Promise<number> {
  for (let i = 0; i < 20; i++) {
    const a = dgram.createSocket('udp4');
    await new Promise<void>((r) => a.bind(0, '127.0.0.1', () => r()));
    const p = a.address().port;
    const b = dgram.createSocket('udp4');
    const ok = await new Promise<boolean>((r) => {
      b.once('error', () => r(false));
      b.bind(p + 1, '127.0.0.1', () => r(true));
    });
    a.close();
    if (ok) b.close();
    if (ok && p < 65535) return p;
  }
  throw new Error('no free UDP port pair');
}

async function serve(): Promise<void> {
  // One key object, as libcoap's -k: the lookup's own cost is the store's business, not this bench's.
  const key = Buffer.from(KEY);
  const server = new DtlsServer({ host: '127.0.0.1', port: 0, pskLookup: () => key });
  const { port } = await server.listen();
  process.stdout.write(`PORT ${port}\n`);
  process.on('SIGTERM', () => void server.close().then(() => process.exit(0)));
}

const self = process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href;
if (self && process.argv.includes('--serve')) await serve();
else if (self) await benchDtlsHandshakes();
