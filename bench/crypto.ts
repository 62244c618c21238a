/**
 * Reference rates for the benchmark: raw node:crypto ECDSA/SHA-256 sign and verify per second (P-256 by
 * default, brainpoolP256r1 on request), the ceiling the eIM's package and result paths are compared with
 * (issue 3: at least 80% of these). Also measures verifyEcdsa with the cached SPKI path, to show the
 * helper costs nothing over the raw call. Run alone: `node --import tsx bench/crypto.ts`.
 */
import { createPublicKey, generateKeyPairSync, sign, verify } from 'node:crypto';
import { pathToFileURL } from 'node:url';
import { verifyEcdsa } from '../src/crypto/ecdsa.js';
import { curveInfo, type Curve } from '../src/crypto/curves.js';
import { spkiDer } from '../src/crypto/keys.js';

export interface Rate {
  readonly name: string;
  readonly operations: number;
  readonly seconds: number;
  readonly perSecond: number;
}

/** Runs `op` repeatedly for about `durationMs` (after a short warm-up) and returns its rate. */
export function measure(name: string, op: (i: number) => void, durationMs = 1000): Rate {
  for (let i = 0; i < 200; i++) op(i);
  const start = process.hrtime.bigint();
  const limit = start + BigInt(durationMs) * 1_000_000n;
  let n = 0;
  let now = start;
  while (now < limit) {
    for (let k = 0; k < 50; k++) op(n++);
    now = process.hrtime.bigint();
  }
  const seconds = Number(now - start) / 1e9;
  return { name, operations: n, seconds, perSecond: n / seconds };
}

function fixture(curve: Curve): { privateKey: ReturnType<typeof generateKeyPairSync>['privateKey']; messages: Buffer[] } {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: curveInfo(curve).nodeName });
  // ~200-byte messages, the size of an EuiccPackageSigned with one PSMO plus the token.
  const messages = Array.from({ length: 64 }, (_, i) => Buffer.alloc(200, i));
  return { privateKey, messages };
}

/** Raw node:crypto signatures per second (r||s output, as the eIM produces). */
export function rawSignRate(curve: Curve = 'P-256', durationMs = 1000): Rate {
  const { privateKey, messages } = fixture(curve);
  return measure(`node:crypto sign ${curve}`, (i) => {
    sign('sha256', messages[i & 63]!, { key: privateKey, dsaEncoding: 'ieee-p1363' });
  }, durationMs);
}

/** Raw node:crypto verifications per second with a prepared KeyObject. */
export function rawVerifyRate(curve: Curve = 'P-256', durationMs = 1000): Rate {
  const { privateKey, messages } = fixture(curve);
  const sigs = messages.map((m) => sign('sha256', m, { key: privateKey, dsaEncoding: 'ieee-p1363' }));
  const publicKey = createPublicKey(privateKey);
  return measure(`node:crypto verify ${curve}`, (i) => {
    if (!verify('sha256', messages[i & 63]!, { key: publicKey, dsaEncoding: 'ieee-p1363' }, sigs[i & 63]!)) throw new Error('bench: verify failed');
  }, durationMs);
}

/** verifyEcdsa from SPKI bytes (the cached-KeyObject path the eIM uses for eUICC keys). */
export function helperVerifyRate(curve: Curve = 'P-256', durationMs = 1000): Rate {
  const { privateKey, messages } = fixture(curve);
  const spki = spkiDer(privateKey);
  const sigs = messages.map((m) => new Uint8Array(sign('sha256', m, { key: privateKey, dsaEncoding: 'ieee-p1363' })));
  const data = messages.map((m) => new Uint8Array(m));
  return measure(`verifyEcdsa(spki) ${curve}`, (i) => {
    if (!verifyEcdsa(spki, data[i & 63]!, sigs[i & 63]!).valid) throw new Error('bench: verify failed');
  }, durationMs);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  for (const curve of ['P-256', 'brainpoolP256r1'] as const) {
    for (const r of [rawSignRate(curve), rawVerifyRate(curve), helperVerifyRate(curve)]) {
      process.stdout.write(`${r.name.padEnd(36)} ${r.perSecond.toFixed(0).padStart(8)} /s\n`);
    }
  }
}
