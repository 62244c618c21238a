/**
 * Bench: DTLS 1.2 PSK handshakes per second (TLS_PSK_WITH_AES_128_CCM_8, RFC 7925) of our DtlsServer
 * versus libcoap's coap-server-openssl under the same client load, both servers in their own process,
 * both on the OpenSSL 3.0 family. The load is node-dtls-client: `concurrency` loops, each doing
 * connect (full handshake with cookie exchange) then close, `count` handshakes in all after a warm-up.
 * Server CPU (user+sys from /proc/<pid>/stat, clock-tick resolution) per handshake is reported too,
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
  handshakesPerSecond: number;
  /** Server user+sys CPU per handshake, microseconds (10 ms tick resolution over the whole run). */
  serverCpuMicrosPerHandshake: number;
}

export interface DtlsHandshakeBenchResult {
  count: number;
  concurrency: number;
  eim: HandshakeFigures;
  libcoap?: HandshakeFigures;
  /** eim rate / libcoap rate (target >= 0.8). */
  ratio?: number;
}

export async function benchDtlsHandshakes(
  options: { count?: number; concurrency?: number; log?: (line: string) => void } = {},
): Promise<DtlsHandshakeBenchResult> {
  const count = options.count ?? 1000;
  const concurrency = options.concurrency ?? 4;
  const log = options.log ?? ((line: string) => console.log(line));

  const eimChild = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), '--serve'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let eim: HandshakeFigures;
  try {
    const port = await readPort(eimChild);
    eim = await measure(eimChild, port, count, concurrency);
  } finally {
    eimChild.kill();
  }
  log(`DTLS PSK handshakes, node-dtls-client load (${count} handshakes, concurrency ${concurrency}):`);
  log(`  eim DtlsServer (OpenSSL addon):  ${eim.handshakesPerSecond.toFixed(0)}/s, server CPU ${eim.serverCpuMicrosPerHandshake.toFixed(0)} us/handshake`);

  if (!has('coap-server-openssl')) {
    log('  libcoap coap-server-openssl: not installed, skipped');
    return { count, concurrency, eim };
  }
  const coapPort = await freePortPair();
  const libcoapChild = spawn('coap-server-openssl', ['-k', KEY, '-A', '127.0.0.1', '-p', String(coapPort), '-v', '0'], {
    stdio: 'ignore',
  });
  let libcoap: HandshakeFigures;
  try {
    await waitForHandshake(coapPort + 1); // libcoap serves coaps on the CoAP port + 1
    libcoap = await measure(libcoapChild, coapPort + 1, count, concurrency);
  } finally {
    libcoapChild.kill();
  }
  const ratio = eim.handshakesPerSecond / libcoap.handshakesPerSecond;
  log(`  libcoap coap-server-openssl:     ${libcoap.handshakesPerSecond.toFixed(0)}/s, server CPU ${libcoap.serverCpuMicrosPerHandshake.toFixed(0)} us/handshake`);
  log(`  ratio eim/libcoap: ${ratio.toFixed(2)} (target >= 0.80); CPU ratio ${(eim.serverCpuMicrosPerHandshake / libcoap.serverCpuMicrosPerHandshake).toFixed(2)}`);
  return { count, concurrency, eim, libcoap, ratio };
}

async function measure(server: ChildProcess, port: number, count: number, concurrency: number): Promise<HandshakeFigures> {
  await runLoad(port, Math.min(50, count), concurrency); // warm-up: JIT, allocator
  const cpu0 = cpuTicks(server.pid!);
  const t0 = process.hrtime.bigint();
  await runLoad(port, count, concurrency);
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  // Let the server finish the last close_notify before reading its CPU time.
  await new Promise((r) => setTimeout(r, 100));
  const ticks = cpuTicks(server.pid!) - cpu0;
  const tick = 1e6 / clockTicksPerSecond();
  return { handshakesPerSecond: count / seconds, serverCpuMicrosPerHandshake: (ticks * tick) / count };
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
  const server = new DtlsServer({ host: '127.0.0.1', port: 0, pskLookup: () => Buffer.from(KEY) });
  const { port } = await server.listen();
  process.stdout.write(`PORT ${port}\n`);
  process.on('SIGTERM', () => void server.close().then(() => process.exit(0)));
}

const self = process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href;
if (self && process.argv.includes('--serve')) await serve();
else if (self) await benchDtlsHandshakes();
