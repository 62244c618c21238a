/** The scheduler wired as main.ts does: a canary campaign driven to completion over injection mode. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { EuiccPackageRequest } from '../../src/asn1/euicc-package.js';
import { decode } from '../../src/asn1/schema.js';
import type { EimEvent } from '../../src/eim/events.js';
import { EsipaHandler } from '../../src/esipa/esipa-handler.js';
import { ManualClock } from '../../src/scheduler/clock.js';
import type { CampaignEvent } from '../../src/scheduler/campaign-runner.js';
import { Scheduler } from '../../src/scheduler/scheduler.js';
import { SqliteCampaignStore } from '../../src/store/sqlite/sqlite-campaign-store.js';
import { decodeResult, EIDS, euiccAnswer, harness } from '../eim/harness.js';
import { FakeDownlink, FakePresence, packageOf, turns } from './fakes.js';

const T0 = Date.UTC(2026, 10, 23, 12);

describe('scheduler', () => {
  it('runs a canary campaign to completion over injection mode: one package per device, each applied once', async () => {
    const clock = new ManualClock(T0);
    let scheduler: Scheduler | undefined;
    const h = await harness({ now: () => clock.now(), onEvent: (e) => scheduler?.onEvent(e) });
    try {
      const presence = new FakePresence(clock);
      const downlink = new FakeDownlink(clock);
      const campaignEvents: CampaignEvent[] = [];
      const opEvents: EimEvent[] = [];
      scheduler = new Scheduler({
        core: h.core,
        store: h.store,
        campaigns: new SqliteCampaignStore(h.store),
        clock,
        presence,
        injection: { source: new EsipaHandler({ core: h.core }), downlink },
        onOperationEvent: (e) => opEvents.push(e),
        onCampaignEvent: (e) => campaignEvents.push(e),
      });
      const s = scheduler;
      let seq = 1;
      // The devices: answer each package with a signed listProfileInfo result, a moment after receiving it.
      downlink.outcome = (eid, der) => {
        const pkg = packageOf(der);
        if (pkg[1] === 0x51) {
          setImmediate(() => {
            void h.core
              .applyEuiccPackageResult(eid, decodeResult(euiccAnswer(h.pki, eid, pkg, [{ listProfileInfoResult: { profileInfoListOk: [] } }], { seqNumber: seq++ })))
              .then(() => s.dispatcher!.exchangeFinished(eid));
          });
        }
        return 'delivered';
      };
      s.start();
      for (const eid of EIDS) presence.wake(eid, T0 + 93_000);
      const c = await s.campaigns.create({ request: { kind: 'list-profiles' }, target: { eids: EIDS }, rate: 100, maxInFlight: 10, canaryShare: 0.34 });
      assert.equal(c.canaryCount, 2);
      for (let i = 0; i < 300 && (await s.campaigns.get(c.id))!.state !== 'completed'; i++) {
        clock.advance(10);
        await s.campaigns.settled();
        await s.dispatcher!.idle();
        await turns(3);
      }
      const done = (await s.campaigns.get(c.id))!;
      assert.equal(done.state, 'completed');
      assert.equal(done.progress.byState.done, 3);
      assert.deepEqual(
        campaignEvents.map((e) => `${e.state}/${e.phase}`),
        ['running/canary', 'running/main', 'completed/main'],
      );
      // Each device received exactly one package (no repeat), with a fresh counter.
      for (const eid of EIDS) {
        const packages = downlink.of(eid).filter((d) => packageOf(d.der)[1] === 0x51);
        assert.equal(packages.length, 1, eid);
        assert.equal(decode(EuiccPackageRequest, packageOf(packages[0]!.der)).euiccPackageSigned.counterValue, 1);
      }
      // The third device was released only after both canary operations were done.
      const ops = (await h.store.listOperations({ campaignId: c.id })).items;
      const third = ops.find((o) => o.eid === EIDS[2])!;
      const canaryDone = Math.max(...ops.filter((o) => o.eid !== EIDS[2]).map((o) => o.completedAt!));
      assert.ok(third.createdAt >= canaryDone, 'rest released after the canary succeeded');
      assert.deepEqual(opEvents, [], 'nothing needed reaping');
      await s.stop();
    } finally {
      await h.close();
    }
  });
});
