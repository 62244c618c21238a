/**
 * The SQLite ApiStore: API tokens, webhook subscriptions and the event outbox, in the tables of migration 2
 * and on the connection of the SqliteStore (`sqliteStore.database`), so they live in the same file.
 * better-sqlite3 is synchronous: each method runs one statement (or one small transaction) at call time;
 * the async shape is the seam's.
 */
import type Database from 'better-sqlite3';
import type { ApiRole, ApiStore, ApiTokenRecord, OutboxEvent, WebhookRecord } from '../api-store.js';
import { ConflictError, NotFoundError } from '../errors.js';
import type { Json } from '../records.js';
import { mapSqliteError } from './apply-intent.js';
import { INSERT_EVENT_SQL } from './row-codec.js';

type Row = Record<string, unknown>;

function tokenFromRow(r: Row): ApiTokenRecord {
  return {
    id: r.id as string,
    name: r.name as string,
    role: r.role as ApiRole,
    tokenHash: r.token_hash as string,
    createdAt: r.created_at as number,
    ...(r.last_used_at !== null ? { lastUsedAt: r.last_used_at as number } : {}),
  };
}

function eventFromRow(r: Row): OutboxEvent {
  return { seq: r.seq as number, type: r.type as string, at: r.at as number, data: JSON.parse(r.data as string) as Json };
}

function webhookFromRow(r: Row): WebhookRecord {
  return {
    id: r.id as string,
    url: r.url as string,
    eventTypes: JSON.parse(r.event_types as string) as string[],
    secret: r.secret as string,
    createdAt: r.created_at as number,
    deliveredSeq: r.delivered_seq as number,
    attempts: r.attempts as number,
    ...(r.next_attempt_at !== null ? { nextAttemptAt: r.next_attempt_at as number } : {}),
    ...(r.last_error !== null ? { lastError: r.last_error as string } : {}),
  };
}

export class SqliteApiStore implements ApiStore {
  readonly #db: Database.Database;
  readonly #statements = new Map<string, Database.Statement>();

  /** `database` is `SqliteStore.database`: migration 2 must have been applied (SqliteStore.open does it). */
  constructor(database: Database.Database) {
    this.#db = database;
  }

