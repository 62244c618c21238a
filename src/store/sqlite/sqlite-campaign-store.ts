/**
 * The SQLite CampaignStore: campaigns and their device lists in the same file (and migration list) as the
 * SqliteStore, on its connection. Writes are single statements or one better-sqlite3 transaction, run
 * synchronously, so they never interleave with the SqliteStore's group commits. `counts` reads the
 * operations table of the SqliteStore directly (a GROUP BY on its campaign index) instead of keeping a second
 * copy of each operation's state that could drift.
 */
import type Database from 'better-sqlite3';
import { InvalidArgumentError } from '../../errors.js';
import {
  type CampaignCounts,
  type CampaignDevice,
  type CampaignFilter,
  type CampaignPatch,
  type CampaignRecord,
  type CampaignState,
  type CampaignStore,
  type DailyWindow,
  emptyCounts,
  type OperationCounts,
} from '../campaign-store.js';
import { ConflictError, NotFoundError } from '../errors.js';
import { decodeCursor, limitOf, toPage } from '../pagination.js';
import { OPERATION_STATES, type Json, type OperationState } from '../records.js';
import type { Page } from '../store.js';
import { mapSqliteError } from './apply-intent.js';

type Row = Record<string, unknown>;

/** What the campaign store needs of the SqliteStore: its connection (SqliteStore.database). */
export interface SqliteConnectionSource {
  readonly database: Database.Database;
}

export class SqliteCampaignStore implements CampaignStore {
  readonly #source: SqliteConnectionSource;
  readonly #statements = new Map<string, Database.Statement>();

  constructor(source: SqliteConnectionSource) {
    this.#source = source;
  }

