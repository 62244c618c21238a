/**
 * Webhook delivery from the durable outbox. Each subscription has a cursor (deliveredSeq): the loop POSTs
 * the next matching outbox event, advances the cursor only on a 2xx, and otherwise retries the same event
 * with exponential backoff. Because the cursor and the events are in SQLite, a restart resumes where it
 * stopped and a receiver that was down still gets every event, in order (at least once: a crash between the
 * receiver's 2xx and the cursor update repeats one event; `X-Eim-Event-Id` lets the receiver drop it).
 *
 * Each request carries `X-Eim-Signature: sha256=<hex HMAC-SHA256(secret, raw body)>`.
 */
import { createHmac } from 'node:crypto';
import { pino, type Logger } from 'pino';
import type { ApiStore, OutboxEvent, WebhookRecord } from '../store/api-store.js';
import { ConflictError, NotFoundError } from '../store/errors.js';
import { type EventBus, eventTypeMatches } from './events.js';

export interface WebhookDispatcherOptions {
  readonly apiStore: ApiStore;
  /** Wakes the loop when an event is persisted; without it the loop only polls. */
  readonly bus?: EventBus;
  readonly logger?: Logger;
  readonly now?: () => number;
  /** First retry delay (default 1000 ms); doubles per failed attempt up to maxBackoffMs (default 300000). */
  readonly initialBackoffMs?: number;
  readonly maxBackoffMs?: number;
  /** Per-request timeout (default 10000 ms). */
  readonly timeoutMs?: number;
  /** Safety poll interval (default 5000 ms). */
  readonly pollMs?: number;
  readonly fetch?: typeof fetch;
}

/** `sha256=<hex>` signature of a webhook body. */
export function webhookSignature(secret: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(body, 'utf8').digest('hex')}`;
}

/** The JSON body POSTed for an outbox event. */
export function webhookBody(event: OutboxEvent): string {
  return JSON.stringify({ id: event.seq, type: event.type, at: new Date(event.at).toISOString(), data: event.data });
}

export class WebhookDispatcher {
  readonly #o: Required<Omit<WebhookDispatcherOptions, 'bus' | 'logger' | 'fetch'>> & { fetch: typeof fetch };
  readonly #bus: EventBus | undefined;
  readonly #log: Logger;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;
  #again = false;
  #stopped = true;
  #unsubscribe: (() => void) | undefined;

  constructor(options: WebhookDispatcherOptions) {
    this.#o = {
      apiStore: options.apiStore,
      now: options.now ?? Date.now,
      initialBackoffMs: options.initialBackoffMs ?? 1000,
      maxBackoffMs: options.maxBackoffMs ?? 300_000,
      timeoutMs: options.timeoutMs ?? 10_000,
      pollMs: options.pollMs ?? 5000,
      fetch: options.fetch ?? fetch,
    };
    this.#bus = options.bus;
    this.#log = (options.logger ?? pino({ level: 'silent' })).child({ component: 'webhooks' });
  }

  /** Starts the delivery loop (idempotent). */
  start(): void {
    if (!this.#stopped) return;
    this.#stopped = false;
    this.#unsubscribe = this.#bus?.subscribe(() => this.kick());
    this.kick();
  }

  /** Stops the loop and waits for the pass in progress. */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#unsubscribe?.();
    this.#unsubscribe = undefined;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.#running;
  }

  /** Runs a pass soon (after the one in progress, if any). */
  kick(): void {
    if (this.#stopped) return;
    if (this.#running !== undefined) {
      this.#again = true;
      return;
    }
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#running = this.runOnce()
      .catch((err: unknown) => {
        this.#log.error({ err }, 'webhook delivery pass failed');
        return this.#o.now() + this.#o.pollMs;
      })
      .then((nextDue) => {
        this.#running = undefined;
        if (this.#stopped) return;
        if (this.#again) {
          this.#again = false;
          this.kick();
          return;
        }
        const delay = Math.max(0, Math.min(this.#o.pollMs, (nextDue ?? Infinity) - this.#o.now()));
        this.#timer = setTimeout(() => this.kick(), delay);
        this.#timer.unref();
      });
  }

  /**
   * One pass: for every subscription that is due, delivers its pending events in order until one fails or
   * none is left. Returns when the earliest retry is due (undefined when nothing waits).
   */
  async runOnce(): Promise<number | undefined> {
    let nextDue: number | undefined;
    for (const hook of await this.#o.apiStore.listWebhooks()) {
      const due = await this.#deliverPending(hook);
      if (due !== undefined) nextDue = Math.min(nextDue ?? Infinity, due);
    }
    return nextDue;
  }

  async #deliverPending(hook: WebhookRecord): Promise<number | undefined> {
    if (hook.nextAttemptAt !== undefined && hook.nextAttemptAt > this.#o.now()) return hook.nextAttemptAt;
    let cursor = hook.deliveredSeq;
    let attempts = hook.attempts;
    for (;;) {
      const batch = await this.#o.apiStore.listEventsAfter(cursor, 100);
      if (batch.length === 0) return undefined;
      for (const event of batch) {
        const expected = cursor;
        if (eventTypeMatches(hook.eventTypes, event.type)) {
          const error = await this.#post(hook, event);
          if (error !== undefined) {
            attempts += 1;
            const backoff = Math.min(this.#o.maxBackoffMs, this.#o.initialBackoffMs * 2 ** Math.min(attempts - 1, 30));
            const nextAttemptAt = this.#o.now() + backoff;
            this.#log.warn({ webhookId: hook.id, eventId: event.seq, attempts, retryInMs: backoff, reason: error }, 'webhook delivery failed; will retry');
            if (!(await this.#advance(hook.id, { attempts, nextAttemptAt, lastError: error }, expected))) return undefined;
            return nextAttemptAt;
          }
          this.#log.debug({ webhookId: hook.id, eventId: event.seq, type: event.type }, 'webhook delivered');
        }
        attempts = 0;
        cursor = event.seq;
        if (!(await this.#advance(hook.id, { deliveredSeq: event.seq, attempts: 0, nextAttemptAt: undefined, lastError: undefined }, expected))) return undefined;
      }
    }
  }

  /** Moves the subscription's state; false when it was deleted or another loop moved it meanwhile. */
  async #advance(id: string, patch: Parameters<ApiStore['updateWebhookDelivery']>[1], expected: number): Promise<boolean> {
    try {
      await this.#o.apiStore.updateWebhookDelivery(id, patch, { expectedDeliveredSeq: expected });
      return true;
    } catch (e) {
      if (e instanceof NotFoundError || e instanceof ConflictError) return false;
      throw e;
    }
  }

  /** POSTs one event; undefined on a 2xx, else why it failed. */
  async #post(hook: WebhookRecord, event: OutboxEvent): Promise<string | undefined> {
    const body = webhookBody(event);
    try {
      const res = await this.#o.fetch(hook.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'user-agent': 'lwm2m-eim-webhooks/1',
          'x-eim-event': event.type,
          'x-eim-event-id': String(event.seq),
          'x-eim-signature': webhookSignature(hook.secret, body),
        },
        body,
        signal: AbortSignal.timeout(this.#o.timeoutMs),
        redirect: 'manual',
      });
      await res.arrayBuffer().catch(() => undefined);
      return res.status >= 200 && res.status < 300 ? undefined : `HTTP ${res.status}`;
    } catch (err) {
      return err instanceof Error ? `${err.name}: ${err.message}` : String(err);
    }
  }
}
