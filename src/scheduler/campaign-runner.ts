/**
 * Runs fleet campaigns: freezes each campaign's target list, then releases one operation per device through
 * EimCore.submit, paced by a token bucket (rate per second, one second of burst), capped in flight, inside
 * the daily window, canary devices first. Restart safety: every release is submitted with the idempotency
 * key `campaign:<id>:<eid>` and then recorded together with the cursor, so after a crash between the two the
 * same device is submitted again and gets back the same operation: no device is skipped or repeated.
 * Progress is read from the operations themselves (CampaignStore.counts).
 */
import { pino, type Logger } from 'pino';
import type { EimCore } from '../eim/eim-core.js';
import { InvalidArgumentError } from '../errors.js';
import type { CampaignRecord, CampaignState, CampaignStore, OperationCounts } from '../store/campaign-store.js';
import { ConflictError, NotFoundError } from '../store/errors.js';
import type { Page, Store } from '../store/store.js';
import { type CampaignInput, type CampaignProgress, type CampaignService, type CampaignTarget, type CampaignView, checkCampaignInput } from './campaign.js';
import { estimateCampaign } from './campaign-eta.js';
import { windowState } from './daily-window.js';
import type { CancelTimer, Clock, Presence } from './ports.js';

/** A campaign changed state or phase (for the event stream and webhooks). */
export interface CampaignEvent {
  readonly type: 'campaign.changed';
  readonly campaignId: string;
  readonly state: CampaignState;
  readonly phase: CampaignRecord['phase'];
  readonly pausedReason?: string;
  readonly at: number;
}

export interface CampaignRunnerOptions {
  readonly core: Pick<EimCore, 'submit' | 'cancel'>;
  readonly store: Pick<Store, 'listEuiccs' | 'listOperations'>;
  readonly campaigns: CampaignStore;
  readonly clock: Clock;
  /** For the ETA (expected wake-ups); without it, devices count as reachable at release. */
  readonly presence?: Presence;
  readonly onEvent?: (e: CampaignEvent) => void;
  readonly logger?: Logger;
  /** Re-evaluation period while campaigns are active, besides event-driven ticks (default 1 s). */
  readonly pollIntervalMs?: number;
}

const ACTIVE: readonly CampaignState[] = ['scheduled', 'running'];

interface Bucket {
  tokens: number;
  at: number;
}

export class CampaignRunner implements CampaignService {
  readonly #core: CampaignRunnerOptions['core'];
  readonly #store: CampaignRunnerOptions['store'];
  readonly #campaigns: CampaignStore;
  readonly #clock: Clock;
  readonly #presence: Presence | undefined;
  readonly #emit: (e: CampaignEvent) => void;
  readonly #log: Logger;
  readonly #pollIntervalMs: number;
  readonly #buckets = new Map<string, Bucket>();
  /** Ticks and lifecycle changes run one at a time, in call order. */
  #chain: Promise<unknown> = Promise.resolve();
  #tickQueued = false;
  #timer: CancelTimer | undefined;
  #timerAt = Number.POSITIVE_INFINITY;
  #started = false;

  constructor(options: CampaignRunnerOptions) {
    this.#core = options.core;
    this.#store = options.store;
    this.#campaigns = options.campaigns;
    this.#clock = options.clock;
    this.#presence = options.presence;
    this.#emit = options.onEvent ?? (() => undefined);
    this.#log = (options.logger ?? pino({ level: 'silent' })).child({ component: 'campaigns' });
    this.#pollIntervalMs = options.pollIntervalMs ?? 1000;
  }

  /** Resumes every active campaign from its stored cursor and phase. */
  start(): void {
    this.#started = true;
    void this.tick();
  }

  /** Stops ticking and waits for the tick under way. */
  async stop(): Promise<void> {
    this.#started = false;
    this.#timer?.();
    this.#timer = undefined;
    this.#timerAt = Number.POSITIVE_INFINITY;
    await this.settled();
  }

  /** Resolves when every tick and change asked for so far has run. */
  async settled(): Promise<void> {
    await this.#chain.catch(() => undefined);
  }

