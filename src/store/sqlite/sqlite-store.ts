/**
 * The SQLite Store (better-sqlite3): WAL, synchronous=NORMAL, foreign keys on, cached prepared statements.
 * GROUP COMMIT: one SQLite commit costs about as much as the P-256 signature of a package (~20 us vs
 * ~27 us here), and the eIM must commit its counterValue before a package leaves (SGP.32 v1.2 §2.11.1).
 * So every `commit()` issued in the same event-loop turn is applied in ONE transaction, flushed on
 * setImmediate, each in its own SAVEPOINT so a failing precondition rejects only that call; each promise
 * settles only after COMMIT.
 *
 * LIMITs are written into the SQL as integer literals (always a validated page size from limitOf), never
 * bound as `?`: measured here, a statement with a bound LIMIT costs 10-15 us more per execution than the
 * same statement with a literal one (0.4 us), which on the package path was more than the signature.
 */
import Database from 'better-sqlite3';
import { pino, type Logger } from 'pino';
import { InvalidArgumentError } from '../../errors.js';
import { recordChanges, type Intent } from '../change-set.js';
import { StoreError } from '../errors.js';
import { decodeCursor, limitOf, toPage } from '../pagination.js';
import type {
  AckState,
  AssociationRecord,
  AuditEntry,
  DeviceCredentialRecord,
  EuiccRecord,
  EuiccSummary,
  NotificationRecord,
  OperationRecord,
  ProfileHistoryEntry,
  ProfileRecord,
} from '../records.js';
import type { AuditFilter, Changes, EuiccFilter, OperationFilter, Page, SecurityStore, Store } from '../store.js';
import { applyIntent, mapSqliteError, type ApplyContext } from './apply-intent.js';
import { Checkpointer } from './checkpointer.js';
import { appliedMigrations, migrate, MIGRATIONS, type AppliedMigration, type Migration } from './migrations.js';
import {
  SETTLED_OR_QUEUED_STATE,
  associationCodec,
  auditCodec,
  credentialCodec,
  euiccCodec,
  notificationCodec,
  operationCodec,
  profileCodec,
  profileHistoryCodec,
  type TableCodec,
} from './row-codec.js';

export interface SqliteStoreOptions {
  /** A file path, or ':memory:' for a private in-memory database (tests). */
  path: string;
  logger?: Logger;
  /** Clock for the updatedAt fields the store fills in; defaults to Date.now. */
  now?: () => number;
  /** How long a writer waits for another process's lock; default 5000 ms. */
  busyTimeoutMs?: number;
  /** The migration list; tests pass a longer one to make a database "newer than the code". */
  migrations?: readonly Migration[];
  /**
   * Checkpoint the WAL on a worker thread instead of inside the writer's COMMIT (see checkpointer.ts);
   * default true for a database file.
   */
  backgroundCheckpoint?: boolean;
  /**
   * How long a commit waits for others to share its transaction, in ms (default 0: until the end of the current
   * event-loop turn). A few ms lets commits that arrive one by one, as in a fleet waking, share one WAL write.
   */
  groupCommitWindowMs?: number;
  /** SQLite page cache of this connection, MiB (default 64). */
  cacheSizeMiB?: number;
}

interface PendingCommit {
  intents: Intent[];
  resolve: () => void;
  reject: (error: Error) => void;
}

type Row = Record<string, unknown>;

/** WAL size (pages) at which the writer checkpoints itself although a background checkpointer runs. */
const WRITER_CHECKPOINT_PAGES = 10_000;

/** Prepared statements kept per store; page sizes vary, so the cache is bounded. */
const STATEMENT_CACHE_LIMIT = 500;

export class SqliteStore implements Store, SecurityStore {
  readonly #db: Database.Database;
  readonly #log: Logger;
  readonly #now: () => number;
  readonly #statements = new Map<string, Database.Statement>();
  readonly #ctx: ApplyContext;
  #pending: PendingCommit[] = [];
  #scheduled = false;
  readonly #groupCommitWindowMs: number;
  #closed = false;
  #checkpointer: Checkpointer | undefined;
  /** Versions applied when this store was opened (empty when the file was up to date). */
  readonly migrationsAppliedAtOpen: readonly number[];

