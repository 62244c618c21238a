/**
 * ECDSA/SHA-256 signing and verification on worker threads (SGP.32 v1.2 §2.11: the eIM signs every package
 * and verifies every eUICC result), so the thread that runs the eIM core and its SQLite store is not also the
 * one doing the elliptic-curve work: on a 2-core machine the two are then done side by side.
 *
 * Requests made in one event-loop turn travel as one message per worker (a postMessage costs a few us, about
 * a tenth of a signature); keys are posted once per worker and then named by a number. The worker is plain
 * JavaScript run with `eval`, using node:crypto only, so it loads the same under tsx and from the build.
 * Results are exactly those of ecdsa.ts: 64-byte r||s out, r||s or DER accepted in.
 */
import { verify as nodeVerify, type KeyObject } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { assertBytes } from '../errors.js';
import { publicKeyObject, RAW_SIGNATURE_LENGTH, signEcdsa, tryDerToRaw, type PublicKeyInput, type VerifyResult } from './ecdsa.js';
import { KeyError, SignatureError } from './errors.js';

/** Requests per message (measured: 16-32 keeps the postMessage cost small and the pipeline full). */
const CHUNK = 24;

/** Keys a worker keeps (the eUICC keys of a large fleet would otherwise grow without bound). */
const WORKER_KEY_LIMIT = 50_000;

