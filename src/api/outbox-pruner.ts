/**
 * Retention of the event outbox: events older than the retention that every webhook has delivered are deleted,
 * once now and then every interval, so the outbox does not grow without bound. Within the retention a client
 * can replay what it missed (SSE Last-Event-ID); a webhook that is behind keeps its events however old.
 */
import { pino, type Logger } from 'pino';
import type { ApiStore } from '../store/api-store.js';

export interface OutboxPrunerOptions {
  readonly apiStore: ApiStore;
  /** How long events are kept, ms. */
  readonly retentionMs: number;
  /** How often to prune, ms (default: an hour, or the retention when shorter). */
  readonly intervalMs?: number;
  readonly now?: () => number;
  readonly logger?: Logger;
}

export class OutboxPruner {
  readonly #o: Required<Omit<OutboxPrunerOptions, 'logger'>>;
  readonly #log: Logger;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<number> | undefined;

  constructor(options: OutboxPrunerOptions) {
    this.#o = {
      apiStore: options.apiStore,
      retentionMs: options.retentionMs,
      intervalMs: options.intervalMs ?? Math.min(3_600_000, options.retentionMs),
      now: options.now ?? Date.now,
    };
    this.#log = (options.logger ?? pino({ level: 'silent' })).child({ component: 'outbox-pruner' });
  }

  /** Deletes what is past the retention and delivered to every webhook; returns how many events went. */
  async pruneOnce(): Promise<number> {
    const upToSeq = await this.#o.apiStore.lastEventSeqBefore(this.#o.now() - this.#o.retentionMs);
    const deleted = upToSeq > 0 ? await this.#o.apiStore.pruneEvents(upToSeq) : 0;
    if (deleted > 0) this.#log.info({ deleted, upToSeq }, 'outbox events past their retention deleted');
    return deleted;
  }

  start(): void {
    if (this.#timer !== undefined) return;
    const run = (): void => {
      this.#running = this.pruneOnce().catch((err: unknown) => {
        this.#log.warn({ err }, 'outbox pruning failed; retried at the next interval');
        return 0;
      });
    };
    run();
    this.#timer = setInterval(run, this.#o.intervalMs);
    this.#timer.unref();
  }

  /** Stops the interval and waits for a pass in progress. */
  async stop(): Promise<void> {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
    await this.#running;
  }
}