  private constructor(db: Database.Database, options: SqliteStoreOptions) {
    this.#db = db;
    this.#log = (options.logger ?? pino({ level: 'silent' })).child({ component: 'store' });
    this.#now = options.now ?? Date.now;
    this.#groupCommitWindowMs = options.groupCommitWindowMs ?? 0;
    this.#ctx = { stmt: (sql) => this.#stmt(sql), now: this.#now };
    this.migrationsAppliedAtOpen = migrate(db, options.migrations ?? MIGRATIONS, this.#now);
    if (this.migrationsAppliedAtOpen.length > 0) this.#log.info({ versions: this.migrationsAppliedAtOpen }, 'schema migrations applied');
    if (options.backgroundCheckpoint !== false && db.pragma('journal_mode', { simple: true }) === 'wal') {
      // The writer's own automatic checkpoint stays as a safety net, 10x further out than SQLite's default.
      db.pragma(`wal_autocheckpoint = ${WRITER_CHECKPOINT_PAGES}`);
      this.#checkpointer = Checkpointer.start(options.path, this.#log, () => {
        if (!this.#closed) db.pragma('wal_autocheckpoint = 1000');
      });
    }
  }

  /** Opens (creating when needed) and migrates the database. Throws StoreError when it can not be used. */
  static open(options: SqliteStoreOptions): SqliteStore {
    let db: Database.Database;
    try {
      db = new Database(options.path);
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = NORMAL');
      db.pragma('foreign_keys = ON');
      db.pragma(`busy_timeout = ${Math.trunc(options.busyTimeoutMs ?? 5000)}`);
      // SQLite's default page cache is 2 MiB, less than the rows of 10,000 eUICCs with their certificates:
      // every exchange then re-read its pages through the WAL index and a pread. Keep the working set cached.
      db.pragma(`cache_size = -${Math.trunc((options.cacheSizeMiB ?? 64) * 1024)}`);
    } catch (cause) {
      throw new StoreError(`can not open SQLite database ${options.path}`, { cause });
    }
    try {
      return new SqliteStore(db, options);
    } catch (error) {
      db.close();
      throw error;
    }
  }

  /** The migrations recorded in the database, oldest first. */
  appliedMigrations(): AppliedMigration[] {
    return appliedMigrations(this.#open());
  }

  /**
   * The connection, for the SQLite stores of other aggregates (API tokens, webhooks, campaigns) that live in
   * the same file and migration list. Not for use outside src/store/sqlite.
   */
  get database(): Database.Database {
    return this.#open();
  }

  #open(): Database.Database {
    if (this.#closed) throw new StoreError('the store is closed');
    return this.#db;
  }

  #stmt(sql: string): Database.Statement {
    let s = this.#statements.get(sql);
    if (s === undefined) {
      s = this.#open().prepare(sql);
      // Page sizes are part of the SQL (see the header), so the cache is bounded: drop the oldest statement.
      if (this.#statements.size >= STATEMENT_CACHE_LIMIT) this.#statements.delete(this.#statements.keys().next().value!);
      this.#statements.set(sql, s);
    }
    return s;
  }

  #all<T>(codec: TableCodec<T>, sql: string, params: Row | unknown[] = []): T[] {
    const s = this.#stmt(sql);
    const rows = (Array.isArray(params) ? s.all(...params) : s.all(params)) as Row[];
    return rows.map((r) => codec.fromRow(r));
  }

