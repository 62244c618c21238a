import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { EsipaMessageFromIpaToEim, GetEimPackageResponse, InitiateAuthenticationResponseEsipa } from '../../src/asn1/esipa.js';
import { bytesEqual } from '../../src/asn1/hex.js';
import { decode } from '../../src/asn1/schema.js';
import { EID } from '../eim/harness.js';
import { downloadFixture, SMDP_OID } from './download-fixture.js';

describe('indirect profile download through the ES9+ relay', () => {
  it('installs the profile, updates the inventory, ends the operation done and forwards the PIR to the SM-DP+', async () => {
    const f = await downloadFixture();
    try {
      const { operationId, trigger } = await f.trigger(`1$${f.smdp.address}$MATCH-1`);
      const r = await f.download(trigger);
      assert.equal(r.outcome, 'installed');
      assert.ok(r.outcome === 'installed' && r.bppSize > 20_000, 'a BPP of realistic size travelled');
      assert.ok(f.card.profile('8944000000000000011') !== undefined, 'the profile is on the card');
      const op = await f.h.store.getOperation(operationId);
      assert.equal(op?.state, 'done');
      assert.equal((op?.result as { iccid?: string }).iccid, '8944000000000000011');
      const profiles = await f.h.store.listProfiles(EID);
      assert.ok(profiles.some((p) => p.iccid === '8944000000000000011' && p.state === 'disabled'), 'inventory updated');
      await f.forwarder.idle();
      assert.equal(f.smdp.notifications.length, 1, 'the SM-DP+ holds the installation notification');
      assert.ok(r.outcome === 'installed' && bytesEqual(f.smdp.notifications[0]!.pendingNotification, r.pir), 'forwarded byte-exact');
      const [n] = await f.h.store.listNotifications(EID);
      assert.equal(n?.forwardState, 'forwarded');
      assert.deepEqual(f.smdp.calls, ['initiateAuthentication', 'authenticateClient', 'getBoundProfilePackage', 'handleNotification']);
    } finally {
      await f.close();
    }
  });

  it('finds the eUICC of a PIR by its SM-DP+ transactionId when the transport does not name it', async () => {
    const f = await downloadFixture();
    try {
      const { operationId, trigger } = await f.trigger(`1$${f.smdp.address}$MATCH-2`);
      const r = await f.download(trigger, {
        send: async (der) => {
          const o = await f.esipa.handle(der, der[0] === 0xbf && der[1] === 0x3d ? {} : { eid: EID });
          return o.kind === 'response' ? o.der : undefined;
        },
      });
      assert.equal(r.outcome, 'installed');
      assert.equal((await f.h.store.getOperation(operationId))?.state, 'done');
    } finally {
      await f.close();
    }
  });

  it('downloads from the default SM-DP+ the IPA names when the operation has no activation code', async () => {
    const f = await downloadFixture();
    try {
      f.card.state.defaultSmdpAddress = f.smdp.address;
      f.smdp.addProfile({ matchingId: '', iccid: '8944000000000000037' });
      const op = await f.h.core.submit(EID, { kind: 'download', defaultSmdp: true });
      const out = await f.esipa.handle(EsipaMessageFromIpaToEim.encode({ getEimPackageRequest: { eidValue: EID } }), { eid: EID });
      const pkg = decode(GetEimPackageResponse, (out as { der: Uint8Array }).der);
      assert.ok('profileDownloadTriggerRequest' in pkg);
      assert.equal((await f.download(pkg.profileDownloadTriggerRequest)).outcome, 'installed');
      assert.equal((await f.h.store.getOperation(op.id))?.state, 'done');
      assert.ok(f.card.profile('8944000000000000037') !== undefined);
    } finally {
      await f.close();
    }
  });

  it('ends the operation failed with matchingIdRefused when the SM-DP+ has no profile for the matching ID', async () => {
    const f = await downloadFixture();
    try {
      const { operationId, trigger } = await f.trigger(`1$${f.smdp.address}$NO-SUCH-ID`);
      const r = await f.download(trigger);
      assert.deepEqual(r, { outcome: 'error', step: 'authenticateClient', error: 'matchingIdRefused' });
      const op = await f.h.store.getOperation(operationId);
      assert.equal(op?.state, 'failed');
      assert.equal(op?.errorCode, 'matchingIdRefused');
      assert.match(op?.errorMessage ?? '', /8\.2\.6\/3\.8/);
    } finally {
      await f.close();
    }
  });

  it('ends the operation failed with undefinedError and a clear message when the SM-DP+ is down', async () => {
    const f = await downloadFixture();
    try {
      const { operationId, trigger } = await f.trigger(`1$${f.smdp.address}$MATCH-1`);
      await f.smdp.stop();
      const r = await f.download(trigger);
      assert.deepEqual(r, { outcome: 'error', step: 'initiateAuthentication', error: 'undefinedError' });
      const op = await f.h.store.getOperation(operationId);
      assert.equal(op?.state, 'failed');
      assert.equal(op?.errorCode, 'undefinedError');
      assert.match(op?.errorMessage ?? '', /unreachable.*ECONNREFUSED/);
    } finally {
      await f.close();
    }
  });

  it('ends the operation with undefinedError when the SM-DP+ goes down between AuthenticateClient and GetBoundProfilePackage', async () => {
    const f = await downloadFixture();
    try {
      const { operationId, trigger } = await f.trigger(`1$${f.smdp.address}$MATCH-2`);
      const r = await f.download(trigger, {
        send: async (der) => {
          if (der[0] === 0xbf && der[1] === 0x3a) await f.smdp.stop();
          const o = await f.esipa.handle(der, { eid: EID });
          return o.kind === 'response' ? o.der : undefined;
        },
      });
      assert.deepEqual(r, { outcome: 'error', step: 'getBoundProfilePackage', error: 'undefinedError' });
      const op = await f.h.store.getOperation(operationId);
      assert.equal(op?.state, 'failed');
      assert.match(op?.errorMessage ?? '', /getBoundProfilePackage: SM-DP\+ unreachable/);
    } finally {
      await f.close();
    }
  });

  it('lets a device that slept mid-download start again from the re-issued trigger and complete', async () => {
    const f = await downloadFixture();
    try {
      const { operationId, trigger } = await f.trigger(`1$${f.smdp.address}$MATCH-1`);
      // The device falls asleep before asking for the BPP: the message never reaches the eIM.
      const first = await f.download(trigger, {
        send: async (der) => {
          if (der[0] === 0xbf && der[1] === 0x3a) return undefined;
          const o = await f.esipa.handle(der, { eid: EID });
          return o.kind === 'response' ? o.der : undefined;
        },
      });
      assert.deepEqual(first, { outcome: 'error', step: 'getBoundProfilePackage', error: 'no answer' });
      assert.equal((await f.h.store.getOperation(operationId))?.state, 'sent', 'still in flight, not stuck: the next poll re-issues it');
      const again = decode(GetEimPackageResponse, ((await f.esipa.handle(EsipaMessageFromIpaToEim.encode({ getEimPackageRequest: { eidValue: EID } }), { eid: EID })) as { der: Uint8Array }).der);
      assert.ok('profileDownloadTriggerRequest' in again);
      assert.ok(bytesEqual(again.profileDownloadTriggerRequest.eimTransactionId!, trigger.eimTransactionId!), 'the same operation');
      assert.equal((await f.download(again.profileDownloadTriggerRequest)).outcome, 'installed');
      assert.equal((await f.h.store.getOperation(operationId))?.state, 'done');
    } finally {
      await f.close();
    }
  });

  it('reports a corrupted BPP as an installation failure with the eUICC reason and nothing installed', async () => {
    const f = await downloadFixture();
    try {
      f.smdp.corruptBpp = true;
      const { operationId, trigger } = await f.trigger(`1$${f.smdp.address}$MATCH-2`);
      const before = f.card.state.profiles.length;
      const r = await f.download(trigger);
      assert.equal(r.outcome, 'install-failed');
      assert.equal(f.card.state.profiles.length, before);
      const op = await f.h.store.getOperation(operationId);
      assert.equal(op?.state, 'failed');
      assert.equal(op?.errorCode, 'scp03tSecurityError');
      assert.match(op?.errorMessage ?? '', /loadProfileElements/);
      await f.forwarder.idle();
      assert.equal(f.smdp.notifications.length, 1, 'the failed PIR reaches the SM-DP+ too');
    } finally {
      await f.close();
    }
  });

  it('relays CancelSession to the SM-DP+ and ends the operation with the eUICC reason', async () => {
    const f = await downloadFixture();
    try {
      const { operationId, trigger } = await f.trigger(`1$${f.smdp.address}$MATCH-2`);
      const r = await f.download(trigger, { cancelWith: 'endUserRejection' });
      assert.deepEqual(r, { outcome: 'cancelled', answer: 'cancelSessionOk' });
      assert.equal(f.smdp.cancelled.length, 1);
      assert.equal(f.smdp.cancelled[0]!.reason, 'endUserRejection');
      const op = await f.h.store.getOperation(operationId);
      assert.equal(op?.state, 'failed');
      assert.equal(op?.errorCode, 'endUserRejection');
    } finally {
      await f.close();
    }
  });

  it('answers smdpAddressMismatch when serverSigned1 names another SM-DP+ than the activation code', async () => {
    const f = await downloadFixture();
    try {
      f.smdp.announcedAddress = 'smdp.elsewhere.example';
      const { operationId, trigger } = await f.trigger(`1$${f.smdp.address}$MATCH-1`);
      const r = await f.download(trigger);
      assert.deepEqual(r, { outcome: 'error', step: 'initiateAuthentication', error: 'smdpAddressMismatch' });
      assert.equal((await f.h.store.getOperation(operationId))?.errorCode, 'smdpAddressMismatch');
    } finally {
      await f.close();
    }
  });

  it('answers smdpOidMismatch when the SM-DP+ certificate does not carry the activation code OID, and accepts the right one', async () => {
    const f = await downloadFixture();
    try {
      const bad = await f.trigger(`1$${f.smdp.address}$MATCH-1$2.999.99`);
      assert.deepEqual(await f.download(bad.trigger), { outcome: 'error', step: 'initiateAuthentication', error: 'smdpOidMismatch' });
      assert.equal((await f.h.store.getOperation(bad.operationId))?.errorCode, 'smdpOidMismatch');
      const good = await f.trigger(`1$${f.smdp.address}$MATCH-1$${SMDP_OID}`);
      assert.equal((await f.download(good.trigger)).outcome, 'installed');
      assert.equal((await f.h.store.getOperation(good.operationId))?.state, 'done');
    } finally {
      await f.close();
    }
  });

  it('answers invalidEimTransactionId for an eimTransactionId of no sent download, without calling the SM-DP+', async () => {
    const f = await downloadFixture();
    try {
      const msg = EsipaMessageFromIpaToEim.encode({
        initiateAuthenticationRequestEsipa: { euiccChallenge: new Uint8Array(randomBytes(16)), smdpAddress: f.smdp.address, euiccInfo1: f.card.euiccInfo1(), eimTransactionId: new Uint8Array(randomBytes(16)) },
      });
      const out = await f.esipa.handle(msg, { eid: EID });
      assert.equal(out.kind, 'response');
      assert.deepEqual(decode(InitiateAuthenticationResponseEsipa, (out as { der: Uint8Array }).der), { initiateAuthenticationErrorEsipa: 'invalidEimTransactionId' });
      assert.deepEqual(f.smdp.calls, []);
    } finally {
      await f.close();
    }
  });

  it('answers invalidTransactionId to relay calls for an SM-DP+ session it does not know', async () => {
    const f = await downloadFixture();
    try {
      const msg = EsipaMessageFromIpaToEim.encode({ getBoundProfilePackageRequestEsipa: { transactionId: new Uint8Array(16), prepareDownloadResponse: Uint8Array.of(0xbf, 0x21, 0x00) } });
      const out = await f.esipa.handle(msg, { eid: EID });
      assert.equal(out.kind, 'response');
      assert.equal(Buffer.from((out as { der: Uint8Array }).der).toString('hex'), 'bf3a0381015f');
    } finally {
      await f.close();
    }
  });

  it('supplies matchingId and ctxParams1 when the IPA has eimCtxParams1Generation, and the download still succeeds', async () => {
    const f = await downloadFixture();
    try {
      await f.h.store.commit((tx) => tx.patchEuicc(EID, { ipaCapabilities: { ipaFeatures: ['indirectRspServerCommunication', 'eimCtxParams1Generation'], ipaSupportedProtocols: [] } }));
      const { operationId, trigger } = await f.trigger(`1$${f.smdp.address}$MATCH-2`);
      let seen: unknown;
      const r = await f.download(trigger, {
        send: async (der) => {
          const o = await f.esipa.handle(der, { eid: EID });
          const answer = o.kind === 'response' ? o.der : undefined;
          if (answer !== undefined && answer[0] === 0xbf && answer[1] === 0x39) seen = decode(InitiateAuthenticationResponseEsipa, answer);
          return answer;
        },
      });
      const ok = (seen as { initiateAuthenticationOkEsipa: { matchingId?: string; ctxParams1?: { ctxParamsForCommonAuthentication: { matchingId?: string } } } }).initiateAuthenticationOkEsipa;
      assert.equal(ok.matchingId, 'MATCH-2');
      assert.equal(ok.ctxParams1?.ctxParamsForCommonAuthentication.matchingId, 'MATCH-2');
      assert.equal(r.outcome, 'installed');
      assert.equal((await f.h.store.getOperation(operationId))?.state, 'done');
    } finally {
      await f.close();
    }
  });

  it('retries the notification from the durable outbox until the SM-DP+ accepts it', async () => {
    const f = await downloadFixture();
    try {
      f.smdp.refuseNotifications = 2;
      const { trigger } = await f.trigger(`1$${f.smdp.address}$MATCH-2`);
      assert.equal((await f.download(trigger)).outcome, 'installed');
      await f.forwarder.idle();
      let [n] = await f.h.store.listNotifications(EID);
      assert.equal(n?.forwardState, 'pending');
      assert.equal(n?.forwardAttempts, 1);
      assert.equal(await f.forwarder.forwardDue(), 0, 'not due before its backoff');
      for (let i = 0; i < 5 && n?.forwardState === 'pending'; i++) {
        f.h.clock.now += 3_600_000;
        await f.forwarder.forwardDue();
        [n] = await f.h.store.listNotifications(EID);
      }
      assert.equal(n?.forwardState, 'forwarded');
      assert.equal(n?.forwardAttempts, 3);
      assert.equal(f.smdp.notifications.length, 1);
    } finally {
      await f.close();
    }
  });
});

