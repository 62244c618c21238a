import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eidWithCheckDigits } from '../../src/asn1/identifiers.js';
import { type CampaignInput } from '../../src/scheduler/campaign.js';
import { type CampaignEvent, CampaignRunner } from '../../src/scheduler/campaign-runner.js';
import { ManualClock } from '../../src/scheduler/clock.js';
import type { OperationState } from '../../src/store/records.js';
import { SqliteCampaignStore } from '../../src/store/sqlite/sqlite-campaign-store.js';
import { harness, type Harness } from '../eim/harness.js';
import { FakePresence, fleetEids, registerFleet } from './fakes.js';

const T0 = Date.UTC(2026, 10, 23, 12);
const ENABLE = { kind: 'enable', iccid: '8944000000000000001' };

interface Rig {
  clock: ManualClock;
  h: Harness;
  eids: string[];
  presence: FakePresence;
  campaigns: SqliteCampaignStore;
  runner: CampaignRunner;
  events: CampaignEvent[];
  close(): Promise<void>;
}

async function rig(n: number, options: { start?: number; dbPath?: string; register?: boolean } = {}): Promise<Rig> {
  const clock = new ManualClock(options.start ?? T0);
  const h = await harness({ now: () => clock.now(), ...(options.dbPath !== undefined ? { dbPath: options.dbPath } : {}) });
  const eids = fleetEids(n);
  if (options.register !== false) await registerFleet(h.core, eids);
  const presence = new FakePresence(clock);
  const campaigns = new SqliteCampaignStore(h.store);
  const events: CampaignEvent[] = [];
  const runner = new CampaignRunner({ core: h.core, store: h.store, campaigns, clock, presence, onEvent: (e) => events.push(e) });
  runner.start();
  return {
    clock,
    h,
    eids,
    presence,
    campaigns,
    runner,
    events,
    async close() {
      await runner.stop();
      await h.close();
    },
  };
}

function input(r: Rig, extra: Partial<CampaignInput> = {}): CampaignInput {
  return { request: ENABLE, target: { eids: r.eids }, rate: 1000, maxInFlight: 1000, ...extra };
}

async function ops(r: Rig, id: string) {
  return (await r.h.store.listOperations({ campaignId: id, limit: 1000 })).items;
}

/** Moves time in steps, letting the runner's own timers drive it. */
async function run(r: Rig, ms: number, step = 10): Promise<void> {
  for (let t = 0; t < ms; t += step) {
    r.clock.advance(step);
    await r.runner.settled();
  }
}

/** The device side, short-circuited: the operation ends in `state` as if its result had been applied. */
async function finish(r: Rig, ids: readonly string[], state: OperationState): Promise<void> {
  const now = r.clock.now();
  await r.h.store.commit((tx) => {
    for (const id of ids) tx.updateOperation(id, { state, completedAt: now });
  });
}

async function state(r: Rig, id: string) {
  return (await r.runner.get(id))!;
}

describe('canary', () => {
  it('releases only the canary share until every canary operation succeeded, then the rest', async () => {
    const r = await rig(20);
    try {
      const c = await r.runner.create(input(r, { canaryShare: 0.1 }));
      assert.equal(c.canaryCount, 2);
      assert.equal(c.phase, 'canary');
      await run(r, 200);
      let released = await ops(r, c.id);
      assert.deepEqual(released.map((o) => o.eid).sort(), r.eids.slice(0, 2).sort());
      await finish(r, [released[0]!.id], 'done');
      await r.runner.tick();
      await run(r, 200);
      assert.equal((await ops(r, c.id)).length, 2, 'one canary still pending: the rest waits');
      await finish(r, [released[1]!.id], 'done');
      await r.runner.tick();
      await run(r, 200);
      released = await ops(r, c.id);
      assert.equal(released.length, 20);
      assert.equal((await state(r, c.id)).phase, 'main');
    } finally {
      await r.close();
    }
  });

  it('pauses when a canary operation fails, and releases the rest only when the operator resumes', async () => {
    const r = await rig(20);
    try {
      const c = await r.runner.create(input(r, { canaryShare: 0.1 }));
      await run(r, 100);
      const canary = await ops(r, c.id);
      await finish(r, [canary[0]!.id], 'failed');
      await r.runner.tick();
      const paused = await state(r, c.id);
      assert.equal(paused.state, 'paused');
      assert.equal(paused.pausedReason, 'canary-failed');
      assert.ok(r.events.some((e) => e.campaignId === c.id && e.state === 'paused' && e.pausedReason === 'canary-failed'));
      await finish(r, [canary[1]!.id], 'done');
      await run(r, 2000, 100);
      assert.equal((await ops(r, c.id)).length, 2);
      const resumed = await r.runner.resume(c.id);
      assert.equal(resumed.state, 'running');
      assert.equal(resumed.phase, 'main');
      await run(r, 200);
      assert.equal((await ops(r, c.id)).length, 20);
    } finally {
      await r.close();
    }
  });
});

