/**
 * The event bus of the operator side: every event (the core's EimEvents, given as its `onEvent`, and the
 * API's own such as `euicc.registered`) is first appended to the durable outbox, then handed to live
 * listeners (SSE clients, the webhook dispatcher) with its outbox seq as id. Appends are chained, so seqs
 * follow publish order. An event the outbox refused is logged and not fanned out: listeners only ever see
 * what a webhook receiver will also get.
 */
import { pino, type Logger } from 'pino';
import type { EimEvent } from '../eim/events.js';
import type { ApiStore, OutboxEvent } from '../store/api-store.js';
import type { Json } from '../store/records.js';

/** Any event: a past-tense `type` ('operation.changed', 'euicc.registered', 'campaign.paused'…) and a time. */
export interface BusEvent {
  readonly type: string;
  readonly at: number;
  readonly [field: string]: unknown;
}

/** Events the API itself emits. */
export type ApiEvent =
  | { readonly type: 'euicc.registered'; readonly eid: string; readonly endpoint?: string; readonly at: number }
  | { readonly type: 'euicc.updated'; readonly eid: string; readonly labels: readonly string[]; readonly at: number }
  | { readonly type: 'euicc.deleted'; readonly eid: string; readonly at: number };

export type Listener = (event: OutboxEvent) => void;

export class EventBus {
  readonly #apiStore: ApiStore;
  readonly #log: Logger;
  readonly #listeners = new Set<Listener>();
  #tail: Promise<void> = Promise.resolve();
  /** Highest outbox seq fanned out (events from before `start()` are history, not news). */
  #lastSeq = 0;
  #announcing = false;

  constructor(options: { apiStore: ApiStore; logger?: Logger }) {
    this.#apiStore = options.apiStore;
    this.#log = (options.logger ?? pino({ level: 'silent' })).child({ component: 'events' });
  }

  /**
   * For EimCoreOptions.onEvent: the core writes its events to the outbox in the same transaction as the change
   * (Changes.appendEvent), so here they are only announced, read back from the outbox in commit order.
   */
  readonly sink = (_event: EimEvent): void => this.announce();

  /** Persists `event` to the outbox (in publish order), then notifies listeners. Never throws. */
  publish(event: BusEvent | ApiEvent | EimEvent): void {
    const { type, at } = event;
    // The outbox stores it as JSON; listeners get the rows read back from there, exactly what a receiver will.
    const data = event as unknown as Json;
    this.#tail = this.#tail.then(async () => {
      try {
        await this.#apiStore.appendEvent({ type, at, data });
      } catch (err) {
        this.#log.error({ err, type }, 'event not written to the outbox; dropped');
        return;
      }
      await this.#drain();
    });
  }

  /** Skips the events already in the outbox at start-up: listeners are told about new events only. */
  async start(): Promise<void> {
    this.#lastSeq = await this.#apiStore.lastEventSeq();
  }

  /** Fans out events other writers committed to the outbox since the last one seen. Never throws. */
  announce(): void {
    if (this.#announcing) return;
    this.#announcing = true;
    this.#tail = this.#tail.then(async () => {
      this.#announcing = false;
      await this.#drain();
    });
  }

  async #drain(): Promise<void> {
    try {
      for (;;) {
        const batch = await this.#apiStore.listEventsAfter(this.#lastSeq, 500);
        for (const stored of batch) {
          this.#lastSeq = stored.seq;
          for (const l of [...this.#listeners]) {
            try {
              l(stored);
            } catch (err) {
              this.#log.error({ err, type: stored.type }, 'event listener failed');
            }
          }
        }
        if (batch.length < 500) return;
      }
    } catch (err) {
      this.#log.error({ err }, 'outbox not readable; events will be announced later');
    }
  }

  /** Calls `listener` for every event persisted from now on; returns the unsubscribe function. */
  subscribe(listener: Listener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  get listenerCount(): number {
    return this.#listeners.size;
  }

  /** Resolves once every event published so far is in the outbox and fanned out (tests, shutdown). */
  flush(): Promise<void> {
    return this.#tail;
  }
}

/** True when an event type matches a subscription pattern: exact, `prefix.*`, or `*`. */
export function eventTypeMatches(patterns: readonly string[], type: string): boolean {
  return patterns.some((p) => p === '*' || p === type || (p.endsWith('.*') && type.startsWith(p.slice(0, -1))));
}
