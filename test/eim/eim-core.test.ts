import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { EuiccPackageRequest, EnableProfileResult, DisableProfileResult, DeleteProfileResult } from '../../src/asn1/euicc-package.js';
import { toHex } from '../../src/asn1/hex.js';
import { decode, RECEIVED } from '../../src/asn1/schema.js';
import { concat } from '../../src/asn1/tlv.js';
import { CryptoPool } from '../../src/crypto/crypto-pool.js';
import { verifyEcdsa } from '../../src/crypto/ecdsa.js';
import { FileSigner } from '../../src/crypto/file-signer.js';
import { generateKeyPair, privateKeyToPem } from '../../src/crypto/keys.js';
import { CertificateError } from '../../src/crypto/errors.js';
import { ResultRejectedError } from '../../src/eim/errors.js';
import { createBrokenVariant } from '../../src/sim/pki.js';
import { decodeResult, EID, EIDS, euiccAnswer, harness } from './harness.js';

const ICCID_A = '8944000000000000001';
const ICCID_B = '8944000000000000002';

describe('issuing packages', () => {
  it('commits a fresh counterValue and eimTransactionId before handing out a signed package', async () => {
    const h = await harness();
    try {
      const op = await h.core.submit(EID, { kind: 'enable', iccid: ICCID_A });
      const pkg = await h.core.nextPackage(EID);
      assert.ok(pkg !== undefined);
      assert.equal(pkg.operationId, op.id);
      assert.equal(pkg.type, 'euiccPackageRequest');
      const req = decode(EuiccPackageRequest, pkg.der);
      assert.equal(req.euiccPackageSigned.counterValue, 1);
      assert.equal(req.euiccPackageSigned.eidValue, EID);
      assert.equal(req.euiccPackageSigned.eimId, 'eim.test');
      const stored = await h.store.getOperation(op.id);
      assert.equal(stored?.state, 'sent');
      assert.equal(stored?.counterValue, 1);
      assert.equal(toHex(stored!.eimTransactionId!), toHex(req.euiccPackageSigned.eimTransactionId!));
      assert.equal(toHex(stored!.packageDer!), toHex(pkg.der));
      assert.equal((await h.store.getAssociation('eim.test', EID))?.counterValue, 1);
      // signature: EuiccPackageSigned as sent || 84 01 00 (no association token)
      const input = concat([req.euiccPackageSigned[RECEIVED]!, Uint8Array.of(0x84, 0x01, 0x00)]);
      assert.ok(verifyEcdsa(h.identity.signer.publicKeySpki(), input, req.eimSignature).valid);
      const audit = await h.store.listAudit({ operationId: op.id, action: 'package-issued' });
      assert.equal(audit.items.length, 1);
    } finally {
      await h.close();
    }
  });

  it('signs with the association token TLV when one is set', async () => {
    const h = await harness({ register: false });
    try {
      await h.core.registerEuicc({ eid: EID, associationToken: 200, counterValue: 10, euiccCertificate: h.pki.euiccs.get(EID)!.certificate, eumCertificate: h.pki.eum.certificate });
      await h.core.submit(EID, { kind: 'disable', iccid: ICCID_A });
      const req = decode(EuiccPackageRequest, (await h.core.nextPackage(EID))!.der);
      assert.equal(req.euiccPackageSigned.counterValue, 11);
      const signed = req.euiccPackageSigned[RECEIVED]!;
      assert.ok(verifyEcdsa(h.identity.signer.publicKeySpki(), concat([signed, Uint8Array.of(0x84, 0x02, 0x00, 0xc8)]), req.eimSignature).valid);
      assert.ok(!verifyEcdsa(h.identity.signer.publicKeySpki(), concat([signed, Uint8Array.of(0x84, 0x01, 0x00)]), req.eimSignature).valid);
    } finally {
      await h.close();
    }
  });

  it('never reuses a counter value: counters strictly increase across packages and expiry', async () => {
    const h = await harness();
    try {
      const counters: number[] = [];
      for (let i = 0; i < 5; i++) {
        await h.core.submit(EID, { kind: 'list-profiles' });
        const pkg = (await h.core.nextPackage(EID))!;
        counters.push(decode(EuiccPackageRequest, pkg.der).euiccPackageSigned.counterValue);
        await h.core.applyEuiccPackageResult(EID, decodeResult(euiccAnswer(h.pki, EID, pkg.der, [{ listProfileInfoResult: { profileInfoListOk: [] } }], { seqNumber: 100 + i })));
      }
      assert.deepEqual(counters, [1, 2, 3, 4, 5]);
    } finally {
      await h.close();
    }
  });

  it('hands out the same bytes again while the result is missing, then gives up and requests a re-sync', async () => {
    const h = await harness({ maxAttempts: 2 });
    try {
      const op = await h.core.submit(EID, { kind: 'enable', iccid: ICCID_A });
      const first = (await h.core.nextPackage(EID))!;
      const second = (await h.core.nextPackage(EID))!;
      assert.equal(toHex(second.der), toHex(first.der));
      assert.equal(second.attempt, 2);
      const third = await h.core.nextPackage(EID);
      assert.equal((await h.store.getOperation(op.id))?.state, 'failed');
      assert.equal((await h.store.getOperation(op.id))?.errorCode, 'undeliverable');
      // the next package is the inventory re-read
      assert.ok(third !== undefined);
      assert.ok('listProfileInfo' in (decode(EuiccPackageRequest, third.der).euiccPackageSigned.euiccPackage as { psmoList: object[] }).psmoList[0]!);
    } finally {
      await h.close();
    }
  });

  it('refuses two state changes in one package and mixed PSMO/eCO packages', async () => {
    const { assertPackageRules } = await import('../../src/eim/package-builder.js');
    assert.throws(() => assertPackageRules([{ psmo: { enable: { iccid: ICCID_A } } }, { psmo: { disable: { iccid: ICCID_B } } }]), /at most one enable or disable/);
    assert.throws(() => assertPackageRules([{ psmo: { getRAT: {} } }, { eco: { listEim: {} } }]), /cannot share/);
    assert.doesNotThrow(() => assertPackageRules([{ psmo: { enable: { iccid: ICCID_A } } }, { psmo: { getRAT: {} } }]));
  });

  it('cancels a queued operation but not a sent one, and honours idempotency keys', async () => {
    const h = await harness();
    try {
      const a = await h.core.submit(EID, { kind: 'get-rat' }, { idempotencyKey: 'k1' });
      const again = await h.core.submit(EID, { kind: 'get-rat' }, { idempotencyKey: 'k1' });
      assert.equal(again.id, a.id);
      const b = await h.core.submit(EID, { kind: 'list-eim' });
      assert.equal((await h.core.cancel(b.id)).state, 'cancelled');
      await h.core.nextPackage(EID);
      await assert.rejects(h.core.cancel(a.id), /only queued/);
    } finally {
      await h.close();
    }
  });
});