describe('pacing', () => {
  it('releases at the given rate per second', async () => {
    const r = await rig(50);
    try {
      const c = await r.runner.create(input(r, { rate: 10 }));
      await r.runner.settled();
      assert.equal((await ops(r, c.id)).length, 1);
      await run(r, 1000, 100);
      assert.equal((await ops(r, c.id)).length, 11);
      await run(r, 2000, 50);
      assert.equal((await ops(r, c.id)).length, 31);
    } finally {
      await r.close();
    }
  });

  it('never has more than maxInFlight operations unfinished, and refills as they finish', async () => {
    const r = await rig(20);
    try {
      const c = await r.runner.create(input(r, { maxInFlight: 5 }));
      await run(r, 200);
      const first = await ops(r, c.id);
      assert.equal(first.length, 5);
      await finish(r, [first[0]!.id, first[1]!.id], 'done');
      await r.runner.tick();
      await run(r, 200);
      const now = await ops(r, c.id);
      assert.equal(now.length, 7);
      assert.equal(now.filter((o) => o.state === 'queued').length, 5);
    } finally {
      await r.close();
    }
  });

  it('releases only inside the daily window in its time zone, and wakes itself when the window opens', async () => {
    // 2026-11-23 23:30 UTC is 00:30 in Berlin (CET, UTC+1): the window 01:00-05:00 opens at 00:00 UTC.
    const start = Date.UTC(2026, 10, 23, 23, 30);
    const r = await rig(10, { start });
    try {
      const c = await r.runner.create(input(r, { rate: 1 / 3600, window: { start: '01:00', end: '05:00', timeZone: 'Europe/Berlin' } }));
      await r.runner.settled();
      r.clock.advance(29 * 60_000);
      await r.runner.settled();
      assert.equal((await ops(r, c.id)).length, 0);
      r.clock.set(Date.UTC(2026, 10, 24, 0, 0));
      await r.runner.settled();
      assert.equal((await ops(r, c.id)).length, 1, 'released at the window opening by its own timer');
      const at = async (ms: number) => {
        r.clock.set(ms);
        await r.runner.tick();
        return (await ops(r, c.id)).length;
      };
      assert.equal(await at(Date.UTC(2026, 10, 24, 1, 0, 30)), 2);
      assert.equal(await at(Date.UTC(2026, 10, 24, 2, 0, 30)), 3);
      assert.equal(await at(Date.UTC(2026, 10, 24, 3, 0, 30)), 4);
      assert.equal(await at(Date.UTC(2026, 10, 24, 4, 30)), 4, '05:30 Berlin: window closed');
      assert.equal(await at(Date.UTC(2026, 10, 24, 22, 0)), 4, '23:00 Berlin: still closed');
      assert.equal(await at(Date.UTC(2026, 10, 25, 0, 0, 30)), 5);
    } finally {
      await r.close();
    }
  });
});

describe('start time', () => {
  it('waits for its start time, then runs on its own timer', async () => {
    const r = await rig(3);
    try {
      const c = await r.runner.create(input(r, { startAt: T0 + 3_600_000 }));
      assert.equal(c.state, 'scheduled');
      await run(r, 1000, 100);
      assert.equal((await ops(r, c.id)).length, 0);
      r.clock.set(T0 + 3_600_000);
      await r.runner.settled();
      assert.equal((await state(r, c.id)).state, 'running');
      assert.equal((await ops(r, c.id)).length, 1);
    } finally {
      await r.close();
    }
  });
});