  #stmt(sql: string): Database.Statement {
    const db = this.#source.database; // throws StoreError once the store is closed
    let s = this.#statements.get(sql);
    if (s === undefined) {
      s = db.prepare(sql);
      this.#statements.set(sql, s);
    }
    return s;
  }

  async create(record: CampaignRecord, eids: readonly string[]): Promise<void> {
    if (eids.length !== record.total) throw new InvalidArgumentError('eids', `expected ${record.total} devices, got ${eids.length}`);
    const db = this.#source.database;
    const insertCampaign = this.#stmt(`INSERT INTO campaigns (id, name, request, target, start_at, daily_window, rate, max_in_flight, canary_share,
      failure_threshold, min_results_for_threshold, device_expiry_ms, state, phase, paused_reason, total, canary_count, cursor,
      baseline_finished, baseline_failed, created_by, created_at, updated_at, completed_at)
      VALUES (@id, @name, @request, @target, @start_at, @daily_window, @rate, @max_in_flight, @canary_share, @failure_threshold,
      @min_results_for_threshold, @device_expiry_ms, @state, @phase, @paused_reason, @total, @canary_count, @cursor,
      @baseline_finished, @baseline_failed, @created_by, @created_at, @updated_at, @completed_at)`);
    const insertDevice = this.#stmt('INSERT INTO campaign_devices (campaign_id, seq, eid) VALUES (?, ?, ?)');
    try {
      db.transaction(() => {
        insertCampaign.run(toRow(record));
        eids.forEach((eid, seq) => insertDevice.run(record.id, seq, eid));
      })();
    } catch (e) {
      throw mapSqliteError(e);
    }
  }

  async get(id: string): Promise<CampaignRecord | undefined> {
    const row = this.#stmt('SELECT * FROM campaigns WHERE id = ?').get(id) as Row | undefined;
    return row === undefined ? undefined : fromRow(row);
  }

  async list(filter: CampaignFilter = {}): Promise<Page<CampaignRecord>> {
    const limit = limitOf(filter.limit);
    const where: string[] = [];
    const params: unknown[] = [];
    if (filter.state !== undefined) {
      const states = typeof filter.state === 'string' ? [filter.state] : [...filter.state];
      where.push(`state IN (${states.map(() => '?').join(', ')})`);
      params.push(...states);
    }
    if (filter.cursor !== undefined) {
      const [seq] = decodeCursor(filter.cursor, (k) => k.length === 1 && Number.isSafeInteger(k[0]));
      where.push('seq < ?');
      params.push(seq);
    }
    const sql = `SELECT * FROM campaigns ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY seq DESC LIMIT ?`;
    const rows = this.#stmt(sql).all(...params, limit + 1) as Row[];
    const page = toPage(rows, limit, (last) => [last.seq]);
    return { items: page.items.map(fromRow), ...(page.nextCursor !== undefined ? { nextCursor: page.nextCursor } : {}) };
  }

  async update(id: string, patch: CampaignPatch, options: { expectedState?: CampaignState | readonly CampaignState[] } = {}): Promise<CampaignRecord> {
    const db = this.#source.database;
    return db.transaction(() => {
      const row = this.#stmt('SELECT * FROM campaigns WHERE id = ?').get(id) as Row | undefined;
      if (row === undefined) throw new NotFoundError(`campaign ${id} does not exist`);
      const current = fromRow(row);
      if (options.expectedState !== undefined) {
        const expected = typeof options.expectedState === 'string' ? [options.expectedState] : options.expectedState;
        if (!expected.includes(current.state)) throw new ConflictError(`campaign ${id} is ${current.state}`);
      }
      const next: CampaignRecord = { ...current };
      if (patch.state !== undefined) next.state = patch.state;
      if (patch.phase !== undefined) next.phase = patch.phase;
      if (patch.baselineFinished !== undefined) next.baselineFinished = patch.baselineFinished;
      if (patch.baselineFailed !== undefined) next.baselineFailed = patch.baselineFailed;
      if (patch.updatedAt !== undefined) next.updatedAt = patch.updatedAt;
      if (patch.completedAt !== undefined) next.completedAt = patch.completedAt;
      if (patch.pausedReason === null) delete next.pausedReason;
      else if (patch.pausedReason !== undefined) next.pausedReason = patch.pausedReason;
      this.#stmt(
        `UPDATE campaigns SET state = @state, phase = @phase, paused_reason = @paused_reason, baseline_finished = @baseline_finished,
         baseline_failed = @baseline_failed, updated_at = @updated_at, completed_at = @completed_at WHERE id = @id`,
      ).run(pickRow(toRow(next), ['id', 'state', 'phase', 'paused_reason', 'baseline_finished', 'baseline_failed', 'updated_at', 'completed_at']));
      return next;
    })();
  }

  async devices(id: string, options: { fromSeq: number; limit: number }): Promise<CampaignDevice[]> {
    const rows = this.#stmt('SELECT * FROM campaign_devices WHERE campaign_id = ? AND seq >= ? ORDER BY seq LIMIT ?').all(id, options.fromSeq, options.limit) as Row[];
    return rows.map(deviceFromRow);
  }

  async recordRelease(id: string, seq: number, release: { operationId?: string; skipped?: string; releasedAt: number }): Promise<void> {
    const db = this.#source.database;
    db.transaction(() => {
      const moved = this.#stmt('UPDATE campaigns SET cursor = cursor + 1, updated_at = ? WHERE id = ? AND cursor = ?').run(release.releasedAt, id, seq);
      if (moved.changes !== 1) throw new ConflictError(`campaign ${id}: release of device ${seq} is not at the cursor`);
      this.#stmt('UPDATE campaign_devices SET operation_id = ?, skipped = ?, released_at = ? WHERE campaign_id = ? AND seq = ?').run(
        release.operationId ?? null,
        release.skipped ?? null,
        release.releasedAt,
        id,
        seq,
      );
    })();
  }

  async counts(id: string): Promise<CampaignCounts> {
    const all = emptyCounts();
    const canary = emptyCounts();
    const byState = this.#stmt('SELECT state, count(*) AS n FROM operations WHERE campaign_id = ? GROUP BY state').all(id) as { state: string; n: number }[];
    addCounts(all, byState);
    const canaryRows = this.#stmt(
      `SELECT o.state AS state, count(*) AS n FROM campaign_devices d JOIN campaigns c ON c.id = d.campaign_id
       JOIN operations o ON o.id = d.operation_id WHERE d.campaign_id = ? AND d.seq < c.canary_count GROUP BY o.state`,
    ).all(id) as { state: string; n: number }[];
    addCounts(canary, canaryRows);
    const skipped = (this.#stmt('SELECT count(*) AS n FROM campaign_devices WHERE campaign_id = ? AND skipped IS NOT NULL').get(id) as { n: number }).n;
    return { all, canary, skipped };
  }

  async unfinishedDevices(id: string): Promise<{ seq: number; eid: string; released: boolean }[]> {
    const rows = this.#stmt(
      `SELECT d.seq AS seq, d.eid AS eid, d.released_at AS released_at FROM campaign_devices d LEFT JOIN operations o ON o.id = d.operation_id
       WHERE d.campaign_id = ? AND d.skipped IS NULL AND (d.released_at IS NULL OR o.state IN ('queued', 'sent')) ORDER BY d.seq`,
    ).all(id) as { seq: number; eid: string; released_at: number | null }[];
    return rows.map((r) => ({ seq: r.seq, eid: r.eid, released: r.released_at !== null }));
  }
}

function addCounts(into: OperationCounts, rows: { state: string; n: number }[]): void {
  for (const r of rows) if ((OPERATION_STATES as readonly string[]).includes(r.state)) into[r.state as OperationState] += r.n;
}

function pickRow(row: Row, keys: string[]): Row {
  return Object.fromEntries(keys.map((k) => [k, row[k]]));
}

function toRow(r: CampaignRecord): Row {
  return {
    id: r.id,
    name: r.name ?? null,
    request: JSON.stringify(r.request),
    target: JSON.stringify(r.target),
    start_at: r.startAt,
    daily_window: r.window === undefined ? null : JSON.stringify(r.window),
    rate: r.rate,
    max_in_flight: r.maxInFlight,
    canary_share: r.canaryShare,
    failure_threshold: r.failureThreshold,
    min_results_for_threshold: r.minResultsForThreshold,
    device_expiry_ms: r.deviceExpiryMs ?? null,
    state: r.state,
    phase: r.phase,
    paused_reason: r.pausedReason ?? null,
    total: r.total,
    canary_count: r.canaryCount,
    cursor: r.cursor,
    baseline_finished: r.baselineFinished,
    baseline_failed: r.baselineFailed,
    created_by: r.createdBy ?? null,
    created_at: r.createdAt,
    updated_at: r.updatedAt,
    completed_at: r.completedAt ?? null,
  };
}

function fromRow(row: Row): CampaignRecord {
  const r: CampaignRecord = {
    id: row.id as string,
    request: JSON.parse(row.request as string) as Json,
    target: JSON.parse(row.target as string) as Json,
    startAt: row.start_at as number,
    rate: row.rate as number,
    maxInFlight: row.max_in_flight as number,
    canaryShare: row.canary_share as number,
    failureThreshold: row.failure_threshold as number,
    minResultsForThreshold: row.min_results_for_threshold as number,
    state: row.state as CampaignState,
    phase: row.phase as CampaignRecord['phase'],
    total: row.total as number,
    canaryCount: row.canary_count as number,
    cursor: row.cursor as number,
    baselineFinished: row.baseline_finished as number,
    baselineFailed: row.baseline_failed as number,
    createdAt: row.created_at as number,
    updatedAt: row.updated_at as number,
  };
  if (row.name !== null) r.name = row.name as string;
  if (row.daily_window !== null) r.window = JSON.parse(row.daily_window as string) as DailyWindow;
  if (row.device_expiry_ms !== null) r.deviceExpiryMs = row.device_expiry_ms as number;
  if (row.paused_reason !== null) r.pausedReason = row.paused_reason as string;
  if (row.created_by !== null) r.createdBy = row.created_by as string;
  if (row.completed_at !== null) r.completedAt = row.completed_at as number;
  return r;
}

function deviceFromRow(row: Row): CampaignDevice {
  const d: CampaignDevice = { campaignId: row.campaign_id as string, seq: row.seq as number, eid: row.eid as string };
  if (row.operation_id !== null) d.operationId = row.operation_id as string;
  if (row.released_at !== null) d.releasedAt = row.released_at as number;
  if (row.skipped !== null) d.skipped = row.skipped as string;
  return d;
}
