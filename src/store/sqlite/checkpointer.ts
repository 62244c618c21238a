/**
 * WAL checkpoints on a worker thread with its own connection to the same file (SQLite WAL mode, PASSIVE
 * checkpoints never block the writer). Measured on the eIM's package and result paths: the automatic
 * checkpoint that SQLite runs inside COMMIT (copying pages back into the database file and fsyncing it) was
 * about two thirds of the cost of each group commit, all of it on the thread that also runs the core. Here the
 * writer tells the worker to checkpoint CHECKPOINT_DELAY_MS after the first commit that finds no notice
 * pending, so every commit is followed by a checkpoint and a burst of commits by one message and one checkpoint.
 * The writer keeps a large automatic checkpoint as a safety net, so the WAL stays bounded even if this worker
 * falls behind or dies. The worker is plain JavaScript run with `eval`, so it loads the same under tsx and from
 * the build; better-sqlite3 is resolved from here and passed to it.
 */
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import type { Logger } from 'pino';

/**
 * How long commits gather before a checkpoint. Checkpointing after every commit copied the same hot pages
 * (index roots, the audit and outbox tails) back into the database file again and again, with an fsync each
 * time; gathering 50 ms of commits copies each page once per round (the WAL grows by at most that much
 * writing, far below the writer's own safety net). The gathering happens on the writer's side: a postMessage
 * cost ~50 us here, more than the commit it announced when devices answer one by one.
 */
const CHECKPOINT_DELAY_MS = 50;

const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.module);
const db = new Database(workerData.path);
db.pragma('busy_timeout = 5000');
let closing = false;
function checkpoint() {
  if (closing) return;
  try {
    db.pragma('wal_checkpoint(PASSIVE)');
  } catch (e) {
    parentPort.postMessage({ error: String((e && e.message) || e) });
  }
}
parentPort.on('message', (m) => {
  if (m === 'close') {
    closing = true;
    db.close();
    parentPort.close();
    return;
  }
  checkpoint();
});
`;

export class Checkpointer {
  readonly #worker: Worker;
  readonly #exited: Promise<void>;
  #stopped = false;
  #pending: NodeJS.Timeout | undefined;

  private constructor(worker: Worker, log: Logger, onFailure: () => void) {
    this.#worker = worker;
    // Never keeps the process alive by itself.
    worker.unref();
    worker.on('message', (m: { error?: string }) => log.warn({ err: m.error }, 'background WAL checkpoint failed; retried on the next commit'));
    this.#exited = new Promise((resolve) => {
      worker.on('error', (err) => {
        log.warn({ err }, 'background WAL checkpointer stopped; SQLite checkpoints in the writer again');
        this.#stopped = true;
        onFailure();
      });
      worker.on('exit', () => {
        this.#stopped = true;
        resolve();
      });
    });
  }

  /** Starts a checkpointer for the database file at `path`; `onFailure` runs if it dies. */
  static start(path: string, log: Logger, onFailure: () => void): Checkpointer {
    const module = createRequire(import.meta.url).resolve('better-sqlite3');
    return new Checkpointer(new Worker(WORKER_SOURCE, { eval: true, workerData: { module, path } }), log, onFailure);
  }

  /**
   * The writer committed: the WAL is checkpointed CHECKPOINT_DELAY_MS from the first commit that found no
   * notice pending. A commit made while one is pending is covered by it (the message leaves after the commit),
   * so it announces nothing.
   */
  notify(): void {
    if (this.#stopped || this.#pending !== undefined) return;
    this.#pending = setTimeout(() => {
      this.#pending = undefined;
      if (!this.#stopped) this.#worker.postMessage(0);
    }, CHECKPOINT_DELAY_MS);
    // A pending checkpoint never keeps the process alive (closing checkpoints anyway).
    this.#pending.unref();
  }

  /** Closes the worker's connection and waits for it to end (bounded: then it is terminated). */
  async close(): Promise<void> {
    clearTimeout(this.#pending);
    this.#pending = undefined;
    if (!this.#stopped) {
      this.#worker.ref();
      this.#worker.postMessage('close');
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), 5000)));
      if ((await Promise.race([this.#exited, late])) === 'late') await this.#worker.terminate();
      clearTimeout(timer);
    }
    await this.#exited;
  }
}