describe('applying results', () => {
  it('applies an enable: inventory, operation done, EPR seqNumber acknowledged once', async () => {
    const h = await harness();
    try {
      const now = h.clock.now;
      await h.store.commit((tx) => {
        tx.putProfile({ eid: EID, iccid: ICCID_A, state: 'disabled', fallbackAttribute: false, policyRules: [], updatedAt: now });
        tx.putProfile({ eid: EID, iccid: ICCID_B, state: 'enabled', fallbackAttribute: false, policyRules: [], updatedAt: now });
      });
      const op = await h.core.submit(EID, { kind: 'enable', iccid: ICCID_A });
      const pkg = (await h.core.nextPackage(EID))!;
      const applied = await h.core.applyEuiccPackageResult(EID, decodeResult(euiccAnswer(h.pki, EID, pkg.der, [{ enableResult: 'ok' }], { seqNumber: 14 })));
      assert.deepEqual(applied, { operationId: op.id, state: 'done' });
      const profiles = await h.store.listProfiles(EID);
      assert.deepEqual(profiles.map((p) => [p.iccid, p.state]), [[ICCID_A, 'enabled'], [ICCID_B, 'disabled']]);
      assert.deepEqual(await h.core.takeAcknowledgements(EID), [14]);
      assert.deepEqual(await h.core.takeAcknowledgements(EID), []);
      assert.ok(h.events.some((e) => e.type === 'operation.changed' && e.state === 'done'));
    } finally {
      await h.close();
    }
  });

  for (const [kind, table, arm] of [
    ['enable', EnableProfileResult, 'enableResult'],
    ['disable', DisableProfileResult, 'disableResult'],
    ['delete', DeleteProfileResult, 'deleteResult'],
  ] as const) {
    it(`fails a ${kind} with each error code by its spec name and leaves the inventory alone`, async () => {
      const h = await harness();
      try {
        for (const [name, value] of Object.entries(table)) {
          if (value === 0) continue;
          const op = await h.core.submit(EID, { kind, iccid: ICCID_A });
          const pkg = (await h.core.nextPackage(EID))!;
          const res = await h.core.applyEuiccPackageResult(EID, decodeResult(euiccAnswer(h.pki, EID, pkg.der, [{ [arm]: name } as never], { seqNumber: value })));
          assert.deepEqual(res, { operationId: op.id, state: 'failed', errorCode: name });
        }
        assert.deepEqual(await h.store.listProfiles(EID), []);
      } finally {
        await h.close();
      }
    });
  }

  it('fails on processingTerminated and on signed package errors (replayError, invalidEid, counterValueOutOfRange)', async () => {
    const h = await harness();
    try {
      await h.core.submit(EID, { kind: 'get-rat' });
      let pkg = (await h.core.nextPackage(EID))!;
      assert.equal((await h.core.applyEuiccPackageResult(EID, decodeResult(euiccAnswer(h.pki, EID, pkg.der, [{ processingTerminated: 'interruption' }])))).errorCode, 'interruption');
      for (const error of ['replayError', 'invalidEid', 'counterValueOutOfRange'] as const) {
        await h.core.submit(EID, { kind: 'get-rat' });
        pkg = (await h.core.nextPackage(EID))!;
        const r = await h.core.applyEuiccPackageResult(EID, decodeResult(euiccAnswer(h.pki, EID, pkg.der, [], { error })));
        assert.equal(r.state, 'failed');
        assert.equal(r.errorCode, error);
      }
    } finally {
      await h.close();
    }
  });

  it('accepts high-S signatures made by OpenSSL', async () => {
    const h = await harness();
    try {
      const { isHighS } = await import('../../src/crypto/ecdsa.js');
      let sawHighS = false;
      for (let i = 0; i < 24 && !sawHighS; i++) {
        await h.core.submit(EID, { kind: 'get-rat' });
        const pkg = (await h.core.nextPackage(EID))!;
        const der = euiccAnswer(h.pki, EID, pkg.der, [{ getRATResult: [] }], { seqNumber: i + 1 });
        const r = decodeResult(der);
        assert.ok('euiccPackageResultSigned' in r);
        sawHighS = isHighS(r.euiccPackageResultSigned.euiccSignEPR, 'P-256');
        assert.equal((await h.core.applyEuiccPackageResult(EID, r)).state, 'done');
      }
      assert.ok(sawHighS, 'no high-S signature in 24 tries (probability 2^-24)');
    } finally {
      await h.close();
    }
  });

  it('rejects forged, mismatched, unknown, unsigned and replayed results without changing anything, and audits each', async () => {
    const h = await harness();
    try {
      const op = await h.core.submit(EID, { kind: 'enable', iccid: ICCID_A });
      const pkg = (await h.core.nextPackage(EID))!;
      const cases: [string, Uint8Array][] = [
        ['bad-signature', euiccAnswer(h.pki, EID, pkg.der, [{ enableResult: 'ok' }], { key: 'eum' })],
        ['bad-signature', euiccAnswer(h.pki, EID, pkg.der, [{ enableResult: 'ok' }], { associationToken: 5 })],
        ['counter-mismatch', euiccAnswer(h.pki, EID, pkg.der, [{ enableResult: 'ok' }], { counterValue: 9 })],
      ];
      const tampered = euiccAnswer(h.pki, EID, pkg.der, [{ enableResult: 'ok' }]);
      tampered[Buffer.from(tampered).indexOf('eim.test') + 3]! ^= 1; // a byte of eimId inside the signed data
      for (const [reason, der] of cases) {
        await assert.rejects(h.core.applyEuiccPackageResult(EID, decodeResult(der)), (e: unknown) => e instanceof ResultRejectedError && e.reason === reason);
      }
      await assert.rejects(h.core.applyEuiccPackageResult(EID, decodeResult(tampered)), ResultRejectedError);
      // a genuine result from another eUICC for a transaction id we never gave it
      await assert.rejects(h.core.applyEuiccPackageResult(EIDS[1]!, decodeResult(euiccAnswer(h.pki, EIDS[1]!, pkg.der, [{ enableResult: 'ok' }]))), (e: unknown) => e instanceof ResultRejectedError && e.reason === 'unknown-operation');
      await assert.rejects(
        h.core.applyEuiccPackageResult(EID, { euiccPackageErrorUnsigned: { eimId: 'eim.test', eimTransactionId: (await h.store.getOperation(op.id))!.eimTransactionId! } }),
        (e: unknown) => e instanceof ResultRejectedError && e.reason === 'unsigned-error',
      );
      assert.equal((await h.store.getOperation(op.id))?.state, 'sent');
      assert.deepEqual(await h.store.listProfiles(EID), []);
      const rejected = await h.store.listAudit({ action: 'result-rejected' });
      assert.equal(rejected.items.length, 6);
      // the genuine result applies once; the same result again is refused and re-acknowledged
      const good = euiccAnswer(h.pki, EID, pkg.der, [{ enableResult: 'ok' }], { seqNumber: 7 });
      assert.equal((await h.core.applyEuiccPackageResult(EID, decodeResult(good))).state, 'done');
      assert.deepEqual(await h.core.takeAcknowledgements(EID), [7]);
      await assert.rejects(h.core.applyEuiccPackageResult(EID, decodeResult(good)), (e: unknown) => e instanceof ResultRejectedError && e.reason === 'already-applied');
      assert.deepEqual(await h.core.takeAcknowledgements(EID), [7]);
      assert.equal((await h.store.listProfileHistory(EID, ICCID_A)).length, 1);
    } finally {
      await h.close();
    }
  });

  it('applies results that arrive out of order and days later, matched by eimTransactionId', async () => {
    const h = await harness({ maxAttempts: 10 });
    try {
      const a = await h.core.submit(EID, { kind: 'set-fallback', iccid: ICCID_A });
      const pa = (await h.core.nextPackage(EID))!;
      // the device answers nothing for A; the eIM hands A out again, then days later both results arrive, B first
      const ra = euiccAnswer(h.pki, EID, pa.der, [{ setFallbackAttributeResult: 'ok' }], { seqNumber: 2 });
      h.clock.now += 5 * 86_400_000;
      assert.equal((await h.core.applyEuiccPackageResult(EID, decodeResult(ra))).operationId, a.id);
      const b = await h.core.submit(EID, { kind: 'unset-fallback' });
      const pb = (await h.core.nextPackage(EID))!;
      const rb = euiccAnswer(h.pki, EID, pb.der, [{ unsetFallbackAttributeResult: 'ok' }], { seqNumber: 3 });
      assert.equal((await h.core.applyEuiccPackageResult(EID, decodeResult(rb))).operationId, b.id);
      assert.deepEqual((await h.store.listProfiles(EID)).map((p) => p.fallbackAttribute), [false]);
    } finally {
      await h.close();
    }
  });

  it('re-reads the inventory after a reported state change and replaces it with what the eUICC lists', async () => {
    const h = await harness();
    try {
      await h.store.commit((tx) => tx.putProfile({ eid: EID, iccid: ICCID_B, state: 'enabled', fallbackAttribute: false, policyRules: [], updatedAt: 1 }));
      await h.core.submit(EID, { kind: 'get-rat' });
      await h.core.reportStateChange(EID, 'fallback');
      const pkg = (await h.core.nextPackage(EID))!;
      const psmo = (decode(EuiccPackageRequest, pkg.der).euiccPackageSigned.euiccPackage as { psmoList: object[] }).psmoList[0]!;
      assert.ok('listProfileInfo' in psmo, 'the re-sync comes before queued work');
      await h.core.applyEuiccPackageResult(
        EID,
        decodeResult(euiccAnswer(h.pki, EID, pkg.der, [{ listProfileInfoResult: { profileInfoListOk: [{ iccid: ICCID_A, profileState: 'enabled', fallbackAttribute: true, profileClass: 'operational' }] } }])),
      );
      const profiles = await h.store.listProfiles(EID);
      assert.deepEqual(profiles.map((p) => [p.iccid, p.state, p.fallbackAttribute, p.profileClass]), [[ICCID_A, 'enabled', true, 'operational']]);
      assert.equal((await h.store.getEuicc(EID))?.resync, undefined);
      const changes = (await h.store.listProfileHistory(EID)).map((e) => [e.iccid, e.change]);
      assert.deepEqual(changes, [[ICCID_A, 'seen'], [ICCID_B, 'missing']]);
      // then the operator's work
      const next = (await h.core.nextPackage(EID))!;
      assert.ok('getRAT' in (decode(EuiccPackageRequest, next.der).euiccPackageSigned.euiccPackage as { psmoList: object[] }).psmoList[0]!);
    } finally {
      await h.close();
    }
  });

  it('asks for the eUICC certificates first when it does not know them', async () => {
    const h = await harness({ register: false });
    try {
      await h.core.registerEuicc({ eid: EID });
      await h.core.submit(EID, { kind: 'get-rat' });
      const pkg = (await h.core.nextPackage(EID))!;
      assert.equal(pkg.type, 'ipaEuiccDataRequest');
    } finally {
      await h.close();
    }
  });
});