  #stmt(sql: string): Database.Statement {
    let s = this.#statements.get(sql);
    if (s === undefined) {
      s = this.#db.prepare(sql);
      this.#statements.set(sql, s);
    }
    return s;
  }

  /** Runs synchronously, mapping engine errors onto the store's errors. */
  async #run<T>(fn: () => T): Promise<T> {
    try {
      return fn();
    } catch (error) {
      throw mapSqliteError(error);
    }
  }

  insertToken(t: ApiTokenRecord): Promise<void> {
    return this.#run(() => {
      this.#stmt('INSERT INTO api_tokens (id, name, role, token_hash, created_at, last_used_at) VALUES (?, ?, ?, ?, ?, ?)').run(
        t.id,
        t.name,
        t.role,
        t.tokenHash,
        t.createdAt,
        t.lastUsedAt ?? null,
      );
    });
  }

  findTokenByHash(tokenHash: string): Promise<ApiTokenRecord | undefined> {
    return this.#run(() => {
      const row = this.#stmt('SELECT * FROM api_tokens WHERE token_hash = ?').get(tokenHash) as Row | undefined;
      return row === undefined ? undefined : tokenFromRow(row);
    });
  }

  listTokens(): Promise<ApiTokenRecord[]> {
    return this.#run(() => (this.#stmt('SELECT * FROM api_tokens ORDER BY name').all() as Row[]).map(tokenFromRow));
  }

  deleteToken(id: string): Promise<boolean> {
    return this.#run(() => this.#stmt('DELETE FROM api_tokens WHERE id = ?').run(id).changes > 0);
  }

  touchToken(id: string, at: number): Promise<void> {
    return this.#run(() => {
      this.#stmt('UPDATE api_tokens SET last_used_at = ? WHERE id = ?').run(at, id);
    });
  }

  countTokens(): Promise<number> {
    return this.#run(() => (this.#stmt('SELECT count(*) AS n FROM api_tokens').get() as { n: number }).n);
  }

  appendEvent(event: { type: string; at: number; data: Json }): Promise<OutboxEvent> {
    return this.#run(() => {
      const info = this.#stmt(INSERT_EVENT_SQL).run(event.type, event.at, JSON.stringify(event.data));
      return { seq: Number(info.lastInsertRowid), type: event.type, at: event.at, data: structuredClone(event.data) };
    });
  }

  listEventsAfter(afterSeq: number, limit = 100): Promise<OutboxEvent[]> {
    return this.#run(() => (this.#stmt('SELECT * FROM event_outbox WHERE seq > ? ORDER BY seq LIMIT ?').all(afterSeq, limit) as Row[]).map(eventFromRow));
  }

  lastEventSeq(): Promise<number> {
    // sqlite_sequence keeps the last AUTOINCREMENT value even after the rows are pruned.
    return this.#run(() => {
      const row = this.#stmt("SELECT seq FROM sqlite_sequence WHERE name = 'event_outbox'").get() as { seq: number } | undefined;
      return row?.seq ?? 0;
    });
  }

  pruneEvents(upToSeq: number): Promise<number> {
    return this.#run(() => {
      const min = (this.#stmt('SELECT min(delivered_seq) AS m FROM webhooks').get() as { m: number | null }).m;
      const limit = min === null ? upToSeq : Math.min(upToSeq, min);
      return this.#stmt('DELETE FROM event_outbox WHERE seq <= ?').run(limit).changes;
    });
  }

  lastEventSeqBefore(at: number): Promise<number> {
    return this.#run(() => {
      // Events are numbered in commit order, which is time order but for clock steps: the boundary is the first
      // event at or after `at`, found from the oldest (a scan as long as what is then pruned).
      const first = this.#stmt('SELECT seq FROM event_outbox WHERE at >= ? ORDER BY seq LIMIT 1').get(at) as { seq: number } | undefined;
      if (first !== undefined) return first.seq - 1;
      const last = this.#stmt('SELECT max(seq) AS m FROM event_outbox').get() as { m: number | null };
      return last.m ?? 0;
    });
  }

  insertWebhook(w: WebhookRecord): Promise<void> {
    return this.#run(() => {
      this.#stmt(
        'INSERT INTO webhooks (id, url, event_types, secret, created_at, delivered_seq, attempts, next_attempt_at, last_error) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
      ).run(w.id, w.url, JSON.stringify(w.eventTypes), w.secret, w.createdAt, w.deliveredSeq, w.attempts, w.nextAttemptAt ?? null, w.lastError ?? null);
    });
  }

  getWebhook(id: string): Promise<WebhookRecord | undefined> {
    return this.#run(() => {
      const row = this.#stmt('SELECT * FROM webhooks WHERE id = ?').get(id) as Row | undefined;
      return row === undefined ? undefined : webhookFromRow(row);
    });
  }

  listWebhooks(): Promise<WebhookRecord[]> {
    return this.#run(() => (this.#stmt('SELECT * FROM webhooks ORDER BY created_at, id').all() as Row[]).map(webhookFromRow));
  }

  deleteWebhook(id: string): Promise<boolean> {
    return this.#run(() => this.#stmt('DELETE FROM webhooks WHERE id = ?').run(id).changes > 0);
  }

  updateWebhookDelivery(
    id: string,
    patch: { deliveredSeq?: number; attempts?: number; nextAttemptAt?: number | undefined; lastError?: string | undefined },
    options: { expectedDeliveredSeq?: number } = {},
  ): Promise<void> {
    return this.#run(() => {
      const row = this.#stmt('SELECT delivered_seq FROM webhooks WHERE id = ?').get(id) as { delivered_seq: number } | undefined;
      if (row === undefined) throw new NotFoundError(`webhook ${id} does not exist`);
      if (options.expectedDeliveredSeq !== undefined && row.delivered_seq !== options.expectedDeliveredSeq) {
        throw new ConflictError(`webhook ${id} delivery moved on (at ${row.delivered_seq}, expected ${options.expectedDeliveredSeq})`);
      }
      const sets: string[] = [];
      const values: unknown[] = [];
      const set = (column: string, value: unknown): void => {
        sets.push(`${column} = ?`);
        values.push(value);
      };
      if (patch.deliveredSeq !== undefined) set('delivered_seq', patch.deliveredSeq);
      if (patch.attempts !== undefined) set('attempts', patch.attempts);
      if ('nextAttemptAt' in patch) set('next_attempt_at', patch.nextAttemptAt ?? null);
      if ('lastError' in patch) set('last_error', patch.lastError ?? null);
      if (sets.length === 0) return;
      this.#stmt(`UPDATE webhooks SET ${sets.join(', ')} WHERE id = ?`).run(...values, id);
    });
  }

  operationCountsByState(): Promise<Record<string, number>> {
    return this.#run(() => {
      const rows = this.#stmt('SELECT state, count(*) AS n FROM operations GROUP BY state').all() as { state: string; n: number }[];
      return Object.fromEntries(rows.map((r) => [r.state, r.n]));
    });
  }
}
