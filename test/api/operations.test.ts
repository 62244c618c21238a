import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { toHex } from '../../src/asn1/hex.js';
import { EID, EIDS } from '../eim/harness.js';
import { apiHarness, type ApiHarness } from './harness.js';

const EID2 = EIDS[1]!;
const ICCID = '89000000000000000001';

describe('operations', () => {
  let h: ApiHarness;
  before(async () => {
    h = await apiHarness();
    for (const eid of [EID, EID2]) {
      const r = await h.call('POST', '/v1/euiccs', {
        body: { eid, euiccCertificate: toHex(h.pki.euiccs.get(eid)!.certificate), eumCertificate: toHex(h.pki.eum.certificate) },
      });
      assert.equal(r.statusCode, 201, r.body);
    }
  });
  after(() => h.close());

  it('queues an operation: 202 with the operation and its Location', async () => {
    const r = await h.call('POST', `/v1/euiccs/${EID}/operations`, { role: 'operate', body: { kind: 'enable', iccid: ICCID } });
    assert.equal(r.statusCode, 202, r.body);
    const op = r.json();
    assert.equal(op.state, 'queued');
    assert.equal(op.kind, 'enable');
    assert.equal(op.eid, EID);
    assert.deepEqual(op.params, { kind: 'enable', iccid: ICCID });
    assert.equal(r.headers.location, `/v1/operations/${op.id}`);
    const got = await h.call('GET', `/v1/operations/${op.id}`, { role: 'read' });
    assert.deepEqual(got.json(), op);
  });

  it('accepts every operation kind of the design', async () => {
    const bodies = [
      { kind: 'disable', iccid: ICCID },
      { kind: 'delete', iccid: ICCID },
      { kind: 'list-profiles' },
      { kind: 'get-rat' },
      { kind: 'set-fallback', iccid: ICCID },
      { kind: 'unset-fallback' },
      { kind: 'immediate-enable', enable: true },
      { kind: 'default-dp', address: 'smdp.example.com' },
      { kind: 'add-eim', eim: { eimId: 'eim.other', eimFqdn: 'eim.other.example' } },
      { kind: 'update-eim', eim: { eimId: 'eim.other', counterValue: 5 } },
      { kind: 'delete-eim', eimId: 'eim.other' },
      { kind: 'list-eim' },
      { kind: 'euicc-data', tagList: 'a5a6' },
      { kind: 'download', activationCode: '1$smdp.example.com$MATCHING-ID' },
      { kind: 'download', defaultSmdp: true },
      { kind: 'download', smdsAddress: 'lpa.ds.gsma.com' },
    ];
    for (const body of bodies) {
      const r = await h.call('POST', `/v1/euiccs/${EID2}/operations`, { role: 'operate', body });
      assert.equal(r.statusCode, 202, `${JSON.stringify(body)}: ${r.body}`);
      assert.equal(r.json().kind, body.kind);
    }
  });

  it('refuses invalid requests with 400 and details: unknown kind, missing field, bad ICCID, bad activation code', async () => {
    const unknown = await h.call('POST', `/v1/euiccs/${EID}/operations`, { body: { kind: 'reboot' } });
    assert.equal(unknown.statusCode, 400);
    assert.equal(unknown.json().error, 'FST_ERR_VALIDATION');
    assert.ok(unknown.json().details.some((d: { path: string }) => d.path === '/kind'));
    const missing = await h.call('POST', `/v1/euiccs/${EID}/operations`, { body: { kind: 'enable' } });
    assert.equal(missing.statusCode, 400);
    const badIccid = await h.call('POST', `/v1/euiccs/${EID}/operations`, { body: { kind: 'enable', iccid: '89ab' } });
    assert.equal(badIccid.statusCode, 400);
    const badAc = await h.call('POST', `/v1/euiccs/${EID}/operations`, { body: { kind: 'download', activationCode: 'not an activation code' } });
    assert.equal(badAc.statusCode, 400, badAc.body);
    assert.match(badAc.json().error, /^EIM_ERR_(ACTIVATION_CODE|INVALID_ARGUMENT)$/);
    const twoCriteria = await h.call('POST', `/v1/euiccs/${EID}/operations`, { body: { kind: 'list-profiles', iccid: ICCID, profileClass: 'test' } });
    assert.equal(twoCriteria.statusCode, 400);
    assert.equal(twoCriteria.json().error, 'EIM_ERR_INVALID_ARGUMENT');
  });

  it('answers 404 for an operation on an unknown eUICC', async () => {
    const unknown = EID.slice(0, 29) + '9';
    const { eidWithCheckDigits } = await import('../../src/asn1/identifiers.js');
    const r = await h.call('POST', `/v1/euiccs/${eidWithCheckDigits(unknown)}/operations`, { body: { kind: 'get-rat' } });
    assert.equal(r.statusCode, 404);
    assert.equal(r.json().error, 'EIM_ERR_NOT_FOUND');
  });

  it('returns the same operation for a retried POST with the same Idempotency-Key', async () => {
    const first = await h.call('POST', `/v1/euiccs/${EID}/operations`, { body: { kind: 'get-rat' }, headers: { 'idempotency-key': 'retry-1' } });
    const second = await h.call('POST', `/v1/euiccs/${EID}/operations`, { body: { kind: 'get-rat' }, headers: { 'idempotency-key': 'retry-1' } });
    assert.equal(first.statusCode, 202);
    assert.equal(second.statusCode, 202);
    assert.equal(second.json().id, first.json().id);
    assert.equal(second.headers['idempotent-replayed'], 'true');
    const all = (await h.call('GET', `/v1/operations?eid=${EID}&kind=get-rat&limit=1000`)).json().items;
    assert.equal(all.length, 1, 'one operation only');
    const concurrent = await Promise.all([1, 2, 3].map(() => h.call('POST', `/v1/euiccs/${EID}/operations`, { body: { kind: 'list-eim' }, headers: { 'idempotency-key': 'race' } })));
    assert.equal(new Set(concurrent.map((r) => r.json().id)).size, 1, 'concurrent retries share one operation');
    const other = await h.call('POST', `/v1/euiccs/${EID}/operations`, { body: { kind: 'list-profiles' }, headers: { 'idempotency-key': 'retry-1' } });
    assert.equal(other.statusCode, 409, 'a key reused for another request is a conflict');
  });

  it('lists operations with eid, state, kind and campaign filters and cursor pagination', async () => {
    const byEid = (await h.call('GET', `/v1/operations?eid=${EID2}&limit=1000`)).json().items;
    assert.equal(byEid.length, 16);
    assert.ok(byEid.every((o: { eid: string }) => o.eid === EID2));
    const downloads = (await h.call('GET', `/v1/operations?eid=${EID2}&kind=download`)).json().items;
    assert.equal(downloads.length, 3);
    const states = (await h.call('GET', '/v1/operations?state=queued&state=cancelled&limit=1000')).json().items;
    assert.ok(states.length >= 17);
    assert.equal((await h.call('GET', '/v1/operations?campaignId=none')).json().items.length, 0);
    const seen = new Set<string>();
    let cursor: string | undefined;
    for (let i = 0; i < 50; i++) {
      const page = (await h.call('GET', `/v1/operations?eid=${EID2}&limit=5${cursor ? `&cursor=${cursor}` : ''}`)).json();
      page.items.forEach((o: { id: string }) => seen.add(o.id));
      cursor = page.nextCursor;
      if (!cursor) break;
    }
    assert.equal(seen.size, 16);
    assert.equal((await h.call('GET', '/v1/operations?state=bogus')).statusCode, 400);
  });

  it('cancels a queued operation, and refuses (409) once it has been sent', async () => {
    const queued = (await h.call('POST', `/v1/euiccs/${EID}/operations`, { body: { kind: 'disable', iccid: ICCID } })).json();
    const cancelled = await h.call('POST', `/v1/operations/${queued.id}/cancel`, { role: 'operate' });
    assert.equal(cancelled.statusCode, 200, cancelled.body);
    assert.equal(cancelled.json().state, 'cancelled');
    const issued = await h.core.nextPackage(EID);
    assert.ok(issued !== undefined);
    const sent = (await h.store.listOperations({ eid: EID, state: 'sent' })).items[0];
    assert.ok(sent !== undefined);
    const refused = await h.call('POST', `/v1/operations/${sent.id}/cancel`, { role: 'operate' });
    assert.equal(refused.statusCode, 409);
    assert.equal(refused.json().error, 'EIM_ERR_CONFLICT');
    assert.equal((await h.call('GET', `/v1/operations/${sent.id}`)).json().state, 'sent');
    assert.equal((await h.call('POST', '/v1/operations/nope/cancel')).statusCode, 404);
    assert.equal((await h.call('GET', '/v1/operations/nope')).statusCode, 404);
  });

  it('takes notBefore and expiresAt as ISO times', async () => {
    const nb = new Date(h.clock.now + 3_600_000).toISOString();
    const ex = new Date(h.clock.now + 7_200_000).toISOString();
    const r = await h.call('POST', `/v1/euiccs/${EID2}/operations`, { body: { kind: 'get-rat', notBefore: nb, expiresAt: ex } });
    assert.equal(r.statusCode, 202);
    assert.equal(r.json().notBefore, nb);
    assert.equal(r.json().expiresAt, ex);
    assert.deepEqual(r.json().params, { kind: 'get-rat' }, 'scheduling fields are not operation parameters');
    assert.equal((await h.call('POST', `/v1/euiccs/${EID2}/operations`, { body: { kind: 'get-rat', notBefore: 'tomorrow' } })).statusCode, 400);
  });
});
