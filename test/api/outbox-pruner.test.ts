import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { OutboxPruner } from '../../src/api/outbox-pruner.js';
import { SqliteApiStore } from '../../src/store/sqlite/sqlite-api-store.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';

const HOUR = 3_600_000;

async function outbox(times: readonly number[]): Promise<{ store: SqliteStore; api: SqliteApiStore }> {
  const store = SqliteStore.open({ path: ':memory:' });
  const api = new SqliteApiStore(store.database);
  for (const at of times) await api.appendEvent({ type: 'operation.changed', at, data: { at } });
  return { store, api };
}

describe('outbox retention', () => {
  it('finds the last event written before a time', async () => {
    const { store, api } = await outbox([1 * HOUR, 2 * HOUR, 3 * HOUR]);
    try {
      assert.equal(await api.lastEventSeqBefore(0), 0);
      assert.equal(await api.lastEventSeqBefore(2 * HOUR), 1);
      assert.equal(await api.lastEventSeqBefore(2 * HOUR + 1), 2);
      assert.equal(await api.lastEventSeqBefore(10 * HOUR), 3);
    } finally {
      await store.close();
    }
  });

  it('deletes events past the retention, keeps newer ones and those a webhook has not delivered yet', async () => {
    const { store, api } = await outbox([1 * HOUR, 2 * HOUR, 3 * HOUR, 50 * HOUR]);
    const clock = { now: 51 * HOUR };
    try {
      await api.insertWebhook({ id: 'w', url: 'http://127.0.0.1:9/x', eventTypes: ['*'], secret: 's'.repeat(16), createdAt: 0, deliveredSeq: 1, attempts: 0 });
      const pruner = new OutboxPruner({ apiStore: api, retentionMs: 24 * HOUR, now: () => clock.now });
      assert.equal(await pruner.pruneOnce(), 1, 'only what the webhook delivered');
      assert.deepEqual((await api.listEventsAfter(0)).map((e) => e.seq), [2, 3, 4]);
      await api.updateWebhookDelivery('w', { deliveredSeq: 4 });
      assert.equal(await pruner.pruneOnce(), 2, 'the two older than 24 h');
      assert.deepEqual((await api.listEventsAfter(0)).map((e) => e.seq), [4]);
      assert.equal(await pruner.pruneOnce(), 0);
      assert.equal((await api.appendEvent({ type: 't', at: clock.now, data: null })).seq, 5, 'numbering goes on');
    } finally {
      await store.close();
    }
  });

  it('prunes once at start and stops cleanly', async () => {
    const { store, api } = await outbox([1 * HOUR, 100 * HOUR]);
    try {
      const pruner = new OutboxPruner({ apiStore: api, retentionMs: 24 * HOUR, now: () => 101 * HOUR });
      pruner.start();
      await pruner.stop();
      assert.deepEqual((await api.listEventsAfter(0)).map((e) => e.seq), [2]);
    } finally {
      await store.close();
    }
  });
});
