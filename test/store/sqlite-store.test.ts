/**
 * SqliteStore: the Store conformance suite on a temporary file, plus what only SQLite has: versioned
 * migrations (applied once, newer schema refused, a failing migration changes nothing), ':memory:' paths,
 * and compare-and-set across two connections to the same file (two processes).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConflictError, StoreError } from '../../src/store/errors.js';
import { MIGRATIONS, type Migration } from '../../src/store/sqlite/migrations.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { SqliteApiStore } from '../../src/store/sqlite/sqlite-api-store.js';
import { association, eidOf, euicc, operation } from './fixtures.js';
import { describeStoreConformance } from './store.suite.js';

/** A fresh temporary directory and its database path; `remove` deletes the whole directory. */
function tempDb(): { path: string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'eim-store-'));
  return { path: join(dir, 'eim.sqlite'), remove: () => rmSync(dir, { recursive: true, force: true }) };
}

describeStoreConformance('SqliteStore (temporary file)', async () => {
  const db = tempDb();
  const opened: SqliteStore[] = [SqliteStore.open({ path: db.path })];
  return {
    store: opened[0]!,
    async reopen() {
      await opened[opened.length - 1]!.close();
      const s = SqliteStore.open({ path: db.path });
      opened.push(s);
      return s;
    },
    async dispose() {
      for (const s of opened) await s.close();
      db.remove();
    },
  };
});

