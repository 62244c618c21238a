import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { EuiccPackageRequest } from '../../src/asn1/euicc-package.js';
import { decode } from '../../src/asn1/schema.js';
import type { EimEvent } from '../../src/eim/events.js';
import { ManualClock } from '../../src/scheduler/clock.js';
import { OperationReaper } from '../../src/scheduler/operation-reaper.js';
import { EID, harness } from '../eim/harness.js';
import { turns } from './fakes.js';

const T0 = Date.UTC(2026, 10, 23, 12);
const HOUR = 3_600_000;

async function rig() {
  const clock = new ManualClock(T0);
  const h = await harness({ now: () => clock.now() });
  const events: EimEvent[] = [];
  const reaper = new OperationReaper({ store: h.store, clock, onEvent: (e) => events.push(e), reconcileAfterMs: 6 * HOUR, sweepIntervalMs: 60_000 });
  return { clock, h, events, reaper };
}

describe('reconciliation of results that never come', () => {
  it('fails an operation sent longer than reconcileAfterMs and makes the next package a listProfileInfo re-read', async () => {
    const { clock, h, events, reaper } = await rig();
    try {
      const op = await h.core.submit(EID, { kind: 'enable', iccid: '8944000000000000001' });
      await h.core.nextPackage(EID); // sent; the device never answers and never comes back
      clock.advance(6 * HOUR - 1);
      assert.deepEqual(await reaper.sweep(), { expired: 0, reconciled: 0 });
      assert.equal((await h.store.getOperation(op.id))?.state, 'sent');
      clock.advance(2);
      assert.deepEqual(await reaper.sweep(), { expired: 0, reconciled: 1 });
      const stored = await h.store.getOperation(op.id);
      assert.equal(stored?.state, 'failed');
      assert.equal(stored?.errorCode, 'no-result');
      assert.ok(events.some((e) => e.type === 'operation.changed' && e.operationId === op.id && e.state === 'failed'));
      assert.equal((await h.store.getEuicc(EID))?.resync?.cause, 'no-result');
      const next = await h.core.nextPackage(EID);
      const psmo = decode(EuiccPackageRequest, next!.der).euiccPackageSigned.euiccPackage as { psmoList: object[] };
      assert.ok('listProfileInfo' in psmo.psmoList[0]!);
      assert.equal((await h.store.listAudit({ operationId: op.id, action: 'operation-reconciled' })).items.length, 1);
    } finally {
      await h.close();
    }
  });

  it('runs on its own timer once started', async () => {
    const { clock, h, reaper } = await rig();
    try {
      const op = await h.core.submit(EID, { kind: 'list-profiles' });
      await h.core.nextPackage(EID);
      reaper.start();
      // The first sweep (at +1 min) finds nothing yet; the ones after keep coming every minute.
      for (let i = 0; i < 6 * 60 + 2; i++) {
        clock.advance(60_000);
        await turns(3);
      }
      await reaper.stop();
      assert.equal((await h.store.getOperation(op.id))?.state, 'failed');
    } finally {
      await h.close();
    }
  });
});

describe('expiry', () => {
  it('expires queued operations past expiresAt even when their device never asks again', async () => {
    const { clock, h, events, reaper } = await rig();
    try {
      const a = await h.core.submit(EID, { kind: 'list-profiles' }, { expiresAt: T0 + HOUR });
      const b = await h.core.submit(EID, { kind: 'get-rat' }, { expiresAt: T0 + 3 * HOUR });
      clock.advance(2 * HOUR);
      assert.deepEqual(await reaper.sweep(), { expired: 1, reconciled: 0 });
      assert.equal((await h.store.getOperation(a.id))?.state, 'expired');
      assert.equal((await h.store.getOperation(b.id))?.state, 'queued');
      assert.ok(events.some((e) => e.type === 'operation.changed' && e.operationId === a.id && e.state === 'expired'));
    } finally {
      await h.close();
    }
  });
});