describe('relayed downloads', () => {
  it('completeDownload ends a sent download once, with its audit line and event; a second outcome changes nothing', async () => {
    const h = await harness();
    try {
      const op = await h.core.submit(EID, { kind: 'download', activationCode: '1$smdp.example.com$MATCHING-ID' });
      assert.equal((await h.core.nextPackage(EID))?.type, 'profileDownloadTriggerRequest');
      const sent = (await h.store.getOperation(op.id))!;
      assert.equal(await h.core.completeDownload(sent, { state: 'failed', errorCode: 'undefinedError', errorMessage: 'SM-DP+ unreachable', result: { relay: 'failed' } }), true);
      const ended = await h.store.getOperation(op.id);
      assert.deepEqual([ended?.state, ended?.errorCode, ended?.errorMessage], ['failed', 'undefinedError', 'SM-DP+ unreachable']);
      assert.ok(h.events.some((e) => e.type === 'operation.changed' && e.operationId === op.id && e.state === 'failed'));
      const audit = (await h.store.listAudit({ operationId: op.id })).items.map((a) => a.action);
      assert.ok(audit.includes('download-failed'), audit.join());
      // The stale record still says 'sent': the store's compare-and-set refuses the second outcome.
      assert.equal(await h.core.completeDownload(sent, { state: 'done', result: {} }), false);
      assert.equal((await h.store.getOperation(op.id))?.state, 'failed');
    } finally {
      await h.close();
    }
  });
});