describe('SqliteStore', () => {
  it('with a group-commit window, commits made in different event-loop turns all apply and each resolves', async () => {
    const db = tempDb();
    try {
      const store = SqliteStore.open({ path: db.path, groupCommitWindowMs: 5 });
      const commits: Promise<void>[] = [];
      for (let i = 1; i <= 5; i++) {
        commits.push(store.commit((tx) => tx.putEuicc(euicc(eidOf(i)))));
        await new Promise((r) => setImmediate(r));
      }
      commits.push(store.commit((tx) => tx.patchEuicc(eidOf(99), { updatedAt: 1 })));
      const outcomes = await Promise.allSettled(commits);
      assert.deepEqual(outcomes.map((o) => o.status), ['fulfilled', 'fulfilled', 'fulfilled', 'fulfilled', 'fulfilled', 'rejected']);
      assert.equal((await store.listEuiccs()).items.length, 5);
      await store.close();
    } finally {
      db.remove();
    }
  });

  it('writes outbox events with their change, and not at all when the change is refused', async () => {
    const db = tempDb();
    try {
      const store = SqliteStore.open({ path: db.path });
      const outbox = new SqliteApiStore(store.database);
      await store.commit((tx) => {
        tx.putEuicc(euicc(eidOf(1)));
        tx.appendEvent({ type: 'euicc.changed', at: 1, data: { n: 1 } });
      });
      await assert.rejects(
        store.commit((tx) => {
          tx.appendEvent({ type: 'euicc.changed', at: 2, data: { n: 2 } });
          tx.patchEuicc(eidOf(99), { updatedAt: 2 });
        }),
      );
      const events = await outbox.listEventsAfter(0);
      assert.deepEqual(events.map((e) => [e.type, e.data]), [['euicc.changed', { n: 1 }]]);
      await store.close();
    } finally {
      db.remove();
    }
  });

  it('applies migrations once: reopening the file applies none and keeps their records', async () => {
    const db = tempDb();
    try {
      const first = SqliteStore.open({ path: db.path, now: () => 111 });
      assert.deepEqual(first.migrationsAppliedAtOpen, MIGRATIONS.map((m) => m.version));
      const recorded = first.appliedMigrations();
      await first.close();
      const second = SqliteStore.open({ path: db.path, now: () => 222 });
      assert.deepEqual(second.migrationsAppliedAtOpen, []);
      assert.deepEqual(second.appliedMigrations(), recorded);
      assert.ok(recorded.every((m) => m.appliedAt === 111));
      await second.close();
    } finally {
      db.remove();
    }
  });

  it('applies a migration added later to an existing database, keeping its data', async () => {
    const db = tempDb();
    try {
      const first = SqliteStore.open({ path: db.path });
      await first.commit((tx) => tx.putEuicc(euicc(eidOf(1))));
      await first.close();
      const next: Migration[] = [...MIGRATIONS, { version: MIGRATIONS.length + 1, name: 'later', up: 'CREATE TABLE later_table (id TEXT PRIMARY KEY)' }];
      const second = SqliteStore.open({ path: db.path, migrations: next });
      assert.deepEqual(second.migrationsAppliedAtOpen, [MIGRATIONS.length + 1]);
      assert.deepEqual(second.appliedMigrations().map((m) => m.name), next.map((m) => m.name));
      assert.ok(await second.getEuicc(eidOf(1)));
      await second.close();
    } finally {
      db.remove();
    }
  });

  it('refuses to open a database whose schema is newer than the code', async () => {
    const db = tempDb();
    try {
      const newer: Migration[] = [...MIGRATIONS, { version: MIGRATIONS.length + 1, name: 'from-the-future', up: 'CREATE TABLE future (x INTEGER)' }];
      await SqliteStore.open({ path: db.path, migrations: newer }).close();
      assert.throws(
        () => SqliteStore.open({ path: db.path }),
        (e: unknown) => e instanceof StoreError && e.code === 'EIM_ERR_STORE' && /newer than this code/.test(e.message),
      );
    } finally {
      db.remove();
    }
  });

  it('a failing migration is rolled back whole and the database stays at its previous version', async () => {
    const db = tempDb();
    try {
      await SqliteStore.open({ path: db.path }).close();
      const broken: Migration[] = [
        ...MIGRATIONS,
        { version: MIGRATIONS.length + 1, name: 'half', up: 'CREATE TABLE half (x INTEGER); CREATE TABLE half (x INTEGER);' },
      ];
      assert.throws(() => SqliteStore.open({ path: db.path, migrations: broken }), StoreError);
      const again = SqliteStore.open({ path: db.path, migrations: [...MIGRATIONS, { version: MIGRATIONS.length + 1, name: 'half', up: 'CREATE TABLE half (x INTEGER)' }] });
      // Had the first CREATE TABLE survived, this would fail with "table half already exists".
      assert.deepEqual(again.migrationsAppliedAtOpen, [MIGRATIONS.length + 1]);
      await again.close();
    } finally {
      db.remove();
    }
  });

  it('refuses a migration list that is not numbered 1..n', () => {
    assert.throws(() => SqliteStore.open({ path: ':memory:', migrations: [{ version: 2, name: 'x', up: '' }] }), StoreError);
  });

  it('works on a private in-memory database', async () => {
    const store = SqliteStore.open({ path: ':memory:' });
    await store.commit((tx) => tx.putEuicc(euicc(eidOf(1))));
    assert.ok(await store.getEuicc(eidOf(1)));
    await store.close();
  });

  it("per-eUICC lookups on the package and result paths seek an index, never walk the eUICC's whole history", async () => {
    const store = SqliteStore.open({ path: ':memory:' });
    const db = store.database;
    // Every statement the store prepares from here on, to look at SQLite's plan for each.
    const seen: string[] = [];
    const prepare = db.prepare.bind(db);
    db.prepare = ((sql: string) => (seen.push(sql), prepare(sql))) as typeof db.prepare;
    const eid = eidOf(1);
    const tx = (n: number) => new Uint8Array(16).fill(n);
    await store.commit((t) => {
      t.putEuicc(euicc(eid));
      for (let i = 0; i < 50; i++) t.insertOperation(operation(`done-${i}`, eid, { state: 'done', eimTransactionId: tx(i + 1), createdAt: i }));
      t.insertOperation(operation('queued', eid, { createdAt: 100 }));
    });
    await store.commit((t) => t.updateOperation('queued', { state: 'sent', eimTransactionId: tx(200), sentAt: 101 }, { expectedState: 'queued' }));
    assert.equal((await store.findOperationByTransactionId(eid, tx(7)))?.id, 'done-6');
    assert.equal((await store.findOperationByTransactionId(eid, tx(200)))?.id, 'queued');
    assert.deepEqual(await store.nextOperations(eid, { now: 1000, limit: 8 }), []);
    assert.equal((await store.sentOperations({ eid, limit: 1 }))[0]?.id, 'queued');
    db.prepare = prepare;
    const perEuicc = [...new Set(seen)].filter((sql) => /FROM operations/.test(sql) && /eid = \?/.test(sql));
    assert.ok(perEuicc.length >= 4, `statements seen: ${perEuicc.join(' | ')}`);
    for (const sql of perEuicc) {
      const params = (sql.match(/\?/g) ?? []).map(() => null);
      const plan = (db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...params) as { detail: string }[]).map((r) => r.detail).join('; ');
      assert.match(plan, /USING (COVERING )?INDEX operations_eid_state \(eid=\? AND state=\?/, `${sql}\n  -> ${plan}`);
    }
    await store.close();
  });

  it('copies every commit into the database file in the background, also when commits come faster than the checkpointer is told', async () => {
    const db = tempDb();
    const store = SqliteStore.open({ path: db.path });
    const blob = (i: number): Uint8Array => new Uint8Array(64 * 1024).fill(i);
    const fileSize = (): number => statSync(db.path).size;
    const until = async (what: string, ok: () => boolean): Promise<void> => {
      for (let i = 0; i < 100 && !ok(); i++) await new Promise((r) => setTimeout(r, 20));
      assert.ok(ok(), what);
    };
    try {
      const before = fileSize();
      // One commit every 15 ms for ~120 ms: several fall inside one checkpoint delay and announce nothing.
      for (let i = 0; i < 8; i++) {
        await store.commit((tx) => tx.putEuicc({ ...euicc(eidOf(i)), euiccCertificate: blob(i) }));
        await new Promise((r) => setTimeout(r, 15));
      }
      // WAL mode writes only the log; the database file grows once the checkpointer has copied the pages back.
      await until('every commit of the burst reaches the database file', () => fileSize() >= before + 8 * 64 * 1024);
      const afterBurst = fileSize();
      await store.commit((tx) => tx.putEuicc({ ...euicc(eidOf(8)), euiccCertificate: blob(8) }));
      await until('a lone commit after the burst reaches it too', () => fileSize() >= afterBurst + 64 * 1024);
    } finally {
      await store.close();
      db.remove();
    }
  });

  it('fills updatedAt from its clock when a patch does not give one', async () => {
    let t = 1_000;
    const store = SqliteStore.open({ path: ':memory:', now: () => t });
    await store.commit((tx) => {
      tx.putEuicc(euicc(eidOf(1)));
      tx.putAssociation(association(eidOf(1)));
    });
    t = 5_000;
    await store.commit((tx) => {
      tx.patchEuicc(eidOf(1), { lastContactAt: 4_999 });
      tx.setCounterValue('eim.example', eidOf(1), 1, { expected: 0 });
    });
    assert.equal((await store.getEuicc(eidOf(1)))?.updatedAt, 5_000);
    assert.equal((await store.getAssociation('eim.example', eidOf(1)))?.updatedAt, 5_000);
    await store.close();
  });

  it('two connections to one file (two processes) still let only one counter compare-and-set win', async () => {
    const db = tempDb();
    const a = SqliteStore.open({ path: db.path });
    const b = SqliteStore.open({ path: db.path });
    try {
      await a.commit((tx) => {
        tx.putEuicc(euicc(eidOf(1)));
        tx.putAssociation(association(eidOf(1), { counterValue: 1 }));
      });
      const results = await Promise.allSettled([
        a.commit((tx) => tx.setCounterValue('eim.example', eidOf(1), 2, { expected: 1 })),
        b.commit((tx) => tx.setCounterValue('eim.example', eidOf(1), 3, { expected: 1 })),
      ]);
      assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1);
      const failure = results.find((r) => r.status === 'rejected');
      assert.ok(failure?.status === 'rejected' && failure.reason instanceof ConflictError);
      const seenByA = (await a.getAssociation('eim.example', eidOf(1)))?.counterValue;
      assert.equal(seenByA, (await b.getAssociation('eim.example', eidOf(1)))?.counterValue);
      assert.ok(seenByA === 2 || seenByA === 3);
    } finally {
      await a.close();
      await b.close();
      db.remove();
    }
  });
});