describe('failure threshold', () => {
  it('pauses when the failure rate passes the threshold and restarts counting on resume', async () => {
    const r = await rig(40);
    try {
      const c = await r.runner.create(input(r, { maxInFlight: 10, failureThreshold: 0.2, minResultsForThreshold: 10 }));
      await run(r, 100);
      let batch = await ops(r, c.id);
      assert.equal(batch.length, 10);
      await finish(r, batch.slice(0, 8).map((o) => o.id), 'done');
      await finish(r, batch.slice(8).map((o) => o.id), 'failed');
      await r.runner.tick();
      assert.equal((await state(r, c.id)).state, 'running', '2 of 10 is not above 20%');
      await run(r, 100);
      batch = (await ops(r, c.id)).filter((o) => o.state === 'queued');
      assert.equal(batch.length, 10);
      await finish(r, batch.slice(0, 5).map((o) => o.id), 'failed');
      await r.runner.tick();
      const paused = await state(r, c.id);
      assert.equal(paused.state, 'paused');
      assert.equal(paused.pausedReason, 'failure-threshold');
      const before = (await ops(r, c.id)).length;
      await finish(r, batch.slice(5).map((o) => o.id), 'done');
      await run(r, 500, 50);
      assert.equal((await ops(r, c.id)).length, before, 'paused: nothing released');
      await r.runner.resume(c.id);
      await run(r, 100);
      assert.equal((await state(r, c.id)).state, 'running', 'past failures do not pause it again');
      assert.equal((await ops(r, c.id)).length, 30);
    } finally {
      await r.close();
    }
  });
});

describe('pause, resume, cancel', () => {
  it('stops releasing on pause, continues on resume, and on cancel withdraws the operations not yet sent', async () => {
    const r = await rig(20);
    try {
      const c = await r.runner.create(input(r, { maxInFlight: 5 }));
      await run(r, 100);
      await r.runner.pause(c.id);
      const first = await ops(r, c.id);
      await finish(r, first.map((o) => o.id), 'done');
      await run(r, 500, 50);
      assert.equal((await ops(r, c.id)).length, 5);
      await assert.rejects(r.runner.pause(c.id), { code: 'EIM_ERR_CONFLICT' });
      await r.runner.resume(c.id);
      await run(r, 100);
      assert.equal((await ops(r, c.id)).length, 10);
      const sent = (await ops(r, c.id)).find((o) => o.state === 'queued')!;
      await r.h.store.commit((tx) => tx.updateOperation(sent.id, { state: 'sent', sentAt: r.clock.now() }));
      const cancelled = await r.runner.cancel(c.id);
      assert.equal(cancelled.state, 'cancelled');
      const after = await ops(r, c.id);
      assert.equal(after.filter((o) => o.state === 'cancelled').length, 4);
      assert.equal((await r.h.store.getOperation(sent.id))?.state, 'sent', 'an operation already with its device is left to finish');
      await run(r, 500, 50);
      assert.equal((await ops(r, c.id)).length, 10);
      await assert.rejects(r.runner.resume(c.id), { code: 'EIM_ERR_CONFLICT' });
      await assert.rejects(r.runner.pause('nope'), { code: 'EIM_ERR_NOT_FOUND' });
    } finally {
      await r.close();
    }
  });

  it('completes once every device has a finished operation', async () => {
    const r = await rig(5);
    try {
      const c = await r.runner.create(input(r));
      await run(r, 100);
      await finish(r, (await ops(r, c.id)).map((o) => o.id), 'done');
      await r.runner.tick();
      const done = await state(r, c.id);
      assert.equal(done.state, 'completed');
      assert.equal(done.progress.byState.done, 5);
      assert.equal(done.eta.at, done.completedAt);
    } finally {
      await r.close();
    }
  });
});

