/**
 * Numbered schema migrations of the SQLite store, applied at open inside one transaction and recorded in
 * `schema_migrations`. To add one: write `migrations/000N-name.ts` exporting `sql` (or give `up` a function)
 * and append it to MIGRATIONS with the next version. A database whose recorded version is newer than the
 * last one known here is refused, so an old binary never writes into a schema it does not understand.
 */
import type Database from 'better-sqlite3';
import { StoreError } from '../errors.js';
import { sql as initial } from './migrations/0001-initial.js';
import { sql as api } from './migrations/0002-api.js';
import { sql as campaigns } from './migrations/0003-campaigns.js';
import { sql as hotPath } from './migrations/0004-hot-path.js';
import { sql as notificationVerified } from './migrations/0005-notification-verified.js';

export interface Migration {
  /** 1, 2, 3… with no gaps. */
  version: number;
  name: string;
  /** SQL script, or a function run inside the migration transaction. */
  up: string | ((db: Database.Database) => void);
}

export const MIGRATIONS: readonly Migration[] = [
  { version: 1, name: 'initial', up: initial },
  { version: 2, name: 'api', up: api },
  { version: 3, name: 'campaigns', up: campaigns },
  { version: 4, name: 'hot-path', up: hotPath },
  { version: 5, name: 'notification-verified', up: notificationVerified },
];

export interface AppliedMigration {
  version: number;
  name: string;
  appliedAt: number;
}

/** The migrations recorded in the database, oldest first (empty for a new database). */
export function appliedMigrations(db: Database.Database): AppliedMigration[] {
  const exists = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'").get();
  if (exists === undefined) return [];
  const rows = db.prepare('SELECT version, name, applied_at FROM schema_migrations ORDER BY version').all() as {
    version: number;
    name: string;
    applied_at: number;
  }[];
  return rows.map((r) => ({ version: r.version, name: r.name, appliedAt: r.applied_at }));
}

/**
 * Brings the database to the last version of `migrations` and returns the versions applied now (empty when
 * it was up to date). Throws StoreError, changing nothing, when the database is newer than `migrations` or
 * when a migration fails.
 */
export function migrate(db: Database.Database, migrations: readonly Migration[] = MIGRATIONS, now: () => number = Date.now): number[] {
  migrations.forEach((m, i) => {
    if (m.version !== i + 1) throw new StoreError(`migration list is not numbered 1..n (found ${m.version} at position ${i + 1})`);
  });
  const known = migrations.length;
  // IMMEDIATE takes the write lock first, so two processes opening the same file do not both migrate.
  const run = db.transaction((): number[] => {
    db.exec('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)');
    const current = (db.prepare('SELECT max(version) AS v FROM schema_migrations').get() as { v: number | null }).v ?? 0;
    if (current > known) {
      throw new StoreError(`database schema version ${current} is newer than this code (knows up to ${known}); refusing to open it`);
    }
    const record = db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)');
    const applied: number[] = [];
    for (const m of migrations.slice(current)) {
      try {
        if (typeof m.up === 'string') db.exec(m.up);
        else m.up(db);
      } catch (cause) {
        throw new StoreError(`migration ${m.version} (${m.name}) failed`, { cause });
      }
      record.run(m.version, m.name, now());
      applied.push(m.version);
    }
    return applied;
  });
  return run.immediate();
}