describe('byte-exact relay of the SGP.22 signed objects', () => {
  it('passes the SM-DP+ octets to the IPA and the eUICC octets to the SM-DP+ unchanged', async () => {
    const f = await downloadFixture();
    try {
      const { trigger } = await f.trigger(`1$${f.smdp.address}$MATCH-2`);
      const fromIpa: Uint8Array[] = [];
      const toIpa: Uint8Array[] = [];
      const r = await f.download(trigger, {
        send: async (der) => {
          fromIpa.push(der.slice());
          const o = await f.esipa.handle(der, { eid: EID });
          if (o.kind === 'response') toIpa.push(o.der.slice());
          return o.kind === 'response' ? o.der : undefined;
        },
      });
      assert.equal(r.outcome, 'installed');
      const contains = (hay: Uint8Array, needle: Uint8Array) => Buffer.from(hay).indexOf(Buffer.from(needle)) >= 0;
      const b = (v: unknown) => new Uint8Array(Buffer.from(String(v), 'base64'));
      const [ia, ac, gb] = f.smdp.exchanges;
      for (const m of ['serverSigned1', 'serverSignature1', 'serverCertificate']) assert.ok(contains(toIpa[0]!, b(ia!.response![m])), `${m} byte-exact to the IPA`);
      for (const m of ['smdpSigned2', 'smdpSignature2', 'smdpCertificate', 'profileMetadata']) assert.ok(contains(toIpa[1]!, b(ac!.response![m])), `${m} byte-exact to the IPA`);
      assert.ok(contains(toIpa[2]!, b(gb!.response!.boundProfilePackage)), 'BPP byte-exact to the IPA');
      assert.ok(contains(fromIpa[1]!, b(ac!.request.authenticateServerResponse)), 'AuthenticateServerResponse byte-exact to the SM-DP+');
      assert.ok(contains(fromIpa[2]!, b(gb!.request.prepareDownloadResponse)), 'PrepareDownloadResponse byte-exact to the SM-DP+');
    } finally {
      await f.close();
    }
  });
});