  #get<T>(codec: TableCodec<T>, sql: string, ...params: unknown[]): T | undefined {
    const row = this.#stmt(sql).get(...params) as Row | undefined;
    return row === undefined ? undefined : codec.fromRow(row);
  }

  /** Reads run synchronously; the async shape is the seam's, for engines that need it. */
  async #read<T>(fn: () => T): Promise<T> {
    return fn();
  }

  commit(build: (tx: Changes) => void): Promise<void> {
    if (this.#closed) return Promise.reject(new StoreError('the store is closed'));
    let intents: Intent[];
    try {
      intents = recordChanges(build);
    } catch (error) {
      return Promise.reject(error instanceof Error ? error : new InvalidArgumentError('build', String(error)));
    }
    return new Promise<void>((resolve, reject) => {
      this.#pending.push({ intents, resolve, reject });
      if (!this.#scheduled) {
        this.#scheduled = true;
        if (this.#groupCommitWindowMs > 0) setTimeout(() => this.#flush(), this.#groupCommitWindowMs);
        else setImmediate(() => this.#flush());
      }
    });
  }

  /** Applies every pending commit in one transaction, one SAVEPOINT each, then settles their promises. */
  #flush(): void {
    this.#scheduled = false;
    const batch = this.#pending;
    this.#pending = [];
    if (batch.length === 0) return;
    const db = this.#db;
    const outcomes: (Error | undefined)[] = [];
    const failAll = (cause: unknown): void => {
      if (db.inTransaction) this.#stmt('ROLLBACK').run();
      const error = new StoreError('commit failed in the storage engine', { cause });
      this.#log.error({ err: cause, commits: batch.length }, 'group commit failed');
      for (const p of batch) p.reject(error);
    };
    try {
      this.#stmt('BEGIN IMMEDIATE').run();
    } catch (cause) {
      failAll(cause);
      return;
    }
    for (const p of batch) {
      // Transaction statements are prepared once and cached like the others, not re-parsed per commit.
      this.#stmt('SAVEPOINT eim_commit').run();
      try {
        for (const intent of p.intents) applyIntent(this.#ctx, intent);
        this.#stmt('RELEASE eim_commit').run();
        outcomes.push(undefined);
      } catch (error) {
        // Some engine errors (disk full, I/O) end the whole transaction; then nothing of the batch holds.
        if (!db.inTransaction) {
          failAll(error);
          return;
        }
        this.#stmt('ROLLBACK TO eim_commit').run();
        this.#stmt('RELEASE eim_commit').run();
        outcomes.push(mapSqliteError(error));
      }
    }
    try {
      this.#stmt('COMMIT').run();
    } catch (cause) {
      failAll(cause);
      return;
    }
    this.#checkpointer?.notify();
    batch.forEach((p, i) => {
      const error = outcomes[i];
      if (error === undefined) p.resolve();
      else p.reject(error);
    });
  }

  getEuicc(eid: string): Promise<EuiccRecord | undefined> {
    return this.#read(() => this.#get(euiccCodec, 'SELECT * FROM euiccs WHERE eid = ?', eid));
  }

  getEuiccSummary(eid: string): Promise<EuiccSummary | undefined> {
    // The row holds only the summary's columns, so the codec decodes only those fields.
    return this.#read(() => this.#get(euiccCodec, 'SELECT eid, created_at, euicc_certificate, eum_certificate, resync FROM euiccs WHERE eid = ?', eid) as EuiccSummary | undefined);
  }

  listEuiccs(filter: EuiccFilter = {}): Promise<Page<EuiccRecord>> {
    return this.#read(() => {
      const where: string[] = [];
      const params: Row = {};
      if (filter.cursor !== undefined) {
        params['after'] = decodeCursor(filter.cursor, (v) => v.length === 1 && typeof v[0] === 'string')[0];
        where.push('e.eid > @after');
      }
      if (filter.label !== undefined) {
        where.push('e.eid IN (SELECT eid FROM euicc_labels WHERE label = @label)');
        params['label'] = filter.label;
      }
      if (filter.profile !== undefined) {
        params['iccid'] = filter.profile.iccid;
        // IN (not EXISTS) so SQLite starts from the (iccid, state) index instead of scanning every eUICC.
        let sub = 'SELECT eid FROM profiles WHERE iccid = @iccid';
        if (filter.profile.state !== undefined) {
          sub += ' AND state = @profileState';
          params['profileState'] = filter.profile.state;
        }
        where.push(`e.eid IN (${sub})`);
      }
      if (filter.lastContactBefore !== undefined) {
        where.push('e.last_contact_at < @lastContactBefore');
        params['lastContactBefore'] = filter.lastContactBefore;
      }
      if (filter.lastContactAfter !== undefined) {
        where.push('e.last_contact_at >= @lastContactAfter');
        params['lastContactAfter'] = filter.lastContactAfter;
      }
      if (filter.endpoint !== undefined) {
        where.push('e.endpoint = @endpoint');
        params['endpoint'] = filter.endpoint;
      }
      const sql = `SELECT e.* FROM euiccs e${where.length ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY e.eid LIMIT ${limitOf(filter.limit) + 1}`;
      return toPage(this.#all(euiccCodec, sql, params), limitOf(filter.limit), (r) => [r.eid]);
    });
  }

  getAssociation(eimId: string, eid: string): Promise<AssociationRecord | undefined> {
    return this.#read(() => this.#get(associationCodec, 'SELECT * FROM associations WHERE eim_id = ? AND eid = ?', eimId, eid));
  }

  listAssociations(eid: string): Promise<AssociationRecord[]> {
    return this.#read(() => this.#all(associationCodec, 'SELECT * FROM associations WHERE eid = ? ORDER BY eim_id', [eid]));
  }

  listProfiles(eid: string): Promise<ProfileRecord[]> {
    return this.#read(() => this.#all(profileCodec, 'SELECT * FROM profiles WHERE eid = ? ORDER BY iccid', [eid]));
  }

  listProfileHistory(eid: string, iccid?: string): Promise<ProfileHistoryEntry[]> {
    return this.#read(() =>
      iccid === undefined
        ? this.#all(profileHistoryCodec, 'SELECT * FROM profile_history WHERE eid = ? ORDER BY id', [eid])
        : this.#all(profileHistoryCodec, 'SELECT * FROM profile_history WHERE eid = ? AND iccid = ? ORDER BY id', [eid, iccid]),
    );
  }

  getOperation(id: string): Promise<OperationRecord | undefined> {
    return this.#read(() => this.#get(operationCodec, 'SELECT * FROM operations WHERE id = ?', id));
  }

  listOperations(filter: OperationFilter = {}): Promise<Page<OperationRecord>> {
    return this.#read(() => {
      const where: string[] = [];
      const params: Row = {};
      if (filter.cursor !== undefined) {
        const [at, id] = decodeCursor(filter.cursor, (v) => v.length === 2 && typeof v[0] === 'number' && typeof v[1] === 'string');
        where.push('(created_at, id) > (@afterAt, @afterId)');
        Object.assign(params, { afterAt: at, afterId: id });
      }
      for (const key of ['eid', 'kind', 'campaignId'] as const) {
        const value = filter[key];
        if (value === undefined) continue;
        where.push(`${key === 'campaignId' ? 'campaign_id' : key} = @${key}`);
        params[key] = value;
      }
      if (filter.state !== undefined) {
        const states = typeof filter.state === 'string' ? [filter.state] : [...filter.state];
        where.push(`state IN (${states.map((_, i) => `@state${i}`).join(', ') || 'NULL'})`);
        states.forEach((s, i) => (params[`state${i}`] = s));
      }
      const sql = `SELECT * FROM operations${where.length ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY created_at, id LIMIT ${limitOf(filter.limit) + 1}`;
      return toPage(this.#all(operationCodec, sql, params), limitOf(filter.limit), (r) => [r.createdAt, r.id]);
    });
  }

  findOperationByTransactionId(eid: string, eimTransactionId: Uint8Array): Promise<OperationRecord | undefined> {
    const id = Buffer.from(eimTransactionId.buffer, eimTransactionId.byteOffset, eimTransactionId.byteLength);
    // A result almost always answers a package in flight: one index seek for 'sent', then one per other state.
    return this.#read(
      () =>
        this.#get(operationCodec, "SELECT * FROM operations WHERE eid = ? AND state = 'sent' AND eim_transaction_id = ?", eid, id) ??
        this.#get(operationCodec, `SELECT * FROM operations WHERE eid = ? AND state IN (${SETTLED_OR_QUEUED_STATE}) AND eim_transaction_id = ?`, eid, id),
    );
  }

  findOperationByIdempotencyKey(key: string): Promise<OperationRecord | undefined> {
    return this.#read(() => this.#get(operationCodec, 'SELECT * FROM operations WHERE idempotency_key = ?', key));
  }

  nextOperations(eid: string, options: { now?: number; limit?: number } = {}): Promise<OperationRecord[]> {
    // The queued few of an eUICC, sorted here: without statistics SQLite would rather walk the eUICC's whole
    // history in created order (operations_eid_created) to avoid that small sort.
    return this.#read(() => {
      const limit = limitOf(options.limit);
      return options.now === undefined
        ? this.#all(operationCodec, `SELECT * FROM operations INDEXED BY operations_eid_state WHERE eid = ? AND state = 'queued' ORDER BY created_at, seq LIMIT ${limit}`, [eid])
        : this.#all(
            operationCodec,
            `SELECT * FROM operations INDEXED BY operations_eid_state WHERE eid = ? AND state = 'queued' AND (not_before IS NULL OR not_before <= ?) ORDER BY created_at, seq LIMIT ${limit}`,
            [eid, options.now],
          );
    });
  }

  sentOperations(options: { eid?: string; sentBefore?: number; limit?: number } = {}): Promise<OperationRecord[]> {
    return this.#read(() => {
      const where = ["state = 'sent'"];
      const params: unknown[] = [];
      if (options.eid !== undefined) {
        where.push('eid = ?');
        params.push(options.eid);
      }
      if (options.sentBefore !== undefined) {
        where.push('sent_at < ?');
        params.push(options.sentBefore);
      }
      return this.#all(operationCodec, `SELECT * FROM operations WHERE ${where.join(' AND ')} ORDER BY sent_at, seq LIMIT ${limitOf(options.limit)}`, params);
    });
  }

  getNotification(eid: string, seqNumber: number): Promise<NotificationRecord | undefined> {
    return this.#read(() => this.#get(notificationCodec, 'SELECT * FROM notifications WHERE eid = ? AND seq_number = ?', eid, seqNumber));
  }

  listNotifications(eid: string): Promise<NotificationRecord[]> {
    return this.#read(() => this.#all(notificationCodec, 'SELECT * FROM notifications WHERE eid = ? ORDER BY seq_number', [eid]));
  }

  notificationsPendingAck(eid: string, options: { states?: readonly AckState[] } = {}): Promise<NotificationRecord[]> {
    return this.#read(() => {
      const states = options.states ?? ['pending'];
      if (states.length === 0) return [];
      const sql = `SELECT * FROM notifications WHERE eid = ? AND ack_state IN (${states.map(() => '?').join(', ')}) ORDER BY seq_number`;
      return this.#all(notificationCodec, sql, [eid, ...states]);
    });
  }

  notificationsPendingForward(dueBefore: number, options: { limit?: number } = {}): Promise<NotificationRecord[]> {
    return this.#read(() =>
      this.#all(
        notificationCodec,
        `SELECT * FROM notifications WHERE forward_state = 'pending' AND (next_forward_at IS NULL OR next_forward_at <= ?) ORDER BY coalesce(next_forward_at, received_at), eid, seq_number LIMIT ${limitOf(options.limit)}`,
        [dueBefore],
      ),
    );
  }

  listAudit(filter: AuditFilter = {}): Promise<Page<AuditEntry>> {
    return this.#read(() => {
      const desc = filter.order === 'desc';
      const where: string[] = [];
      const params: Row = {};
      if (filter.cursor !== undefined) {
        params['afterId'] = decodeCursor(filter.cursor, (v) => v.length === 1 && Number.isSafeInteger(v[0]))[0];
        where.push(desc ? 'id < @afterId' : 'id > @afterId');
      }
      for (const [key, column] of [['eid', 'eid'], ['operationId', 'operation_id'], ['actor', 'actor'], ['action', 'action'], ['outcome', 'outcome']] as const) {
        const value = filter[key];
        if (value === undefined) continue;
        where.push(`${column} = @${key}`);
        params[key] = value;
      }
      if (filter.from !== undefined) {
        where.push('at >= @from');
        params['from'] = filter.from;
      }
      if (filter.until !== undefined) {
        where.push('at < @until');
        params['until'] = filter.until;
      }
      const sql = `SELECT * FROM audit${where.length ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY id ${desc ? 'DESC' : 'ASC'} LIMIT ${limitOf(filter.limit) + 1}`;
      return toPage(this.#all(auditCodec, sql, params), limitOf(filter.limit), (r) => [r.id]);
    });
  }

  getByPskIdentity(pskIdentity: string): DeviceCredentialRecord | undefined {
    return this.#get(credentialCodec, 'SELECT * FROM device_credentials WHERE psk_identity = ?', pskIdentity);
  }

  getByEndpoint(endpoint: string): DeviceCredentialRecord | undefined {
    return this.#get(credentialCodec, 'SELECT * FROM device_credentials WHERE endpoint = ?', endpoint);
  }

  getByCertificateFingerprint(fingerprint: string): DeviceCredentialRecord | undefined {
    return this.#get(credentialCodec, 'SELECT * FROM device_credentials WHERE certificate_fingerprint = ?', fingerprint);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    // Apply what was already issued now rather than on the scheduled tick; that tick then finds nothing.
    this.#flush();
    this.#closed = true;
    this.#statements.clear();
    // Its connection goes first, so that closing ours (the last one) checkpoints and removes the WAL.
    await this.#checkpointer?.close();
    try {
      // Lets SQLite refresh the statistics its planner uses for the listing filters (cheap when nothing changed).
      this.#db.pragma('optimize');
    } finally {
      this.#db.close();
    }
  }
}