const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const { sign, verify } = require('node:crypto');
const keys = new Map();
parentPort.on('message', (batch) => {
  const out = new Array(batch.length);
  for (let i = 0; i < batch.length; i++) {
    const r = batch[i];
    if (r.key !== undefined) {
      if (keys.size >= ${WORKER_KEY_LIMIT}) keys.delete(keys.keys().next().value);
      keys.set(r.keyId, r.key);
    }
    const key = keys.get(r.keyId);
    try {
      if (key === undefined) throw new Error('unknown key ' + r.keyId);
      out[i] = r.sig === undefined
        ? sign('sha256', r.data, { key, dsaEncoding: 'ieee-p1363' })
        : verify('sha256', r.data, { key, dsaEncoding: 'ieee-p1363' }, r.sig);
    } catch (e) {
      out[i] = { error: String((e && e.message) || e) };
    }
  }
  parentPort.postMessage(out);
});
`;

interface Request {
  readonly keyId: number;
  readonly key: KeyObject;
  readonly data: Uint8Array;
  readonly sig?: Uint8Array;
}

interface Waiter {
  resolve(value: unknown): void;
  reject(error: Error): void;
}

interface Lane {
  readonly worker: Worker;
  /** Key ids this worker holds, in the order it received them (it evicts in the same order). */
  readonly known: Set<number>;
  /** Batches posted and not answered yet, oldest first (a worker answers in order). */
  readonly inFlight: Waiter[][];
  failed?: Error;
}

export interface CryptoPoolOptions {
  /** Worker threads; default: one less than the available cores, at least one. */
  readonly threads?: number;
}

export class CryptoPool {
  readonly #lanes: Lane[];
  readonly #keyIds = new WeakMap<KeyObject, number>();
  #nextKeyId = 1;
  #queue: { request: Request; waiter: Waiter }[] = [];
  #scheduled = false;
  #next = 0;
  #pending = 0;
  #closed = false;

  constructor(options: CryptoPoolOptions = {}) {
    const threads = options.threads ?? Math.max(1, availableParallelism() - 1);
    if (!Number.isSafeInteger(threads) || threads < 1) throw new KeyError('a crypto pool needs at least one thread');
    this.#lanes = Array.from({ length: threads }, () => this.#lane());
  }

  get threads(): number {
    return this.#lanes.length;
  }

  #lane(): Lane {
    const worker = new Worker(WORKER_SOURCE, { eval: true });
    // Idle workers must not keep the process alive; a pending request does (see #settled).
    worker.unref();
    const lane: Lane = { worker, known: new Set(), inFlight: [] };
    worker.on('message', (results: unknown[]) => {
      const waiters = lane.inFlight.shift() ?? [];
      waiters.forEach((w, i) => {
        const r = results[i];
        if (r !== null && typeof r === 'object' && 'error' in r) w.reject(new SignatureError(`crypto worker: ${String((r as { error: unknown }).error)}`));
        else w.resolve(r);
      });
      this.#settled(waiters.length);
    });
    const fail = (error: Error): void => {
      lane.failed = error;
      for (const waiters of lane.inFlight.splice(0)) {
        for (const w of waiters) w.reject(error);
        this.#settled(waiters.length);
      }
    };
    worker.on('error', (e) => fail(new SignatureError('crypto worker failed', { cause: e })));
    worker.on('exit', (code) => fail(new SignatureError(`crypto worker exited (${code})`)));
    return lane;
  }

  #settled(n: number): void {
    this.#pending -= n;
    if (this.#pending === 0) for (const l of this.#lanes) l.worker.unref();
  }

  #keyId(key: KeyObject): number {
    let id = this.#keyIds.get(key);
    if (id === undefined) {
      id = this.#nextKeyId++;
      this.#keyIds.set(key, id);
    }
    return id;
  }

  #submit<T>(key: KeyObject, data: Uint8Array, sig?: Uint8Array): Promise<T> {
    if (this.#closed) return Promise.reject(new SignatureError('the crypto pool is closed'));
    return new Promise<T>((resolve, reject) => {
      const keyId = this.#keyId(key);
      const request: Request = sig === undefined ? { keyId, key, data } : { keyId, key, data, sig };
      this.#queue.push({ request, waiter: { resolve: resolve as (v: unknown) => void, reject } });
      if (this.#pending++ === 0) for (const l of this.#lanes) l.worker.ref();
      if (!this.#scheduled) {
        this.#scheduled = true;
        queueMicrotask(() => this.#flush());
      }
    });
  }

  /**
   * Posts what was asked for in this turn, in messages of at most CHUNK requests dealt to the workers in turn:
   * answers then come back a chunk at a time, so the caller commits the first packages while later ones are
   * still being signed, instead of waiting idle for the whole burst.
   */
  #flush(): void {
    this.#scheduled = false;
    const queue = this.#queue;
    this.#queue = [];
    if (queue.length === 1 && this.#pending === 1) {
      this.#inline(queue[0]!);
      return;
    }
    const lanes = this.#lanes.filter((l) => l.failed === undefined);
    if (lanes.length === 0) {
      for (const { waiter } of queue) waiter.reject(new SignatureError('no crypto worker is running'));
      this.#settled(queue.length);
      return;
    }
    for (let start = 0; start < queue.length; start += CHUNK) {
      const lane = lanes[this.#next++ % lanes.length]!;
      const part = queue.slice(start, start + CHUNK);
      // The key object itself goes only to a worker that does not hold it yet.
      // Views are compacted only here, for posting: a request answered inline needs no copy.
      const requests = part.map(({ request: { keyId, key, data, sig } }) => {
        const posted = sig === undefined ? { keyId, data: compact(data) } : { keyId, data: compact(data), sig: compact(sig) };
        if (lane.known.has(keyId)) return posted;
        if (lane.known.size >= WORKER_KEY_LIMIT) lane.known.delete(lane.known.values().next().value!);
        lane.known.add(keyId);
        return { ...posted, key };
      });
      lane.inFlight.push(part.map(({ waiter }) => waiter));
      lane.worker.postMessage(requests);
    }
  }

  /**
   * A lone request with the workers idle is answered here: posting it and waking a worker cost more than the
   * signature itself (measured in a wake storm: ~40 us of postMessage against ~26 us for a P-256 signature, and
   * a thread hop of latency). Bursts still go to the workers, where they leave this thread free.
   */
  #inline({ request: { key, data, sig }, waiter }: { request: Request; waiter: Waiter }): void {
    try {
      // What a worker runs, here: a raw r||s signature, or the verdict on an r||s one.
      waiter.resolve(sig === undefined ? signEcdsa(key, data) : nodeVerify('sha256', data, { key, dsaEncoding: 'ieee-p1363' }, sig));
    } catch (e) {
      waiter.reject(new SignatureError(`crypto: ${(e as Error).message}`, { cause: e }));
    }
    this.#settled(1);
  }

  /** ECDSA/SHA-256 with a private key; resolves to the 64-byte r||s. */
  sign(privateKey: KeyObject, data: Uint8Array): Promise<Uint8Array> {
    assertBytes(data, 'data');
    if (privateKey.type !== 'private') return Promise.reject(new KeyError('signing needs a private key'));
    return this.#submit<Uint8Array>(privateKey, data);
  }

  /** Same answer as verifyEcdsa (r||s first, then DER), computed on a worker. */
  async verifyEcdsa(publicKey: PublicKeyInput, data: Uint8Array, signature: Uint8Array): Promise<VerifyResult> {
    assertBytes(data, 'data');
    assertBytes(signature, 'signature');
    const key = publicKeyObject(publicKey);
    if (signature.length === RAW_SIGNATURE_LENGTH && (await this.#submit<boolean>(key, data, signature))) return { valid: true, encoding: 'raw' };
    const raw = tryDerToRaw(signature);
    if (raw !== undefined) return { valid: await this.#submit<boolean>(key, data, raw), encoding: 'der' };
    return { valid: false, encoding: signature.length === RAW_SIGNATURE_LENGTH ? 'raw' : 'malformed' };
  }

  /** Stops the workers; later calls reject. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await Promise.all(this.#lanes.map((l) => l.worker.terminate()));
  }
}

/** A view of a larger buffer is copied first: posting it would otherwise copy the whole buffer. */
function compact(bytes: Uint8Array): Uint8Array {
  return bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength ? bytes : bytes.slice();
}
