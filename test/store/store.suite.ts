/**
 * The Store conformance suite: every Store implementation runs it through `describeStoreConformance` with
 * a factory giving a fresh, empty store per case. It pins the contract of src/store/store.ts: not-found
 * behaviour, aliasing, compare-and-set under concurrent commits, atomicity, ordering and pagination, and
 * (when the factory can reopen) durability.
 */
import { describe, it, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { InvalidArgumentError } from '../../src/errors.js';
import { ConflictError, NotFoundError, StoreError } from '../../src/store/errors.js';
import type { SecurityStore, Store } from '../../src/store/store.js';
import { association, eidOf, euicc, fullEuicc, isPlainBytes, notification, operation, profile, txId } from './fixtures.js';

export interface StoreHarness {
  store: Store & SecurityStore;
  /** Closes the current store and opens the same data again; absent for stores that do not persist. */
  reopen?: () => Promise<Store & SecurityStore>;
  /** Closes what is open and removes what the case left behind (temporary files). */
  dispose(): Promise<void>;
}

/** Settles every promise and returns how many fulfilled plus the rejection reasons. */
async function outcomes(promises: Promise<unknown>[]): Promise<{ fulfilled: number[]; rejected: unknown[] }> {
  const settled = await Promise.allSettled(promises);
  const fulfilled: number[] = [];
  const rejected: unknown[] = [];
  settled.forEach((s, i) => (s.status === 'fulfilled' ? fulfilled.push(i) : rejected.push(s.reason)));
  return { fulfilled, rejected };
}

export function describeStoreConformance(name: string, factory: () => Promise<StoreHarness>): void {
  /** Runs a case on a fresh store and always disposes of it. */
  const withStore = (fn: (h: StoreHarness, t: TestContext) => Promise<void>) => async (t: TestContext) => {
    const h = await factory();
    try {
      await fn(h, t);
    } finally {
      await h.dispose();
    }
  };
  const E1 = eidOf(1);
  const E2 = eidOf(2);

  describe(`Store conformance: ${name}`, () => {
    describe('not found', () => {
      it('lookups of missing records return undefined and listings are empty', withStore(async ({ store }) => {
        assert.equal(await store.getEuicc(E1), undefined);
        assert.equal(await store.getEuiccSummary(E1), undefined);
        assert.equal(await store.getNotification(E1, 1), undefined);
        assert.equal(await store.getAssociation('eim', E1), undefined);
        assert.equal(await store.getOperation('nope'), undefined);
        assert.equal(await store.findOperationByTransactionId(E1, txId(1)), undefined);
        assert.equal(await store.findOperationByIdempotencyKey('k'), undefined);
        assert.deepEqual(await store.listProfiles(E1), []);
        assert.deepEqual(await store.listAssociations(E1), []);
        assert.deepEqual(await store.listProfileHistory(E1), []);
        assert.deepEqual(await store.nextOperations(E1), []);
        assert.deepEqual(await store.listNotifications(E1), []);
        assert.deepEqual(await store.listEuiccs(), { items: [] });
        assert.deepEqual(await store.listOperations(), { items: [] });
        assert.deepEqual(await store.listAudit(), { items: [] });
        assert.equal(store.getByEndpoint('ep'), undefined);
        assert.equal(store.getByPskIdentity('id'), undefined);
        assert.equal(store.getByCertificateFingerprint('00'), undefined);
      }));

      it('changing a record that does not exist rejects with NotFoundError', withStore(async ({ store }) => {
        const attempts: [string, Promise<void>][] = [
          ['patchEuicc', store.commit((tx) => tx.patchEuicc(E1, { lastContactAt: 5 }))],
          ['updateOperation', store.commit((tx) => tx.updateOperation('nope', { state: 'sent' }))],
          ['patchNotification', store.commit((tx) => tx.patchNotification(E1, 1, { ackState: 'sent' }))],
          ['setCounterValue', store.commit((tx) => tx.setCounterValue('eim', E1, 1, { expected: 0 }))],
          ['patchAssociation', store.commit((tx) => tx.patchAssociation('eim', E1, { state: 'removed' }))],
          ['putProfile of an unknown eUICC', store.commit((tx) => tx.putProfile(profile(E1, '8949000000000000001')))],
          ['putAssociation of an unknown eUICC', store.commit((tx) => tx.putAssociation(association(E1)))],
          ['replaceProfiles of an unknown eUICC', store.commit((tx) => tx.replaceProfiles(E1, []))],
        ];
        const settled = await Promise.allSettled(attempts.map(([, p]) => p));
        settled.forEach((s, i) => {
          const what = attempts[i]![0];
          assert.ok(s.status === 'rejected' && s.reason instanceof NotFoundError && s.reason.code === 'EIM_ERR_NOT_FOUND', what);
        });
      }));

      it('deleting records that do not exist succeeds and changes nothing', withStore(async ({ store }) => {
        await store.commit((tx) => tx.putEuicc(euicc(E2)));
        await store.commit((tx) => {
          tx.deleteEuicc(E1);
          tx.deleteProfile(E1, '8949000000000000001');
          tx.deleteAssociation('eim', E1);
          tx.deleteCredential('ep');
        });
        assert.deepEqual((await store.listEuiccs()).items.map((e) => e.eid), [E2]);
      }));
    });

    describe('records', () => {
      it('returns every field as stored, with bytes as plain Uint8Array', withStore(async ({ store }) => {
        const e = fullEuicc(E1);
        const op = operation('op-1', E1, {
          state: 'done', counterValue: 7, eimTransactionId: txId(7), packageDer: new Uint8Array([0xbf, 0x51, 0]),
          sentAt: 2, completedAt: 3, notBefore: 1, expiresAt: 9, result: { ok: [true, null] }, errorCode: 'profileNotInDisabledState',
          errorMessage: 'm', campaignId: 'c1', idempotencyKey: 'k1', params: null, attempts: 2,
        });
        const p = profile(E1, '8949000000000000001', {
          aid: 'a0000005591010ffffffff8900001100', state: 'enabled', profileClass: 'operational', nickname: 'n',
          serviceProviderName: 'sp', profileName: 'pn', fallbackAttribute: true, policyRules: ['ppr1'], lastVerifiedAt: 4,
        });
        const a = association(E1, { counterValue: 3, associationToken: 12, eimEntries: [{ eimId: 'x', eimIdType: 1 }, { eimId: 'y' }] });
        const n = notification(E1, 4, { iccid: '8949000000000000001', notificationAddress: 'smdp.example.com', nextForwardAt: 50 });
        const c = { endpoint: 'ep-1', eid: E1, pskIdentity: 'id-1', psk: new Uint8Array([1, 2, 3]), certificateFingerprint: 'ab'.repeat(32) };
        await store.commit((tx) => {
          tx.putEuicc(e);
          tx.putProfile(p);
          tx.putAssociation(a);
          tx.insertOperation(op);
          tx.insertNotification(n);
          tx.putCredential(c);
        });
        const got = await store.getEuicc(E1);
        assert.deepEqual(got, e);
        assert.ok(isPlainBytes(got?.euiccCertificate) && isPlainBytes(got?.ciPkId));
        const summary = await store.getEuiccSummary(E1);
        assert.deepEqual(summary, { eid: e.eid, createdAt: e.createdAt, euiccCertificate: e.euiccCertificate, eumCertificate: e.eumCertificate, resync: e.resync });
        assert.ok(isPlainBytes(summary?.euiccCertificate) && isPlainBytes(summary?.eumCertificate));
        const gotOp = await store.getOperation('op-1');
        assert.deepEqual(gotOp, op);
        assert.ok(isPlainBytes(gotOp?.eimTransactionId) && isPlainBytes(gotOp?.packageDer));
        assert.deepEqual(await store.listProfiles(E1), [p]);
        assert.deepEqual(await store.getAssociation('eim.example', E1), a);
        const [gotN] = await store.listNotifications(E1);
        assert.deepEqual(gotN, n);
        assert.ok(isPlainBytes(gotN?.payload));
        assert.deepEqual(await store.getNotification(E1, 4), n);
        assert.equal(await store.getNotification(E1, 5), undefined);
        const gotC = store.getByEndpoint('ep-1');
        assert.deepEqual(gotC, c);
        assert.ok(isPlainBytes(gotC?.psk));
        assert.deepEqual(store.getByPskIdentity('id-1'), c);
        assert.deepEqual(store.getByCertificateFingerprint('ab'.repeat(32)), c);
      }));

      it('a patch keeps absent fields, clears fields set to undefined and changes the rest', withStore(async ({ store }) => {
        await store.commit((tx) => tx.putEuicc(fullEuicc(E1)));
        await store.commit((tx) => tx.patchEuicc(E1, { resync: undefined, lastContactAt: 99, labels: ['x'], updatedAt: 5 }));
        const got = await store.getEuicc(E1);
        assert.equal(got?.resync, undefined);
        assert.equal('resync' in (got ?? {}), false);
        assert.equal(got?.lastContactAt, 99);
        assert.equal(got?.updatedAt, 5);
        assert.deepEqual(got?.labels, ['x']);
        assert.equal(got?.defaultSmdpAddress, 'smdp.example.com');
        assert.deepEqual((await store.listEuiccs({ label: 'fleet-a' })).items, []);
        assert.equal((await store.listEuiccs({ label: 'x' })).items.length, 1);
      }));

      it('putEuicc replaces the eUICC but keeps its profiles and associations', withStore(async ({ store }) => {
        await store.commit((tx) => {
          tx.putEuicc(euicc(E1));
          tx.putProfile(profile(E1, '8949000000000000001'));
          tx.putAssociation(association(E1));
        });
        await store.commit((tx) => tx.putEuicc(euicc(E1, { labels: ['new'], updatedAt: 2_000 })));
        assert.equal((await store.getEuicc(E1))?.updatedAt, 2_000);
        assert.equal((await store.listProfiles(E1)).length, 1);
        assert.ok(await store.getAssociation('eim.example', E1));
      }));

      it('refuses malformed input with InvalidArgumentError and writes nothing', withStore(async ({ store }) => {
        await assert.rejects(store.commit((tx) => tx.putEuicc(euicc('1234'))), InvalidArgumentError);
        await assert.rejects(store.commit((tx) => tx.insertOperation(operation('o', E1, { eimTransactionId: new Uint8Array(15) }))), InvalidArgumentError);
        await assert.rejects(store.commit((tx) => tx.setCounterValue('eim', E1, 1.5, { expected: 0 })), InvalidArgumentError);
        await assert.rejects(store.commit((tx) => tx.updateOperation('o', { id: 'other' } as never)), InvalidArgumentError);
        await assert.rejects(store.commit((tx) => tx.patchEuicc(E1, { eid: E2 } as never)), InvalidArgumentError);
        assert.deepEqual(await store.listOperations(), { items: [] });
      }));
    });

    describe('aliasing', () => {
      it('changing inputs after commit does not change stored data', withStore(async ({ store }) => {
        const e = fullEuicc(E1);
        const op = operation('op-1', E1, { eimTransactionId: txId(1), params: { list: [1, 2] } });
        const pending = store.commit((tx) => {
          tx.putEuicc(e);
          tx.insertOperation(op);
        });
        // Mutate before the (group) commit is applied, then again after.
        e.labels.push('late');
        e.euiccCertificate![0] = 0x00;
        op.eimTransactionId![15] = 0xee;
        (op.params as { list: number[] }).list.push(3);
        await pending;
        e.ciPkId![0] = 0x00;
        const got = await store.getEuicc(E1);
        assert.deepEqual(got, fullEuicc(E1));
        assert.deepEqual((await store.getOperation('op-1'))?.eimTransactionId, txId(1));
        assert.deepEqual((await store.getOperation('op-1'))?.params, { list: [1, 2] });
      }));

      it('changing returned records does not change stored data', withStore(async ({ store }) => {
        await store.commit((tx) => tx.putEuicc(fullEuicc(E1)));
        const got = await store.getEuicc(E1);
        got!.labels.push('x');
        got!.euiccCertificate![0] = 0;
        (got!.ipaCapabilities as { features: string[] }).features.push('z');
        const page = await store.listEuiccs();
        page.items[0]!.eumCertificate![0] = 0;
        assert.deepEqual(await store.getEuicc(E1), fullEuicc(E1));
      }));
    });

    describe('counterValue', () => {
      it('goes up by compare-and-set and refuses a lower, equal or stale value', withStore(async ({ store }) => {
        await store.commit((tx) => {
          tx.putEuicc(euicc(E1));
          tx.putAssociation(association(E1, { counterValue: 5 }));
        });
        await store.commit((tx) => tx.setCounterValue('eim.example', E1, 6, { expected: 5 }));
        assert.equal((await store.getAssociation('eim.example', E1))?.counterValue, 6);
        await assert.rejects(store.commit((tx) => tx.setCounterValue('eim.example', E1, 7, { expected: 5 })), ConflictError);
        await assert.rejects(store.commit((tx) => tx.setCounterValue('eim.example', E1, 4, { expected: 6 })), ConflictError);
        await assert.rejects(store.commit((tx) => tx.setCounterValue('eim.example', E1, 6, { expected: 6 })), ConflictError);
        await assert.rejects(store.commit((tx) => tx.putAssociation(association(E1, { counterValue: 2 }))), ConflictError);
        await assert.rejects(
          store.commit((tx) => tx.setCounterValue('eim.example', E1, 9, { expected: 5 })),
          (e: unknown) => e instanceof ConflictError && e.code === 'EIM_ERR_CONFLICT',
        );
        assert.equal((await store.getAssociation('eim.example', E1))?.counterValue, 6);
      }));

      it('of concurrent commits with the same expected value exactly one wins', withStore(async ({ store }) => {
        await store.commit((tx) => {
          tx.putEuicc(euicc(E1));
          tx.putAssociation(association(E1, { counterValue: 10 }));
        });
        const tries = Array.from({ length: 20 }, (_, i) => store.commit((tx) => tx.setCounterValue('eim.example', E1, 11 + i, { expected: 10 })));
        const { fulfilled, rejected } = await outcomes(tries);
        assert.equal(fulfilled.length, 1);
        assert.ok(rejected.every((e) => e instanceof ConflictError));
        assert.equal((await store.getAssociation('eim.example', E1))?.counterValue, 11 + fulfilled[0]!);
      }));

      it('commits issued together apply in call order, each seeing the previous one', withStore(async ({ store }) => {
        await store.commit((tx) => {
          tx.putEuicc(euicc(E1));
          tx.putAssociation(association(E1));
        });
        const chain = Array.from({ length: 50 }, (_, i) => store.commit((tx) => tx.setCounterValue('eim.example', E1, i + 1, { expected: i })));
        await Promise.all(chain);
        assert.equal((await store.getAssociation('eim.example', E1))?.counterValue, 50);
      }));

      it('can restart only after the association is deleted', withStore(async ({ store }) => {
        await store.commit((tx) => {
          tx.putEuicc(euicc(E1));
          tx.putAssociation(association(E1, { counterValue: 8 }));
        });
        await store.commit((tx) => {
          tx.deleteAssociation('eim.example', E1);
          tx.putAssociation(association(E1, { counterValue: 0 }));
        });
        assert.equal((await store.getAssociation('eim.example', E1))?.counterValue, 0);
        await assert.rejects(store.commit((tx) => tx.patchAssociation('eim.example', E1, { counterValue: 1 } as never)), InvalidArgumentError);
      }));
    });

    describe('operations', () => {
      it('updateOperation with expectedState applies exactly once under concurrent commits', withStore(async ({ store }) => {
        await store.commit((tx) => tx.insertOperation(operation('op-1', E1, { state: 'sent' })));
        const tries = Array.from({ length: 20 }, (_, i) =>
          store.commit((tx) => {
            tx.updateOperation('op-1', { state: 'done', result: { winner: i }, completedAt: 5 }, { expectedState: 'sent' });
            tx.appendAudit({ at: 5, actor: 'eim', action: 'result-accepted', operationId: 'op-1', outcome: 'ok', detail: { i } });
          }),
        );
        const { fulfilled, rejected } = await outcomes(tries);
        assert.equal(fulfilled.length, 1);
        assert.ok(rejected.every((e) => e instanceof ConflictError));
        const got = await store.getOperation('op-1');
        assert.equal(got?.state, 'done');
        assert.deepEqual(got?.result, { winner: fulfilled[0] });
        // The audit line of each losing commit went with it.
        assert.deepEqual((await store.listAudit({ operationId: 'op-1' })).items.map((a) => a.detail), [{ i: fulfilled[0]! }]);
      }));

      it('accepts a list of expected states and clears optional fields set to undefined', withStore(async ({ store }) => {
        await store.commit((tx) => tx.insertOperation(operation('op-1', E1, { notBefore: 50, errorCode: 'x' })));
        await store.commit((tx) => tx.updateOperation('op-1', { state: 'cancelled', notBefore: undefined, errorCode: undefined, updatedAt: 7 }, { expectedState: ['queued', 'sent'] }));
        const got = await store.getOperation('op-1');
        assert.equal(got?.state, 'cancelled');
        assert.equal(got?.updatedAt, 7);
        assert.equal(got?.notBefore, undefined);
        assert.equal(got?.errorCode, undefined);
        await assert.rejects(store.commit((tx) => tx.updateOperation('op-1', { state: 'sent' }, { expectedState: ['queued', 'sent'] })), ConflictError);
      }));

      it('nextOperations returns queued operations first-in first-out', withStore(async ({ store }) => {
        await store.commit((tx) => {
          tx.insertOperation(operation('c', E1, { createdAt: 30 }));
          tx.insertOperation(operation('z', E1, { createdAt: 10 }));
          tx.insertOperation(operation('a', E1, { createdAt: 10 }));
          tx.insertOperation(operation('sent', E1, { createdAt: 5, state: 'sent' }));
          tx.insertOperation(operation('later', E1, { createdAt: 20, notBefore: 1_000 }));
          tx.insertOperation(operation('other', E2, { createdAt: 1 }));
        });
        assert.deepEqual((await store.nextOperations(E1)).map((o) => o.id), ['z', 'a', 'later', 'c']);
        assert.deepEqual((await store.nextOperations(E1, { now: 500 })).map((o) => o.id), ['z', 'a', 'c']);
        assert.deepEqual((await store.nextOperations(E1, { limit: 1 })).map((o) => o.id), ['z']);
        assert.deepEqual((await store.sentOperations()).map((o) => o.id), ['sent']);
      }));

      it('finds operations by eimTransactionId per eUICC and by idempotency key', withStore(async ({ store }) => {
        await store.commit((tx) => {
          tx.insertOperation(operation('o1', E1, { eimTransactionId: txId(1), idempotencyKey: 'k1' }));
          tx.insertOperation(operation('o2', E2, { eimTransactionId: txId(1) }));
        });
        assert.equal((await store.findOperationByTransactionId(E1, txId(1)))?.id, 'o1');
        assert.equal((await store.findOperationByTransactionId(E2, txId(1)))?.id, 'o2');
        assert.equal(await store.findOperationByTransactionId(E1, txId(2)), undefined);
        assert.equal((await store.findOperationByIdempotencyKey('k1'))?.id, 'o1');
      }));

      it('sentOperations lists sent operations oldest first, optionally sent before a time', withStore(async ({ store }) => {
        await store.commit((tx) => {
          tx.insertOperation(operation('s2', E1, { state: 'sent', sentAt: 200 }));
          tx.insertOperation(operation('s1', E2, { state: 'sent', sentAt: 100 }));
          tx.insertOperation(operation('d', E1, { state: 'done', sentAt: 50 }));
        });
        assert.deepEqual((await store.sentOperations()).map((o) => o.id), ['s1', 's2']);
        assert.deepEqual((await store.sentOperations({ sentBefore: 150 })).map((o) => o.id), ['s1']);
      }));
    });

    describe('notifications', () => {
      it('inserting an existing (eid, seqNumber) keeps the stored one and does not fail', withStore(async ({ store }) => {
        await store.commit((tx) => tx.insertNotification(notification(E1, 1)));
        await store.commit((tx) => tx.patchNotification(E1, 1, { ackState: 'sent' }));
        await store.commit((tx) => {
          tx.insertNotification(notification(E1, 1, { payload: new Uint8Array([9]), kind: 'delete' }));
          tx.insertNotification(notification(E1, 2));
          tx.insertNotification(notification(E1, 2, { kind: 'other' }));
        });
        const all = await store.listNotifications(E1);
        assert.deepEqual(all.map((n) => [n.seqNumber, n.kind, n.ackState]), [[1, 'enable', 'sent'], [2, 'enable', 'pending']]);
        assert.deepEqual(all[0]?.payload, notification(E1, 1).payload);
      }));

      it('patchNotification changes only the given fields and clears those set to undefined', withStore(async ({ store }) => {
        const n = notification(E1, 7, { forwardState: 'pending', nextForwardAt: 500, ackState: 'pending' });
        await store.commit((tx) => tx.insertNotification(n));
        await store.commit((tx) => tx.patchNotification(E1, 7, { forwardAttempts: 2, nextForwardAt: undefined }));
        const { nextForwardAt: _cleared, ...rest } = n;
        assert.deepEqual(await store.getNotification(E1, 7), { ...rest, forwardAttempts: 2 });
        await store.commit((tx) => tx.patchNotification(E1, 7, {}));
        await assert.rejects(store.commit((tx) => tx.patchNotification(E1, 8, {})), NotFoundError);
      }));

      it('lists what awaits acknowledgement and what is due for forwarding', withStore(async ({ store }) => {
        await store.commit((tx) => {
          tx.insertNotification(notification(E1, 3, { ackState: 'pending', forwardState: 'pending', nextForwardAt: 300 }));
          tx.insertNotification(notification(E1, 1, { ackState: 'sent', forwardState: 'forwarded' }));
          tx.insertNotification(notification(E1, 2, { ackState: 'pending', forwardState: 'pending' }));
          tx.insertNotification(notification(E2, 1, { ackState: 'acknowledged', forwardState: 'pending', nextForwardAt: 100 }));
        });
        assert.deepEqual((await store.notificationsPendingAck(E1)).map((n) => n.seqNumber), [2, 3]);
        assert.deepEqual((await store.notificationsPendingAck(E1, { states: ['pending', 'sent'] })).map((n) => n.seqNumber), [1, 2, 3]);
        const due = await store.notificationsPendingForward(200);
        // Ordered by when each fell due: nextForwardAt when set, else receivedAt (1_000 + seqNumber here).
        assert.deepEqual(due.map((n) => [n.eid, n.seqNumber]), [[E2, 1], [E1, 2]]);
        assert.equal((await store.notificationsPendingForward(1_000)).length, 3);
      }));
    });

    describe('listings', () => {
      it('pages through eUICCs in eid order without gaps or repeats, even when rows are added meanwhile', withStore(async ({ store }) => {
        await store.commit((tx) => {
          for (let i = 25; i >= 1; i--) tx.putEuicc(euicc(eidOf(i * 2)));
        });
        const seen: string[] = [];
        let cursor: string | undefined;
        for (let pages = 0; pages < 10; pages++) {
          const page = await store.listEuiccs({ limit: 10, ...(cursor ? { cursor } : {}) });
          seen.push(...page.items.map((e) => e.eid));
          // Added before the cursor: must not show up or shift the following pages.
          if (pages === 0) await store.commit((tx) => tx.putEuicc(euicc(eidOf(1))));
          cursor = page.nextCursor;
          if (cursor === undefined) break;
        }
        assert.deepEqual(seen, Array.from({ length: 25 }, (_, i) => eidOf((i + 1) * 2)));
        await assert.rejects(store.listEuiccs({ cursor: 'garbage' }), InvalidArgumentError);
      }));

      it('pages through operations by (createdAt, id) across equal timestamps', withStore(async ({ store }) => {
        await store.commit((tx) => {
          for (let i = 0; i < 23; i++) tx.insertOperation(operation(`op-${String(i).padStart(2, '0')}`, i % 2 ? E1 : E2, { createdAt: 100 + Math.floor(i / 5) }));
        });
        const seen: string[] = [];
        let cursor: string | undefined;
        for (let pages = 0; pages < 10; pages++) {
          const page = await store.listOperations({ limit: 4, ...(cursor ? { cursor } : {}) });
          seen.push(...page.items.map((o) => o.id));
          cursor = page.nextCursor;
          if (cursor === undefined) break;
        }
        assert.deepEqual(seen, Array.from({ length: 23 }, (_, i) => `op-${String(i).padStart(2, '0')}`));
      }));

      it('filters eUICCs by label, profile state, last contact and endpoint', withStore(async ({ store }) => {
        await store.commit((tx) => {
          tx.putEuicc(euicc(eidOf(1), { labels: ['a', 'b'], lastContactAt: 100, endpoint: 'ep1' }));
          tx.putEuicc(euicc(eidOf(2), { labels: ['b'], lastContactAt: 200 }));
          tx.putEuicc(euicc(eidOf(3), { labels: [] }));
          tx.putProfile(profile(eidOf(1), 'ICC1', { state: 'enabled' }));
          tx.putProfile(profile(eidOf(2), 'ICC1', { state: 'disabled' }));
        });
        const eids = async (f: Parameters<Store['listEuiccs']>[0]) => (await store.listEuiccs(f)).items.map((e) => e.eid);
        assert.deepEqual(await eids({ label: 'b' }), [eidOf(1), eidOf(2)]);
        assert.deepEqual(await eids({ label: 'a' }), [eidOf(1)]);
        assert.deepEqual(await eids({ profile: { iccid: 'ICC1' } }), [eidOf(1), eidOf(2)]);
        assert.deepEqual(await eids({ profile: { iccid: 'ICC1', state: 'disabled' } }), [eidOf(2)]);
        assert.deepEqual(await eids({ lastContactBefore: 150 }), [eidOf(1)]);
        assert.deepEqual(await eids({ lastContactAfter: 150 }), [eidOf(2)]);
        assert.deepEqual(await eids({ endpoint: 'ep1' }), [eidOf(1)]);
        assert.deepEqual(await eids({ label: 'b', lastContactAfter: 150 }), [eidOf(2)]);
      }));

      it('filters operations by eid, state, kind and campaign', withStore(async ({ store }) => {
        await store.commit((tx) => {
          tx.insertOperation(operation('o1', E1, { kind: 'enable', state: 'queued', campaignId: 'c1' }));
          tx.insertOperation(operation('o2', E1, { kind: 'disable', state: 'sent' }));
          tx.insertOperation(operation('o3', E2, { kind: 'enable', state: 'done', campaignId: 'c1' }));
        });
        const ids = async (f: Parameters<Store['listOperations']>[0]) => (await store.listOperations(f)).items.map((o) => o.id);
        assert.deepEqual(await ids({ eid: E1 }), ['o1', 'o2']);
        assert.deepEqual(await ids({ state: 'done' }), ['o3']);
        assert.deepEqual(await ids({ state: ['queued', 'sent'] }), ['o1', 'o2']);
        assert.deepEqual(await ids({ kind: 'enable' }), ['o1', 'o3']);
        assert.deepEqual(await ids({ campaignId: 'c1', eid: E2 }), ['o3']);
      }));

      it('lists the audit log in insertion order, filtered and paged both ways', withStore(async ({ store }) => {
        await store.commit((tx) => {
          for (let i = 0; i < 12; i++) {
            tx.appendAudit({ at: i, actor: i % 3 ? 'eim' : 'api:ops', action: i % 2 ? 'package-issued' : 'result-accepted', eid: E1, outcome: i === 5 ? 'rejected' : 'ok', ...(i === 5 ? { reason: 'bad-signature' } : {}) });
          }
        });
        const all = await store.listAudit({ limit: 5 });
        assert.deepEqual(all.items.map((a) => a.at), [0, 1, 2, 3, 4]);
        const next = await store.listAudit({ limit: 5, cursor: all.nextCursor! });
        assert.deepEqual(next.items.map((a) => a.at), [5, 6, 7, 8, 9]);
        assert.deepEqual((await store.listAudit({ order: 'desc', limit: 3 })).items.map((a) => a.at), [11, 10, 9]);
        assert.deepEqual((await store.listAudit({ outcome: 'rejected' })).items.map((a) => a.reason), ['bad-signature']);
        assert.deepEqual((await store.listAudit({ actor: 'api:ops', action: 'result-accepted' })).items.map((a) => a.at), [0, 6]);
        assert.deepEqual((await store.listAudit({ from: 3, until: 5 })).items.map((a) => a.at), [3, 4]);
        const ids = all.items.map((a) => a.id);
        assert.ok(ids.every((id, i) => i === 0 || id > ids[i - 1]!));
      }));
    });

    describe('profiles', () => {
      it('replaceProfiles makes the given list the whole inventory', withStore(async ({ store }) => {
        await store.commit((tx) => {
          tx.putEuicc(euicc(E1));
          tx.putProfile(profile(E1, 'ICC1', { state: 'enabled' }));
          tx.putProfile(profile(E1, 'ICC2'));
        });
        await store.commit((tx) => tx.replaceProfiles(E1, [profile(E1, 'ICC2', { state: 'enabled' }), profile(E1, 'ICC3')]));
        assert.deepEqual((await store.listProfiles(E1)).map((p) => [p.iccid, p.state]), [['ICC2', 'enabled'], ['ICC3', 'disabled']]);
        await assert.rejects(store.commit((tx) => tx.replaceProfiles(E1, [profile(E2, 'ICC9')])), InvalidArgumentError);
      }));

      it('keeps profile history append-only in order', withStore(async ({ store }) => {
        await store.commit((tx) => {
          tx.addProfileHistory({ eid: E1, iccid: 'ICC1', at: 5, change: 'installed', operationId: 'op-1' });
          tx.addProfileHistory({ eid: E1, iccid: 'ICC2', at: 6, change: 'seen' });
          tx.addProfileHistory({ eid: E1, iccid: 'ICC1', at: 4, change: 'enabled' });
        });
        const h = await store.listProfileHistory(E1);
        assert.deepEqual(h.map((x) => x.change), ['installed', 'seen', 'enabled']);
        assert.equal(h[0]?.operationId, 'op-1');
        assert.deepEqual((await store.listProfileHistory(E1, 'ICC1')).map((x) => x.change), ['installed', 'enabled']);
      }));
    });

    describe('atomicity and uniqueness', () => {
      it('deleting an eUICC removes its profiles, history, associations and credentials but keeps operations and audit', withStore(async ({ store }) => {
        await store.commit((tx) => {
          tx.putEuicc(euicc(E1, { labels: ['l'] }));
          tx.putEuicc(euicc(E2));
          tx.putProfile(profile(E1, 'ICC1'));
          tx.putProfile(profile(E2, 'ICC1'));
          tx.addProfileHistory({ eid: E1, iccid: 'ICC1', at: 1, change: 'seen' });
          tx.putAssociation(association(E1));
          tx.putCredential({ endpoint: 'ep1', eid: E1, pskIdentity: 'psk1', psk: new Uint8Array([1]) });
          tx.putCredential({ endpoint: 'ep2', eid: E2, pskIdentity: 'psk2' });
          tx.insertOperation(operation('op-1', E1));
          tx.insertNotification(notification(E1, 1));
          tx.appendAudit({ at: 1, actor: 'eim', action: 'package-issued', eid: E1, outcome: 'ok' });
        });
        await store.commit((tx) => tx.deleteEuicc(E1));
        assert.equal(await store.getEuicc(E1), undefined);
        assert.deepEqual(await store.listProfiles(E1), []);
        assert.deepEqual(await store.listProfileHistory(E1), []);
        assert.equal(await store.getAssociation('eim.example', E1), undefined);
        assert.equal(store.getByEndpoint('ep1'), undefined);
        assert.equal(store.getByPskIdentity('psk1'), undefined);
        assert.deepEqual((await store.listEuiccs({ label: 'l' })).items, []);
        assert.ok(await store.getOperation('op-1'));
        assert.equal((await store.listNotifications(E1)).length, 1);
        assert.equal((await store.listAudit({ eid: E1 })).items.length, 1);
        assert.equal((await store.listProfiles(E2)).length, 1);
        assert.ok(store.getByEndpoint('ep2'));
      }));

      it('unique keys are enforced with ConflictError', withStore(async ({ store }) => {
        await store.commit((tx) => {
          tx.putEuicc(euicc(E1, { endpoint: 'ep1' }));
          tx.insertOperation(operation('op-1', E1, { eimTransactionId: txId(1), idempotencyKey: 'k' }));
          tx.putCredential({ endpoint: 'ep1', pskIdentity: 'psk1', certificateFingerprint: 'f1' });
        });
        const cases: [string, Promise<void>][] = [
          ['endpoint', store.commit((tx) => tx.putEuicc(euicc(E2, { endpoint: 'ep1' })))],
          ['operation id', store.commit((tx) => tx.insertOperation(operation('op-1', E2)))],
          ['eimTransactionId', store.commit((tx) => tx.insertOperation(operation('op-2', E1, { eimTransactionId: txId(1) })))],
          ['idempotencyKey', store.commit((tx) => tx.insertOperation(operation('op-3', E2, { idempotencyKey: 'k' })))],
          ['pskIdentity', store.commit((tx) => tx.putCredential({ endpoint: 'ep2', pskIdentity: 'psk1' }))],
          ['fingerprint', store.commit((tx) => tx.putCredential({ endpoint: 'ep3', certificateFingerprint: 'f1' }))],
        ];
        const settled = await Promise.allSettled(cases.map(([, p]) => p));
        settled.forEach((s, i) => {
          const what = cases[i]![0];
          assert.ok(s.status === 'rejected' && s.reason instanceof ConflictError && s.reason.code === 'EIM_ERR_CONFLICT', what);
        });
        await store.commit((tx) => tx.insertOperation(operation('op-4', E2, { eimTransactionId: txId(1) })));
      }));

      it('a failing commit leaves nothing behind and does not disturb the commits around it', withStore(async ({ store }) => {
        const before = store.commit((tx) => tx.putEuicc(euicc(E1)));
        // Rejection handlers are attached at once: the commits settle together, in the same flush.
        const failing = assert.rejects(
          store.commit((tx) => {
            tx.putEuicc(euicc(E2));
            tx.insertOperation(operation('op-x', E2));
            tx.appendAudit({ at: 1, actor: 'eim', action: 'package-issued', outcome: 'ok' });
            tx.updateOperation('missing', { state: 'done' });
          }),
          NotFoundError,
        );
        const after = store.commit((tx) => tx.insertOperation(operation('op-y', E1)));
        const thrown = assert.rejects(
          store.commit(() => {
            throw new Error('caller bug');
          }),
          /caller bug/,
        );
        await Promise.all([before, failing, after, thrown]);
        assert.equal(await store.getEuicc(E2), undefined);
        assert.equal(await store.getOperation('op-x'), undefined);
        assert.deepEqual((await store.listAudit()).items, []);
        assert.ok(await store.getEuicc(E1));
        assert.ok(await store.getOperation('op-y'));
      }));

      it('applies every one of many commits issued in the same tick and resolves each', withStore(async ({ store }) => {
        const n = 300;
        const all = Array.from({ length: n }, (_, i) =>
          store.commit((tx) => {
            tx.insertOperation(operation(`op-${String(i).padStart(3, '0')}`, E1, { createdAt: i }));
            tx.appendAudit({ at: i, actor: 'eim', action: 'package-issued', operationId: `op-${i}`, outcome: 'ok' });
          }),
        );
        const results = await Promise.all(all);
        assert.equal(results.length, n);
        assert.equal((await store.nextOperations(E1, { limit: 1000 })).length, n);
        assert.equal((await store.listAudit({ limit: 1000 })).items.length, n);
      }));

      it('refuses an asynchronous commit callback', withStore(async ({ store }) => {
        await assert.rejects(store.commit((async () => undefined) as unknown as () => void), InvalidArgumentError);
      }));
    });

    describe('lifecycle', () => {
      it('close waits for commits already issued, and later calls reject with StoreError', async () => {
        const h = await factory();
        try {
          const pending = h.store.commit((tx) => tx.putEuicc(euicc(E1)));
          await h.store.close();
          await pending;
          await assert.rejects(h.store.commit((tx) => tx.putEuicc(euicc(E2))), StoreError);
          await assert.rejects(h.store.getEuicc(E1), StoreError);
          if (h.reopen) {
            const again = await h.reopen();
            assert.ok(await again.getEuicc(E1));
          }
        } finally {
          await h.dispose();
        }
      });

      it('keeps committed data across close and reopen', withStore(async (h, t) => {
        if (!h.reopen) {
          t.skip('this store does not persist');
          return;
        }
        await h.store.commit((tx) => {
          tx.putEuicc(fullEuicc(E1));
          tx.putAssociation(association(E1, { counterValue: 41 }));
          tx.insertOperation(operation('op-1', E1, { eimTransactionId: txId(3), packageDer: new Uint8Array([1, 2, 3]) }));
          tx.putCredential({ endpoint: 'ep', pskIdentity: 'id', psk: new Uint8Array([7]) });
        });
        await h.store.commit((tx) => tx.setCounterValue('eim.example', E1, 42, { expected: 41 }));
        const store = await h.reopen();
        assert.deepEqual(await store.getEuicc(E1), fullEuicc(E1));
        assert.equal((await store.getAssociation('eim.example', E1))?.counterValue, 42);
        assert.deepEqual((await store.findOperationByTransactionId(E1, txId(3)))?.packageDer, new Uint8Array([1, 2, 3]));
        assert.deepEqual(store.getByPskIdentity('id')?.psk, new Uint8Array([7]));
        await assert.rejects(store.commit((tx) => tx.setCounterValue('eim.example', E1, 42, { expected: 41 })), ConflictError);
      }));
    });
  });
}