describe('eUICC registration and chain validation', () => {
  for (const variant of ['other-ci', 'expired', 'wrong-role', 'eid-mismatch', 'outside-name-constraints'] as const) {
    it(`refuses an eUICC whose chain is broken: ${variant}`, async () => {
      const h = await harness({ register: false });
      try {
        const broken = createBrokenVariant(h.pki, variant, EID);
        await assert.rejects(h.core.registerEuicc({ eid: EID, euiccCertificate: broken.euicc.certificate, eumCertificate: broken.eum.certificate }), CertificateError);
        assert.equal(await h.store.getEuicc(EID), undefined);
      } finally {
        await h.close();
      }
    });
  }

  it('accepts a name-constraint violation only with the lab switch', async () => {
    const h = await harness({ register: false, relaxNameConstraints: true });
    try {
      const broken = createBrokenVariant(h.pki, 'outside-name-constraints', EID);
      await h.core.registerEuicc({ eid: EID, euiccCertificate: broken.euicc.certificate, eumCertificate: broken.eum.certificate });
      assert.ok((await h.store.getEuicc(EID)) !== undefined);
    } finally {
      await h.close();
    }
  });

  it('refuses an EID with wrong check digits', async () => {
    const h = await harness({ register: false });
    try {
      await assert.rejects(h.core.registerEuicc({ eid: '89049032123451234512345678901299' }), /check digits/);
    } finally {
      await h.close();
    }
  });
});