  /** Feed of operation events: a finished operation may free a slot or end a canary; re-evaluate soon. */
  onOperationEvent(e: { type: string; state?: string }): void {
    if (e.type === 'operation.changed' && e.state !== 'queued' && e.state !== 'sent') void this.tick();
  }

  /** Evaluates every active campaign now (coalesced with a tick already waiting). */
  tick(): Promise<void> {
    if (!this.#started) return this.settled();
    if (this.#tickQueued) return this.settled();
    this.#tickQueued = true;
    return this.#exclusive(async () => {
      this.#tickQueued = false;
      await this.#runTick();
    });
  }

  #exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#chain.then(fn, fn);
    this.#chain = run.catch(() => undefined);
    return run;
  }

  async #runTick(): Promise<void> {
    const now = this.#clock.now();
    let due = Number.POSITIVE_INFINITY;
    let cursor: string | undefined;
    do {
      const page = await this.#campaigns.list({ state: ACTIVE, limit: 100, ...(cursor !== undefined ? { cursor } : {}) });
      for (const c of page.items) {
        try {
          due = Math.min(due, (await this.#step(c, now)) ?? now + this.#pollIntervalMs);
        } catch (err) {
          this.#log.error({ campaignId: c.id, err }, 'campaign step failed');
          due = Math.min(due, now + this.#pollIntervalMs);
        }
      }
      cursor = page.nextCursor;
    } while (cursor !== undefined);
    if (due !== Number.POSITIVE_INFINITY) this.#armAt(Math.max(due, now + 1));
  }

  #armAt(at: number): void {
    if (!this.#started || at >= this.#timerAt) return;
    this.#timer?.();
    this.#timerAt = at;
    this.#timer = this.#clock.setTimer(at, () => {
      this.#timer = undefined;
      this.#timerAt = Number.POSITIVE_INFINITY;
      void this.tick();
    });
  }

  /** Advances one campaign; returns when it next needs a look (undefined: on the next event or poll). */
  async #step(initial: CampaignRecord, now: number): Promise<number | undefined> {
    let c = initial;
    if (c.state === 'scheduled') {
      if (now < c.startAt) return c.startAt;
      c = await this.#change(c, { state: 'running' }, now);
    }
    const counts = await this.#campaigns.counts(c.id);
    const { inFlight, finished, failed } = tally(counts.all);
    if (c.phase === 'canary') {
      const k = counts.canary;
      if (k.failed + k.expired + k.cancelled > 0) {
        await this.#change(c, { state: 'paused', pausedReason: 'canary-failed' }, now);
        return undefined;
      }
      if (c.cursor >= c.canaryCount && k.queued + k.sent === 0) c = await this.#change(c, { phase: 'main' }, now);
    }
    const since = finished - c.baselineFinished;
    if (c.failureThreshold < 1 && since >= c.minResultsForThreshold && (failed - c.baselineFailed) / since > c.failureThreshold) {
      await this.#change(c, { state: 'paused', pausedReason: 'failure-threshold' }, now);
      return undefined;
    }
    if (c.cursor >= c.total && inFlight === 0) {
      await this.#change(c, { state: 'completed', completedAt: now }, now);
      this.#buckets.delete(c.id);
      return undefined;
    }
    const limit = c.phase === 'canary' ? c.canaryCount : c.total;
    if (c.cursor >= limit) return undefined;
    const w = windowState(c.window, now);
    if (!w.open) return w.opensAt;
    const bucket = this.#buckets.get(c.id) ?? { tokens: 1, at: now };
    bucket.tokens = Math.min(Math.max(1, c.rate), bucket.tokens + ((now - bucket.at) * c.rate) / 1000);
    bucket.at = now;
    this.#buckets.set(c.id, bucket);
    const n = Math.min(Math.floor(bucket.tokens), c.maxInFlight - inFlight, limit - c.cursor);
    let cursor = c.cursor;
    if (n > 0) {
      for (const d of await this.#campaigns.devices(c.id, { fromSeq: cursor, limit: n })) {
        await this.#release(c, d.seq, d.eid, now);
        cursor = d.seq + 1;
        bucket.tokens -= 1;
      }
    }
    if (cursor >= limit || c.maxInFlight - inFlight - n <= 0) return undefined;
    return now + Math.max(1, Math.ceil(((1 - bucket.tokens) * 1000) / c.rate));
  }

  async #release(c: CampaignRecord, seq: number, eid: string, now: number): Promise<void> {
    let operationId: string | undefined;
    let skipped: string | undefined;
    try {
      const op = await this.#core.submit(eid, c.request, {
        idempotencyKey: `campaign:${c.id}:${eid}`,
        campaignId: c.id,
        actor: `campaign:${c.id}`,
        ...(c.deviceExpiryMs !== undefined ? { expiresAt: now + c.deviceExpiryMs } : {}),
      });
      operationId = op.id;
    } catch (e) {
      if (!(e instanceof NotFoundError)) throw e;
      skipped = 'euicc-not-found';
    }
    await this.#campaigns.recordRelease(c.id, seq, { releasedAt: now, ...(operationId !== undefined ? { operationId } : { skipped: skipped! }) });
  }

  async #change(c: CampaignRecord, patch: Parameters<CampaignStore['update']>[1], now: number, expectedState?: readonly CampaignState[]): Promise<CampaignRecord> {
    const next = await this.#campaigns.update(c.id, { ...patch, updatedAt: now }, { expectedState: expectedState ?? [c.state] });
    this.#log.info({ campaignId: c.id, state: next.state, phase: next.phase, pausedReason: next.pausedReason }, 'campaign changed');
    this.#emit({ type: 'campaign.changed', campaignId: c.id, state: next.state, phase: next.phase, ...(next.pausedReason !== undefined ? { pausedReason: next.pausedReason } : {}), at: now });
    return next;
  }

  async create(input: CampaignInput, actor?: string): Promise<CampaignView> {
    const { request } = checkCampaignInput(input);
    const eids = await this.#resolve(input.target);
    if (eids.length === 0) throw new InvalidArgumentError('target', 'matches no eUICC');
    const now = this.#clock.now();
    const startAt = input.startAt ?? now;
    const canaryShare = input.canaryShare ?? 0;
    const record: CampaignRecord = {
      // Web Crypto's UUID: node:crypto belongs to src/crypto (house style B2.2).
      id: globalThis.crypto.randomUUID(),
      ...(input.name !== undefined ? { name: input.name } : {}),
      request,
      target: input.target as unknown as CampaignRecord['target'],
      startAt,
      ...(input.window !== undefined ? { window: { start: input.window.start, end: input.window.end, timeZone: input.window.timeZone } } : {}),
      rate: input.rate,
      maxInFlight: input.maxInFlight,
      canaryShare,
      failureThreshold: input.failureThreshold ?? 1,
      minResultsForThreshold: input.minResultsForThreshold ?? 10,
      ...(input.deviceExpiryMs !== undefined ? { deviceExpiryMs: input.deviceExpiryMs } : {}),
      state: startAt > now ? 'scheduled' : 'running',
      phase: canaryShare > 0 ? 'canary' : 'main',
      total: eids.length,
      canaryCount: canaryShare > 0 ? Math.min(eids.length, Math.max(1, Math.ceil(canaryShare * eids.length))) : 0,
      cursor: 0,
      baselineFinished: 0,
      baselineFailed: 0,
      ...(actor !== undefined ? { createdBy: actor } : {}),
      createdAt: now,
      updatedAt: now,
    };
    await this.#campaigns.create(record, eids);
    this.#emit({ type: 'campaign.changed', campaignId: record.id, state: record.state, phase: record.phase, at: now });
    void this.tick();
    return this.#view(record);
  }

  /** The frozen, de-duplicated device list of a target, in a stable order. */
  async #resolve(target: CampaignTarget): Promise<string[]> {
    if ('eids' in target) return [...new Set(target.eids)];
    const filter = 'label' in target ? { label: target.label } : { ...target.filter };
    const eids: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await this.#store.listEuiccs({ ...filter, limit: 1000, ...(cursor !== undefined ? { cursor } : {}) });
      for (const e of page.items) eids.push(e.eid);
      cursor = page.nextCursor;
    } while (cursor !== undefined);
    return eids;
  }

  list(filter: { state?: CampaignState; cursor?: string; limit?: number } = {}): Promise<Page<CampaignRecord>> {
    return this.#campaigns.list(filter);
  }

  async get(id: string): Promise<CampaignView | undefined> {
    const c = await this.#campaigns.get(id);
    return c === undefined ? undefined : this.#view(c);
  }

  async #view(c: CampaignRecord): Promise<CampaignView> {
    const counts = await this.#campaigns.counts(c.id);
    const { inFlight, finished, failed } = tally(counts.all);
    const progress: CampaignProgress = {
      total: c.total,
      released: c.cursor,
      skipped: counts.skipped,
      inFlight,
      byState: counts.all,
      canary: { total: c.canaryCount, byState: counts.canary },
      failureRate: finished === 0 ? 0 : failed / finished,
    };
    const unfinished = c.state === 'completed' || c.state === 'cancelled' ? [] : await this.#campaigns.unfinishedDevices(c.id);
    const eta = estimateCampaign({ campaign: c, now: this.#clock.now(), unfinished, ...(this.#presence !== undefined ? { presence: this.#presence } : {}) });
    return { ...c, progress, eta };
  }

  pause(id: string, actor?: string): Promise<CampaignView> {
    return this.#exclusive(async () => {
      const c = await this.#require(id);
      if (!ACTIVE.includes(c.state)) throw new ConflictError(`campaign ${id} is ${c.state}; only a scheduled or running campaign can be paused`);
      this.#log.info({ campaignId: id, actor }, 'pause requested');
      return this.#view(await this.#change(c, { state: 'paused', pausedReason: 'operator' }, this.#clock.now()));
    });
  }

  resume(id: string, actor?: string): Promise<CampaignView> {
    const result = this.#exclusive(async () => {
      const c = await this.#require(id);
      if (c.state !== 'paused') throw new ConflictError(`campaign ${id} is ${c.state}; only a paused campaign can be resumed`);
      const now = this.#clock.now();
      const { finished, failed } = tally((await this.#campaigns.counts(id)).all);
      this.#log.info({ campaignId: id, actor, pausedReason: c.pausedReason }, 'resume requested');
      // Resuming after a failed canary is the operator accepting it: the rest is released. The failure
      // threshold restarts from here, or it would pause again at once on the failures already seen.
      const next = await this.#change(
        c,
        {
          state: now < c.startAt ? 'scheduled' : 'running',
          pausedReason: null,
          baselineFinished: finished,
          baselineFailed: failed,
          ...(c.pausedReason === 'canary-failed' ? { phase: 'main' as const } : {}),
        },
        now,
      );
      return this.#view(next);
    });
    void result.then(() => this.tick(), () => undefined);
    return result;
  }

  cancel(id: string, actor?: string): Promise<CampaignView> {
    return this.#exclusive(async () => {
      const c = await this.#require(id);
      if (c.state === 'completed' || c.state === 'cancelled') throw new ConflictError(`campaign ${id} is already ${c.state}`);
      const now = this.#clock.now();
      const next = await this.#change(c, { state: 'cancelled', completedAt: now }, now);
      this.#buckets.delete(id);
      // Operations not yet sent are withdrawn; those already with their device finish normally.
      let cancelled = 0;
      let cursor: string | undefined;
      do {
        const page = await this.#store.listOperations({ campaignId: id, state: 'queued', limit: 500, ...(cursor !== undefined ? { cursor } : {}) });
        for (const op of page.items) {
          try {
            await this.#core.cancel(op.id);
            cancelled++;
          } catch (e) {
            if (!(e instanceof ConflictError)) throw e;
          }
        }
        cursor = page.nextCursor;
      } while (cursor !== undefined);
      this.#log.info({ campaignId: id, actor, cancelled }, 'campaign cancelled');
      return this.#view(next);
    });
  }

  async #require(id: string): Promise<CampaignRecord> {
    const c = await this.#campaigns.get(id);
    if (c === undefined) throw new NotFoundError(`campaign ${id} does not exist`);
    return c;
  }
}

/** Released operations still open, those that reached a final state, and the final ones that count as failures. */
function tally(a: OperationCounts): { inFlight: number; finished: number; failed: number } {
  return { inFlight: a.queued + a.sent, finished: a.done + a.failed + a.expired + a.cancelled, failed: a.failed + a.expired };
}
