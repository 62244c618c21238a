/**
 * The eIM core against the virtual eUICC, with nothing in between: every PSMO and eCO the core builds is
 * loaded into the card, the card's signed answer is applied by the core, and the outcome (result code by its
 * spec name) and the inventory must agree with what the card did. Pins interop of our two halves on every
 * result code of notes §(g) the card can produce.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { AddInitialEimResponse } from '../../src/asn1/eim-configuration.js';
import { EimPackageResult } from '../../src/asn1/esipa.js';
import { EuiccPackageResult } from '../../src/asn1/euicc-package.js';
import { PendingNotification } from '../../src/asn1/rsp-notification.js';
import { decode } from '../../src/asn1/schema.js';
import type { OperationRequest } from '../../src/eim/operation-request.js';
import { addInitialEimRequest } from '../../src/eim/identity.js';
import { VirtualEuicc } from '../../src/sim/euicc/euicc.js';
import { EID, harness, type Harness } from '../eim/harness.js';

const A = '8944000000000000031';
const B = '8944000000000000032';
const LOCKED = '8944000000000000033';
const UNKNOWN = '8944000000000000099';

async function setup(): Promise<{ h: Harness; card: VirtualEuicc; run: (r: OperationRequest) => Promise<{ state: string; errorCode?: string }> }> {
  const h = await harness({ register: false });
  const card = VirtualEuicc.fromPki(h.pki, EID, {
    profiles: [{ iccid: A, state: 'enabled' }, { iccid: B }, { iccid: LOCKED, policyRules: ['ppr2'] }],
  });
  const answer = decode(AddInitialEimResponse, card.addInitialEim(addInitialEimRequest(h.identity)));
  assert.ok('addInitialEimOk' in answer);
  const item = answer.addInitialEimOk[0]!;
  await h.core.registerEuicc({
    eid: EID,
    euiccCertificate: card.euiccCertificate,
    eumCertificate: card.eumCertificate,
    ...('associationToken' in item ? { associationToken: item.associationToken } : {}),
  });
  const run = async (r: OperationRequest) => {
    const op = await h.core.submit(EID, r);
    const pkg = (await h.core.nextPackage(EID))!;
    assert.equal(pkg.operationId, op.id);
    const applied = await h.core.applyEuiccPackageResult(EID, decode(EuiccPackageResult, card.loadEuiccPackage(pkg.der)));
    for (const seq of await h.core.takeAcknowledgements(EID)) card.removeNotificationFromList(seq);
    return applied;
  };
  return { h, card, run };
}

const states = async (h: Harness) => Object.fromEntries((await h.store.listProfiles(EID)).map((p) => [p.iccid, p.state]));

describe('eIM core against the virtual eUICC', () => {
  it('agrees on every PSMO outcome and error code, and on the inventory', async () => {
    const { h, card, run } = await setup();
    try {
      assert.deepEqual(await run({ kind: 'list-profiles' }), { operationId: (await h.store.listOperations({ eid: EID })).items[0]!.id, state: 'done' });
      assert.deepEqual(await states(h), { [A]: 'enabled', [B]: 'disabled', [LOCKED]: 'disabled' });
      const codes: [OperationRequest, string | undefined][] = [
        [{ kind: 'enable', iccid: B }, undefined],
        [{ kind: 'enable', iccid: B }, 'profileNotInDisabledState'],
        [{ kind: 'enable', iccid: UNKNOWN }, 'iccidOrAidNotFound'],
        [{ kind: 'disable', iccid: A }, 'profileNotInEnabledState'],
        [{ kind: 'delete', iccid: B }, 'profileNotInDisabledState'],
        [{ kind: 'delete', iccid: LOCKED }, 'disallowedByPolicy'],
        [{ kind: 'delete', iccid: A }, undefined],
        [{ kind: 'unset-fallback' }, 'noFallbackAttribute'],
        [{ kind: 'set-fallback', iccid: UNKNOWN }, 'iccidOrAidNotFound'],
        [{ kind: 'set-fallback', iccid: LOCKED }, undefined],
        [{ kind: 'unset-fallback' }, undefined],
        [{ kind: 'get-rat' }, undefined],
        [{ kind: 'immediate-enable', enable: true, smdpAddress: 'smdp.example.com' }, undefined],
        [{ kind: 'default-dp', address: 'smdp.example.com' }, undefined],
        [{ kind: 'disable', iccid: B }, undefined],
      ];
      for (const [request, errorCode] of codes) {
        const r = await run(request);
        assert.equal(r.errorCode, errorCode, `${JSON.stringify(request)} -> ${JSON.stringify(r)}`);
        assert.equal(r.state, errorCode === undefined ? 'done' : 'failed');
      }
      assert.deepEqual(await states(h), { [B]: 'disabled', [LOCKED]: 'disabled' });
      assert.equal(card.profile(A), undefined);
      assert.equal((await h.store.getEuicc(EID))?.defaultSmdpAddress, 'smdp.example.com');
      // a full re-read agrees with the card
      await run({ kind: 'list-profiles' });
      assert.deepEqual(await states(h), { [B]: card.profile(B)!.state, [LOCKED]: card.profile(LOCKED)!.state });
      // every result was acknowledged, so the card keeps nothing
      assert.equal(card.storedPackageResults().length, 0);
    } finally {
      await h.close();
    }
  });

  it('applies a result with its notifications (ePRAndNotifications) once: one history line per change, with its operation', async () => {
    const { h, card, run } = await setup();
    try {
      await run({ kind: 'list-profiles' });
      const op = await h.core.submit(EID, { kind: 'enable', iccid: B });
      const pkg = (await h.core.nextPackage(EID))!;
      const result = decode(EuiccPackageResult, card.loadEuiccPackage(pkg.der));
      // The card's own enable/disable notifications of this change, as an IPA sends them beside the result.
      const notificationList = card.retrieveNotificationsList().map((n) => decode(PendingNotification, n.der));
      assert.deepEqual(card.retrieveNotificationsList().map((n) => [n.operation, n.iccid]).sort(), [['disable', A], ['enable', B]]);
      const applied = await h.core.applyEimPackageResult(EID, decode(EimPackageResult, EimPackageResult.encode({ ePRAndNotifications: { euiccPackageResult: result, notificationList } })));
      assert.deepEqual(applied, { operationId: op.id, state: 'done' });
      assert.deepEqual(await states(h), { [A]: 'disabled', [B]: 'enabled', [LOCKED]: 'disabled' });
      const history = (await h.store.listProfileHistory(EID)).filter((e) => e.change === 'enabled' || e.change === 'disabled');
      assert.deepEqual(history.map((e) => [e.iccid, e.change, e.operationId]), [[A, 'disabled', op.id], [B, 'enabled', op.id]]);
      // Both notifications are stored (to acknowledge) and verified; the result's seqNumber is acknowledged too.
      assert.equal((await h.store.listNotifications(EID)).filter((n) => n.kind === 'enable' || n.kind === 'disable').length, 2);
      assert.equal((await h.core.takeAcknowledgements(EID)).length, 3);
      // Delivered again (the acknowledgement was lost): nothing changes, no new history.
      const lines = (await h.store.listProfileHistory(EID)).length;
      await assert.rejects(h.core.applyEimPackageResult(EID, { ePRAndNotifications: { euiccPackageResult: result, notificationList } }), /already/);
      assert.equal((await h.store.listProfileHistory(EID)).length, lines);
      assert.deepEqual(await states(h), { [A]: 'disabled', [B]: 'enabled', [LOCKED]: 'disabled' });
    } finally {
      await h.close();
    }
  });

  it('agrees on eCOs: list, add another eIM, update and delete it, and the card refuses to lose its last eIM', async () => {
    const { h, run } = await setup();
    try {
      assert.equal((await run({ kind: 'list-eim' })).state, 'done');
      assert.deepEqual((await h.store.getAssociation(h.identity.eimId, EID))?.eimEntries?.map((e) => e.eimId), [h.identity.eimId]);
      const other = { eimId: 'eim.other', eimFqdn: 'other.example.com', counterValue: 0, publicKeySpki: Buffer.from(h.identity.signer.publicKeySpki()).toString('hex') };
      assert.equal((await run({ kind: 'add-eim', eim: other })).state, 'done');
      assert.equal((await run({ kind: 'add-eim', eim: other })).errorCode, 'associatedEimAlreadyExists');
      assert.equal((await run({ kind: 'update-eim', eim: { eimId: 'eim.nobody' } })).errorCode, 'eimNotFound');
      assert.equal((await run({ kind: 'update-eim', eim: { eimId: 'eim.other', eimFqdn: 'other2.example.com' } })).state, 'done');
      assert.equal((await run({ kind: 'delete-eim', eimId: 'eim.other' })).state, 'done');
      assert.equal((await run({ kind: 'delete-eim', eimId: h.identity.eimId })).errorCode, 'lastEimDeleted');
      assert.equal((await h.store.getAssociation(h.identity.eimId, EID))?.state, 'active');
    } finally {
      await h.close();
    }
  });

  it('applies a package only once when the card sees it twice (replay) and re-acknowledges a repeated result', async () => {
    const { h, card } = await setup();
    try {
      await h.core.submit(EID, { kind: 'get-rat' });
      const pkg = (await h.core.nextPackage(EID))!;
      const first = card.loadEuiccPackage(pkg.der);
      const replay = decode(EuiccPackageResult, card.loadEuiccPackage(pkg.der));
      assert.ok('euiccPackageErrorSigned' in replay);
      assert.equal(replay.euiccPackageErrorSigned.euiccPackageErrorDataSigned.euiccPackageErrorCode, 'replayError');
      assert.equal((await h.core.applyEuiccPackageResult(EID, decode(EuiccPackageResult, first))).state, 'done');
      await assert.rejects(h.core.applyEuiccPackageResult(EID, replay), /already-applied/);
      await assert.rejects(h.core.applyEuiccPackageResult(EID, decode(EuiccPackageResult, first)), /already-applied/);
    } finally {
      await h.close();
    }
  });
});

describe('eIM core, ESipa handler and IPA: rollback and fallback', () => {
  async function retrieval() {
    const { h, card } = await setup();
    const { EsipaHandler } = await import('../../src/esipa/esipa-handler.js');
    const { Ipa } = await import('../../src/sim/ipa.js');
    const esipa = new EsipaHandler({ core: h.core });
    const ipa = new Ipa(card);
    /** Sends one IPA message and follows the conversation until the IPA has nothing more to say. */
    const talk = async (first: Uint8Array | undefined): Promise<void> => {
      let message = first;
      for (let i = 0; message !== undefined && i < 8; i++) {
        const outcome = await esipa.handle(message);
        message = outcome.kind === 'response' ? ipa.handleEimMessage(outcome.der) : undefined;
      }
    };
    return { h, card, ipa, esipa, talk, poll: () => talk(ipa.pollRequest()) };
  }

  it('an enable with rollbackFlag that loses connectivity ends rolled back, with the inventory unchanged', async () => {
    const { h, card, ipa, esipa, poll, talk } = await retrieval();
    try {
      await h.core.submit(EID, { kind: 'list-profiles' });
      await poll();
      const op = await h.core.submit(EID, { kind: 'enable', iccid: B, rollback: true });
      // the device fetches and runs the package, but its connectivity fails on the new profile before it reports
      const answer = await esipa.handle(ipa.pollRequest());
      assert.equal(answer.kind, 'response');
      ipa.handleEimMessage((answer as { der: Uint8Array }).der);
      assert.equal(ipa.loseConnectivity(), 'rollback');
      assert.equal(card.profile(A)?.state, 'enabled');
      for (const m of ipa.takeOutbox()) await talk(m);
      const done = await h.store.getOperation(op.id);
      assert.equal(done?.state, 'failed');
      assert.equal(done?.errorCode, 'rolledBack');
      assert.deepEqual(await states(h), { [A]: 'enabled', [B]: 'disabled', [LOCKED]: 'disabled' });
    } finally {
      await h.close();
    }
  });

  it('a fallback makes the next poll carry notifyStateChange, and the eIM re-reads the inventory by itself', async () => {
    const { h, card, ipa, poll } = await retrieval();
    try {
      await h.core.submit(EID, { kind: 'set-fallback', iccid: A });
      await poll();
      await h.core.submit(EID, { kind: 'enable', iccid: B });
      await poll();
      assert.deepEqual(await states(h), { [A]: 'disabled', [B]: 'enabled' }, 'inventory after the enable (no full list read yet)');
      assert.equal(ipa.loseConnectivity(), 'fallback');
      assert.equal(card.profile(A)?.state, 'enabled');
      await poll(); // GetEimPackageRequest with notifyStateChange -> listProfileInfo -> result
      assert.ok(h.events.some((e) => e.type === 'euicc.resync-requested' && e.cause === 'fallback'));
      assert.deepEqual(await states(h), { [A]: 'enabled', [B]: 'disabled', [LOCKED]: 'disabled' });
      assert.equal((await h.store.getEuicc(EID))?.resync, undefined);
    } finally {
      await h.close();
    }
  });
});