describe('eIM core on a crypto pool', () => {
  it('signs packages and verifies results on worker threads: a forged result changes nothing, the genuine one applies once', async () => {
    const pool = new CryptoPool({ threads: 1 });
    const signer = FileSigner.fromPem(privateKeyToPem(generateKeyPair('P-256').privateKey), undefined, { pool });
    const h = await harness({ cryptoPool: pool, identity: { eimId: 'eim.test', signer, supportedProtocols: [], indirectProfileDownload: false } });
    try {
      const op = await h.core.submit(EID, { kind: 'enable', iccid: ICCID_A });
      const pkg = (await h.core.nextPackage(EID))!;
      const req = decode(EuiccPackageRequest, pkg.der);
      const input = concat([req.euiccPackageSigned[RECEIVED]!, Uint8Array.of(0x84, 0x01, 0x00)]);
      assert.equal(req.eimSignature.length, 64);
      assert.equal(verifyEcdsa(signer.publicKeySpki(), input, req.eimSignature).valid, true);
      const forged = euiccAnswer(h.pki, EID, pkg.der, [{ enableResult: 'ok' }], { key: 'eum' });
      await assert.rejects(h.core.applyEuiccPackageResult(EID, decodeResult(forged)), (e: unknown) => e instanceof ResultRejectedError && e.reason === 'bad-signature');
      assert.equal((await h.store.getOperation(op.id))?.state, 'sent');
      const good = euiccAnswer(h.pki, EID, pkg.der, [{ enableResult: 'ok' }]);
      assert.equal((await h.core.applyEuiccPackageResult(EID, decodeResult(good))).state, 'done');
      await assert.rejects(h.core.applyEuiccPackageResult(EID, decodeResult(good)), (e: unknown) => e instanceof ResultRejectedError && e.reason === 'already-applied');
    } finally {
      await h.close();
      await pool.close();
    }
  });
});
