/**
 * The durable notification outbox (SGP.22 v2.5 §3.5 / ES9+ HandleNotification, SGP.32 v1.2 §3.7, notes
 * §(f)): every stored notification with a notificationAddress (ProfileInstallationResult,
 * OtherSignedNotification) is sent unchanged to that SM-DP+ with the eIM in the LPA role, and retried with
 * a growing delay until the SM-DP+ accepts it. State lives in the store (forwardState, forwardAttempts,
 * nextForwardAt), so a restart resumes where it stopped. The acknowledgement to the eUICC does not wait for
 * this: it follows the local store (the core's job).
 */
import { pino, type Logger } from 'pino';
import { childrenOf, readSingle } from '../asn1/tlv.js';
import type { NotificationRecord } from '../store/records.js';
import type { Store } from '../store/store.js';
import type { Es9PlusClient } from './es9plus-client.js';

export interface NotificationForwarderOptions {
  readonly store: Store;
  readonly client: Es9PlusClient;
  readonly now?: () => number;
  /** Delay before attempt n+1 after n failures (default 5 s doubling, capped at 1 h). */
  readonly backoffMs?: (failures: number) => number;
  /** Failures after which a notification is marked 'failed' and left alone (default 100, about 4 days). */
  readonly maxAttempts?: number;
  readonly batch?: number;
  readonly logger?: Logger;
}

const defaultBackoff = (n: number): number => Math.min(3_600_000, 5000 * 2 ** Math.min(n - 1, 20));

/**
 * The PendingNotification to send: the stored TLV itself, or for a direct download's stored
 * ProfileDownloadTriggerResult (BF54) the ProfileInstallationResult (BF37) inside it.
 */
export function pendingNotificationOf(payload: Uint8Array): Uint8Array | undefined {
  try {
    const t = readSingle(payload);
    if (t.tag !== 0xbf54) return payload;
    return childrenOf(t).find((c) => c.tag === 0xbf37)?.bytes;
  } catch {
    return undefined;
  }
}

export class NotificationForwarder {
  readonly #store: Store;
  readonly #client: Es9PlusClient;
  readonly #now: () => number;
  readonly #backoff: (n: number) => number;
  readonly #maxAttempts: number;
  readonly #batch: number;
  readonly #log: Logger;
  #running: Promise<number> | undefined;
  #again = false;
  #timer: NodeJS.Timeout | undefined;

  constructor(options: NotificationForwarderOptions) {
    this.#store = options.store;
    this.#client = options.client;
    this.#now = options.now ?? Date.now;
    this.#backoff = options.backoffMs ?? defaultBackoff;
    this.#maxAttempts = options.maxAttempts ?? 100;
    this.#batch = options.batch ?? 50;
    this.#log = (options.logger ?? pino({ level: 'silent' })).child({ component: 'notification-forwarder' });
  }

  /** Forwards every due notification once; resolves with how many the SM-DP+s accepted. One run at a time. */
  forwardDue(): Promise<number> {
    if (this.#running !== undefined) {
      this.#again = true;
      return this.#running;
    }
    const run = (async () => {
      let accepted = 0;
      do {
        this.#again = false;
        const due = await this.#store.notificationsPendingForward(this.#now(), { limit: this.#batch });
        for (const n of due) if (await this.#forward(n)) accepted++;
      } while (this.#again);
      return accepted;
    })();
    this.#running = run.finally(() => {
      this.#running = undefined;
    });
    return this.#running;
  }

  /** Starts a forwarding run in the background (after a new notification was stored). */
  kick(): void {
    this.forwardDue().catch((e: unknown) => this.#log.error({ err: e }, 'notification forwarding failed'));
  }

  /** Resolves when no run is in progress. */
  async idle(): Promise<void> {
    while (this.#running !== undefined) await this.#running.catch(() => undefined);
  }

  /** Retries due notifications every `intervalMs` until stop(). */
  start(intervalMs = 5000): void {
    if (this.#timer !== undefined) return;
    this.#timer = setInterval(() => this.kick(), intervalMs);
    this.#timer.unref();
  }

  async stop(): Promise<void> {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
    await this.idle();
  }

  async #forward(n: NotificationRecord): Promise<boolean> {
    const address = n.notificationAddress;
    const bytes = pendingNotificationOf(n.payload);
    const attempts = n.forwardAttempts + 1;
    if (address === undefined || address === '' || bytes === undefined) {
      await this.#store.commit((tx) => tx.patchNotification(n.eid, n.seqNumber, { forwardState: 'failed', forwardAttempts: attempts }));
      this.#log.warn({ eid: n.eid, seqNumber: n.seqNumber }, 'notification cannot be forwarded (no address or unreadable payload)');
      return false;
    }
    const out = await this.#client.handleNotification(address, bytes);
    const now = this.#now();
    if (out.kind === 'ok') {
      await this.#store.commit((tx) => {
        tx.patchNotification(n.eid, n.seqNumber, { forwardState: 'forwarded', forwardAttempts: attempts, nextForwardAt: undefined });
        tx.appendAudit({ at: now, actor: 'eim', action: 'notification-forwarded', eid: n.eid, outcome: 'ok', detail: { seqNumber: n.seqNumber, notificationAddress: address, attempts } });
      });
      return true;
    }
    const giveUp = attempts >= this.#maxAttempts;
    await this.#store.commit((tx) =>
      tx.patchNotification(n.eid, n.seqNumber, giveUp ? { forwardState: 'failed', forwardAttempts: attempts } : { forwardAttempts: attempts, nextForwardAt: now + this.#backoff(attempts) }),
    );
    this.#log.info({ eid: n.eid, seqNumber: n.seqNumber, attempts, giveUp, outcome: out }, 'notification forward failed');
    return false;
  }
}
