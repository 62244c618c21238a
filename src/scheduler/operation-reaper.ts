/**
 * Expiry and reconciliation sweeps (SGP.32 v1.2 §2.11: an eIM package whose result never comes must not
 * stay pending). The core expires a queued operation lazily, when its device next asks, and fails a sent one
 * after maxAttempts deliveries; a device that never comes back would leave both hanging. The reaper closes
 * them on a timer: queued operations past expiresAt become 'expired'; operations 'sent' longer than
 * reconcileAfterMs become 'failed' (errorCode 'no-result') and the eUICC is marked for re-synchronisation,
 * so its next package is a listProfileInfo that reconciles the inventory with whatever the eUICC really did.
 */
import { pino, type Logger } from 'pino';
import { commitWithEvent, type EventSink, operationChanged } from '../eim/events.js';
import { ConflictError, NotFoundError } from '../store/errors.js';
import type { OperationRecord } from '../store/records.js';
import type { Store } from '../store/store.js';
import type { CancelTimer, Clock } from './ports.js';

export interface OperationReaperOptions {
  readonly store: Store;
  readonly clock: Clock;
  /** Where the reaper's operation.changed events go (the same sink as the core's). */
  readonly onEvent?: EventSink;
  readonly logger?: Logger;
  /** Time between sweeps (default 60 s). */
  readonly sweepIntervalMs?: number;
  /** A 'sent' operation with no result for this long is reconciled (default 24 h). */
  readonly reconcileAfterMs?: number;
  /** Page size of the scans (default 500, at most 1000). */
  readonly batchSize?: number;
  /** Pages of queued operations examined per sweep for expiry (default 20): a bigger backlog spans sweeps. */
  readonly pagesPerSweep?: number;
}

export interface SweepResult {
  readonly expired: number;
  readonly reconciled: number;
}

export class OperationReaper {
  readonly #store: Store;
  readonly #clock: Clock;
  readonly #emit: EventSink;
  readonly #log: Logger;
  readonly #intervalMs: number;
  readonly #reconcileAfterMs: number;
  readonly #batch: number;
  readonly #pagesPerSweep: number;
  #expiryCursor: string | undefined;
  #timer: CancelTimer | undefined;
  #running: Promise<SweepResult> | undefined;
  #started = false;

  constructor(options: OperationReaperOptions) {
    this.#store = options.store;
    this.#clock = options.clock;
    this.#emit = options.onEvent ?? (() => undefined);
    this.#log = (options.logger ?? pino({ level: 'silent' })).child({ component: 'scheduler' });
    this.#intervalMs = options.sweepIntervalMs ?? 60_000;
    this.#reconcileAfterMs = options.reconcileAfterMs ?? 86_400_000;
    this.#batch = Math.min(1000, options.batchSize ?? 500);
    this.#pagesPerSweep = options.pagesPerSweep ?? 20;
  }

  start(): void {
    if (this.#started) return;
    this.#started = true;
    this.#arm();
  }

  async stop(): Promise<void> {
    this.#started = false;
    this.#timer?.();
    this.#timer = undefined;
    await this.#running?.catch(() => undefined);
  }

  #arm(): void {
    if (!this.#started) return;
    this.#timer = this.#clock.setTimer(this.#clock.now() + this.#intervalMs, () => {
      this.sweep()
        .catch((err: unknown) => this.#log.error({ err }, 'operation sweep failed'))
        .finally(() => this.#arm());
    });
  }

  /** One sweep now (also what the timer runs); concurrent calls share the sweep under way. */
  sweep(): Promise<SweepResult> {
    this.#running ??= this.#sweep().finally(() => {
      this.#running = undefined;
    });
    return this.#running;
  }

  async #sweep(): Promise<SweepResult> {
    const now = this.#clock.now();
    let expired = 0;
    // The store has no "queued by expiresAt" index, so the queued set is scanned in pages, resuming where the
    // previous sweep stopped: up to `pagesPerSweep` pages per sweep, so any backlog is covered in bounded time.
    for (let pages = 0; pages < this.#pagesPerSweep; pages++) {
      const page = await this.#store.listOperations({ state: 'queued', limit: this.#batch, ...(this.#expiryCursor !== undefined ? { cursor: this.#expiryCursor } : {}) });
      this.#expiryCursor = page.nextCursor;
      for (const op of page.items) {
        if (op.expiresAt === undefined || op.expiresAt > now) continue;
        if (await this.#close(op, now, { state: 'expired', completedAt: now, updatedAt: now }, 'queued')) expired++;
      }
      if (page.nextCursor === undefined) break;
    }
    let reconciled = 0;
    const stale = await this.#store.sentOperations({ sentBefore: now - this.#reconcileAfterMs, limit: this.#batch });
    for (const op of stale) {
      const ok = await this.#close(
        op,
        now,
        { state: 'failed', errorCode: 'no-result', errorMessage: `no result ${Math.round((now - (op.sentAt ?? now)) / 1000)} s after the last delivery; inventory re-synchronisation requested`, completedAt: now, updatedAt: now },
        'sent',
      );
      if (ok) reconciled++;
    }
    if (expired + reconciled > 0) this.#log.info({ expired, reconciled }, 'operations closed by sweep');
    return { expired, reconciled };
  }

  /** Moves one operation to a final state unless it moved meanwhile (then false). */
  async #close(op: OperationRecord, now: number, patch: { state: 'expired' | 'failed'; errorCode?: string; errorMessage?: string; completedAt: number; updatedAt: number }, from: 'queued' | 'sent'): Promise<boolean> {
    const event = operationChanged(op, patch.state, now, patch.errorCode);
    const write = (resync: boolean) =>
      commitWithEvent({ store: this.#store, emit: this.#emit }, event, (tx) => {
        tx.updateOperation(op.id, patch, { expectedState: from });
        if (resync) tx.patchEuicc(op.eid, { resync: { cause: 'no-result', since: now }, updatedAt: now });
        tx.appendAudit({ at: now, actor: 'scheduler', action: from === 'sent' ? 'operation-reconciled' : 'operation-expired', eid: op.eid, operationId: op.id, outcome: 'ok' });
      });
    try {
      try {
        await write(from === 'sent');
      } catch (e) {
        // The eUICC was deleted since: still close the operation, there is nothing to re-read.
        if (e instanceof NotFoundError && from === 'sent') await write(false);
        else throw e;
      }
    } catch (e) {
      // Its result arrived first (or the operation is gone): nothing to reap.
      if (e instanceof ConflictError || e instanceof NotFoundError) return false;
      throw e;
    }
    return true;
  }
}