describe('restart mid-campaign', () => {
  it('resumes from the stored cursor after the store is reopened: no device skipped, none repeated', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'eim-campaign-'));
    const dbPath = join(dir, 'eim.db');
    try {
      const a = await rig(30, { dbPath });
      const c = await a.runner.create(input(a, { rate: 10 }));
      await run(a, 1000, 100);
      assert.equal((await ops(a, c.id)).length, 11);
      // A crash between submit and the cursor write: device 11 has its operation, the cursor does not know.
      const orphan = await a.h.core.submit(a.eids[11]!, ENABLE, { idempotencyKey: `campaign:${c.id}:${a.eids[11]}`, campaignId: c.id });
      assert.equal((await a.campaigns.get(c.id))?.cursor, 11);
      await a.runner.stop();
      await a.h.store.close();

      const b = await rig(30, { dbPath, register: false });
      try {
        for (let i = 0; i < 100 && (await state(b, c.id)).state !== 'completed'; i++) {
          await run(b, 500, 100);
          await finish(b, (await ops(b, c.id)).filter((o) => o.state === 'queued').map((o) => o.id), 'done');
          await b.runner.tick();
        }
        const all = await ops(b, c.id);
        assert.equal((await state(b, c.id)).state, 'completed');
        assert.equal(all.length, 30);
        assert.deepEqual([...new Set(all.map((o) => o.eid))].sort(), [...b.eids].sort());
        const device11 = (await b.campaigns.devices(c.id, { fromSeq: 11, limit: 1 }))[0]!;
        assert.equal(device11.operationId, orphan.id);
      } finally {
        await b.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('progress and ETA', () => {
  it('counts operations by state and estimates completion from expected wake-ups and the rate', async () => {
    const r = await rig(10);
    try {
      r.presence.wake(r.eids[0]!, T0 + 93_000);
      for (let i = 1; i < 9; i++) r.presence.expect(r.eids[i]!, T0 + i * 60_000);
      const c = await r.runner.create(input(r, { rate: 1 }));
      await r.runner.settled();
      const v = await state(r, c.id);
      assert.equal(v.progress.total, 10);
      assert.equal(v.progress.released, 1);
      assert.equal(v.progress.inFlight, 1);
      assert.equal(v.progress.byState.queued, 1);
      // Device 8 wakes last (T0 + 8 min); device 9's next wake-up is unknown.
      assert.equal(v.eta.at, T0 + 8 * 60_000);
      assert.equal(v.eta.unknownWakeups, 1);
      await r.runner.pause(c.id);
      assert.equal((await state(r, c.id)).eta.at, undefined);
    } finally {
      await r.close();
    }
  });

  it('lets the rate dominate when devices are awake: the last release bounds the ETA', async () => {
    const r = await rig(10);
    try {
      for (const eid of r.eids) r.presence.wake(eid, T0 + 3_600_000);
      const c = await r.runner.create(input(r, { rate: 0.5 }));
      const v = await state(r, c.id);
      // Ten releases two seconds apart from T0 (the first at once).
      assert.equal(v.eta.at, T0 + 18_000);
      assert.equal(v.eta.unknownWakeups, 0);
    } finally {
      await r.close();
    }
  });
});

describe('targets', () => {
  it('freezes a label target at creation and skips listed eUICCs that are not registered', async () => {
    const r = await rig(6);
    try {
      const north = fleetEids(4, '8904903211111111111');
      await registerFleet(r.h.core, north, ['north']);
      const byLabel = await r.runner.create(input(r, { target: { label: 'north' } }));
      assert.equal(byLabel.canaryCount, 0);
      assert.equal(byLabel.progress.total, 4);
      const ghost = eidWithCheckDigits('890490329999999999999999999999');
      const listed = await r.runner.create(input(r, { target: { eids: [...r.eids.slice(0, 2), ghost, r.eids[0]!] } }));
      assert.equal(listed.progress.total, 3, 'duplicates removed');
      await run(r, 100);
      const v = await state(r, listed.id);
      assert.equal(v.progress.skipped, 1);
      assert.equal(v.progress.released, 3);
      await assert.rejects(r.runner.create(input(r, { target: { label: 'nobody' } })), { code: 'EIM_ERR_INVALID_ARGUMENT' });
      await assert.rejects(r.runner.create(input(r, { rate: 0 })), /rate/);
      await assert.rejects(r.runner.create(input(r, { window: { start: '01:00', end: '05:00', timeZone: 'Mars/Olympus' } })), /timeZone/);
    } finally {
      await r.close();
    }
  });
});
