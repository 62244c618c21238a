/** SqliteCampaignStore (kept beside the scheduler tests; it is the scheduler's storage seam). */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { CampaignRecord } from '../../src/store/campaign-store.js';
import type { OperationRecord } from '../../src/store/records.js';
import { SqliteCampaignStore } from '../../src/store/sqlite/sqlite-campaign-store.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { EIDS, harness } from '../eim/harness.js';

const T0 = Date.UTC(2026, 10, 23, 12);

function campaign(id: string, total: number, extra: Partial<CampaignRecord> = {}): CampaignRecord {
  return {
    id,
    request: { kind: 'get-rat' },
    target: { label: 'x' },
    startAt: T0,
    window: { start: '01:00', end: '05:00', timeZone: 'UTC' },
    rate: 2.5,
    maxInFlight: 10,
    canaryShare: 0.5,
    failureThreshold: 0.1,
    minResultsForThreshold: 10,
    state: 'running',
    phase: 'canary',
    total,
    canaryCount: 1,
    cursor: 0,
    baselineFinished: 0,
    baselineFailed: 0,
    createdAt: T0,
    updatedAt: T0,
    ...extra,
  };
}

describe('SqliteCampaignStore', () => {
  it('stores a campaign with its ordered devices and survives reopening the file', async () => {
    const h = await harness();
    try {
      const store = new SqliteCampaignStore(h.store);
      const rec = campaign('c1', 2, { name: 'tonight', deviceExpiryMs: 60_000, createdBy: 'api:ops' });
      await store.create(rec, ['e0', 'e1']);
      assert.deepEqual(await store.get('c1'), rec);
      assert.equal(await store.get('nope'), undefined);
      await store.recordRelease('c1', 0, { operationId: 'op0', releasedAt: T0 + 1 });
      await assert.rejects(store.recordRelease('c1', 0, { operationId: 'again', releasedAt: T0 + 2 }), { code: 'EIM_ERR_CONFLICT' });
      await store.recordRelease('c1', 1, { skipped: 'euicc-not-found', releasedAt: T0 + 3 });
      const path = h.store.database.name;
      await h.store.close();
      const reopened = SqliteStore.open({ path });
      try {
        const again = new SqliteCampaignStore(reopened);
        assert.equal((await again.get('c1'))?.cursor, 2);
        assert.deepEqual(await again.devices('c1', { fromSeq: 0, limit: 10 }), [
          { campaignId: 'c1', seq: 0, eid: 'e0', operationId: 'op0', releasedAt: T0 + 1 },
          { campaignId: 'c1', seq: 1, eid: 'e1', releasedAt: T0 + 3, skipped: 'euicc-not-found' },
        ]);
      } finally {
        await reopened.close();
      }
    } finally {
      await h.close().catch(() => undefined);
    }
  });

  it('refuses a duplicate id and a device list of the wrong length', async () => {
    const h = await harness();
    try {
      const store = new SqliteCampaignStore(h.store);
      await store.create(campaign('c1', 1), ['e0']);
      await assert.rejects(store.create(campaign('c1', 1), ['e0']), { code: 'EIM_ERR_CONFLICT' });
      await assert.rejects(store.create(campaign('c2', 2), ['e0']), { code: 'EIM_ERR_INVALID_ARGUMENT' });
      assert.equal(await store.get('c2'), undefined);
    } finally {
      await h.close();
    }
  });

  it('updates with a state precondition and clears the pause reason with null', async () => {
    const h = await harness();
    try {
      const store = new SqliteCampaignStore(h.store);
      await store.create(campaign('c1', 1), ['e0']);
      const paused = await store.update('c1', { state: 'paused', pausedReason: 'operator', updatedAt: T0 + 5 }, { expectedState: 'running' });
      assert.equal(paused.pausedReason, 'operator');
      await assert.rejects(store.update('c1', { state: 'running' }, { expectedState: ['running', 'scheduled'] }), { code: 'EIM_ERR_CONFLICT' });
      const resumed = await store.update('c1', { state: 'running', pausedReason: null });
      assert.equal(resumed.pausedReason, undefined);
      assert.equal((await store.get('c1'))?.pausedReason, undefined);
      await assert.rejects(store.update('missing', { state: 'paused' }), { code: 'EIM_ERR_NOT_FOUND' });
    } finally {
      await h.close();
    }
  });

  it('lists newest first with a cursor and a state filter', async () => {
    const h = await harness();
    try {
      const store = new SqliteCampaignStore(h.store);
      for (let i = 0; i < 5; i++) await store.create(campaign(`c${i}`, 1, { state: i % 2 === 0 ? 'running' : 'paused' }), ['e']);
      const first = await store.list({ limit: 2 });
      assert.deepEqual(first.items.map((c) => c.id), ['c4', 'c3']);
      const second = await store.list({ limit: 2, cursor: first.nextCursor! });
      assert.deepEqual(second.items.map((c) => c.id), ['c2', 'c1']);
      assert.deepEqual((await store.list({ state: 'running' })).items.map((c) => c.id), ['c4', 'c2', 'c0']);
      await assert.rejects(store.list({ cursor: 'garbage' }), { code: 'EIM_ERR_INVALID_ARGUMENT' });
    } finally {
      await h.close();
    }
  });

  it('counts the campaign operations by state, canary devices apart, and lists unfinished devices', async () => {
    const h = await harness();
    try {
      const store = new SqliteCampaignStore(h.store);
      await store.create(campaign('c1', 3), EIDS);
      const ops: OperationRecord[] = [];
      for (let i = 0; i < 2; i++) ops.push(await h.core.submit(EIDS[i]!, { kind: 'get-rat' }, { campaignId: 'c1' }));
      await store.recordRelease('c1', 0, { operationId: ops[0]!.id, releasedAt: T0 });
      await store.recordRelease('c1', 1, { operationId: ops[1]!.id, releasedAt: T0 });
      await h.store.commit((tx) => tx.updateOperation(ops[0]!.id, { state: 'failed' }));
      const counts = await store.counts('c1');
      assert.equal(counts.all.failed, 1);
      assert.equal(counts.all.queued, 1);
      assert.deepEqual(counts.canary, { queued: 0, sent: 0, done: 0, failed: 1, expired: 0, cancelled: 0 });
      assert.equal(counts.skipped, 0);
      assert.deepEqual(await store.unfinishedDevices('c1'), [
        { seq: 1, eid: EIDS[1], released: true },
        { seq: 2, eid: EIDS[2], released: false },
      ]);
    } finally {
      await h.close();
    }
  });
});
