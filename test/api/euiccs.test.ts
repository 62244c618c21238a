import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { toHex } from '../../src/asn1/hex.js';
import { eidWithCheckDigits } from '../../src/asn1/identifiers.js';
import { EID, EIDS } from '../eim/harness.js';
import { apiHarness, type ApiHarness } from './harness.js';

const EID2 = EIDS[1]!;
const EID3 = EIDS[2]!;
const BAD_CHECK_DIGITS = `${EID.slice(0, 30)}${EID.slice(30) === '00' ? '01' : '00'}`;

describe('eUICC registry', () => {
  let h: ApiHarness;
  before(async () => {
    h = await apiHarness();
  });
  after(() => h.close());

  it('registers an eUICC with its certificates, counter, token and DTLS PSK (201), and the credential reaches the SecurityStore', async () => {
    const certs = h.pki.euiccs.get(EID)!;
    const r = await h.call('POST', '/v1/euiccs', {
      body: {
        eid: EID,
        endpoint: 'dev-1',
        labels: ['fleet-a', 'canary'],
        pskIdentity: 'dev-1-id',
        psk: '000102030405060708090a0b0c0d0e0f',
        counterValue: 7,
        associationToken: 42,
        euiccCertificate: toHex(certs.certificate),
        eumCertificate: toHex(h.pki.eum.certificate),
      },
    });
    assert.equal(r.statusCode, 201, r.body);
    const body = r.json();
    assert.equal(body.eid, EID);
    assert.equal(body.hasCertificates, true);
    assert.deepEqual(body.labels, ['fleet-a', 'canary']);
    assert.ok(!('psk' in body) && !r.body.includes('000102030405060708090a0b0c0d0e0f'), 'the PSK is never returned');
    const cred = h.store.getByPskIdentity('dev-1-id');
    assert.equal(cred?.endpoint, 'dev-1');
    assert.equal(cred?.eid, EID);
    assert.equal(toHex(cred!.psk!), '000102030405060708090a0b0c0d0e0f');
    const got = await h.call('GET', `/v1/euiccs/${EID}`, { role: 'read' });
    assert.equal(got.statusCode, 200);
    assert.equal(got.json().counterValue, 7);
    assert.equal(got.json().associationToken, 42);
    assert.equal(got.json().endpoint, 'dev-1');
  });

  it('answers 200 (not 201) when an eUICC already registered is registered again', async () => {
    const r = await h.call('POST', '/v1/euiccs', { body: { eid: EID, labels: ['fleet-a'] } });
    assert.equal(r.statusCode, 200);
    assert.deepEqual(r.json().labels, ['fleet-a']);
  });

  it('stores a certificate fingerprint credential', async () => {
    const fp = 'ab'.repeat(32);
    const r = await h.call('POST', '/v1/euiccs', { body: { eid: EID2, endpoint: 'dev-2', certificateFingerprint: fp.toUpperCase() } });
    assert.equal(r.statusCode, 201);
    assert.equal(h.store.getByCertificateFingerprint(fp)?.endpoint, 'dev-2');
  });

  it('refuses an EID with wrong check digits (400) in the body and in the path', async () => {
    const body = await h.call('POST', '/v1/euiccs', { body: { eid: BAD_CHECK_DIGITS } });
    assert.equal(body.statusCode, 400);
    assert.equal(body.json().error, 'FST_ERR_VALIDATION');
    assert.equal(body.json().details[0].path, '/eid');
    const path = await h.call('GET', `/v1/euiccs/${BAD_CHECK_DIGITS}`);
    assert.equal(path.statusCode, 400);
    assert.equal(path.json().details[0].in, 'params');
  });

  it('refuses malformed registrations with 400 and details naming the field', async () => {
    const cases: [unknown, string][] = [
      [{ eid: EID3, psk: 'zz', pskIdentity: 'a', endpoint: 'e' }, '/psk'],
      [{ eid: EID3, counterValue: -1 }, '/counterValue'],
      [{ eid: EID3, labels: ['has space'] }, '/labels/0'],
      [{ endpoint: 'no-eid' }, ''],
    ];
    for (const [body, path] of cases) {
      const r = await h.call('POST', '/v1/euiccs', { body });
      assert.equal(r.statusCode, 400, JSON.stringify(body));
      assert.equal(r.json().details[0].path, path, JSON.stringify(body));
    }
    const noEndpoint = await h.call('POST', '/v1/euiccs', { body: { eid: EID3, pskIdentity: 'x', psk: '00' } });
    assert.equal(noEndpoint.statusCode, 400);
    assert.equal(noEndpoint.json().error, 'EIM_ERR_INVALID_ARGUMENT');
    assert.deepEqual(noEndpoint.json().details, { argument: 'endpoint' });
    const halfPsk = await h.call('POST', '/v1/euiccs', { body: { eid: EID3, endpoint: 'e', psk: '00' } });
    assert.equal(halfPsk.statusCode, 400);
    assert.equal((await h.call('GET', `/v1/euiccs/${EID3}`)).statusCode, 404, 'nothing registered');
  });

  it('refuses a certificate chain that does not validate (422) and a body that is not JSON (400/415)', async () => {
    const r = await h.call('POST', '/v1/euiccs', { body: { eid: EID3, euiccCertificate: toHex(h.pki.euiccs.get(EID)!.certificate), eumCertificate: toHex(h.pki.eum.certificate) } });
    assert.ok(r.statusCode === 422 || r.statusCode === 409, `${r.statusCode} ${r.body}`);
    const notJson = await h.call('POST', '/v1/euiccs', { payload: '{nope', headers: { 'content-type': 'application/json' } });
    assert.equal(notJson.statusCode, 400);
    const xml = await h.call('POST', '/v1/euiccs', { payload: '<x/>', headers: { 'content-type': 'application/xml' } });
    assert.equal(xml.statusCode, 415);
    assert.match(xml.json().error, /^FST_ERR_/);
  });

  it('imports a JSON array, reporting errors per row', async () => {
    const eids = ['890490321234512345123456780001', '890490321234512345123456780002'].map(eidWithCheckDigits);
    const r = await h.call('POST', '/v1/euiccs/import', {
      body: [{ eid: eids[0], labels: ['imported'] }, { eid: BAD_CHECK_DIGITS }, { eid: eids[1], labels: ['imported'], counterValue: 'x' }, { eid: eids[1], labels: ['imported'] }],
    });
    assert.equal(r.statusCode, 200, r.body);
    const body = r.json();
    assert.equal(body.total, 4);
    assert.equal(body.registered, 2);
    assert.equal(body.failed, 2);
    assert.deepEqual(
      body.results.map((x: { row: number; ok: boolean }) => [x.row, x.ok]),
      [
        [0, true],
        [1, false],
        [2, false],
        [3, true],
      ],
    );
    assert.equal(body.results[1].error.error, 'EIM_ERR_INVALID_ARGUMENT');
    assert.equal(body.results[2].error.details[0].path, '/counterValue');
  });

  it('imports CSV with a header line, quoted fields and ;-separated labels, reporting bad lines by number', async () => {
    const eids = ['890490321234512345123456780003', '890490321234512345123456780004'].map(eidWithCheckDigits);
    const csv = [
      'eid,endpoint,labels,pskIdentity,psk,counterValue',
      `${eids[0]},csv-dev-1,"imported;csv",csv-id-1,a0a1a2a3,3`,
      `${BAD_CHECK_DIGITS},csv-dev-x,,,,`,
      `${eids[1]},csv-dev-2,csv,,,`,
      '',
    ].join('\r\n');
    const r = await h.call('POST', '/v1/euiccs/import', { payload: csv, headers: { 'content-type': 'text/csv' } });
    assert.equal(r.statusCode, 200, r.body);
    const body = r.json();
    assert.equal(body.registered, 2);
    assert.equal(body.failed, 1);
    assert.equal(body.results[1].row, 3, 'line number of the bad row');
    assert.equal(body.results[1].ok, false);
    assert.equal(h.store.getByPskIdentity('csv-id-1')?.endpoint, 'csv-dev-1');
    const got = (await h.call('GET', `/v1/euiccs/${eids[0]}`)).json();
    assert.deepEqual(got.labels, ['imported', 'csv']);
    assert.equal(got.counterValue, 3);
  });

  it('lists eUICCs with label and endpoint filters and cursor pagination', async () => {
    const all: string[] = [];
    let cursor: string | undefined;
    for (let i = 0; i < 10; i++) {
      const r = await h.call('GET', `/v1/euiccs?limit=2${cursor !== undefined ? `&cursor=${cursor}` : ''}`, { role: 'read' });
      assert.equal(r.statusCode, 200);
      const page = r.json();
      assert.ok(page.items.length <= 2);
      all.push(...page.items.map((e: { eid: string }) => e.eid));
      cursor = page.nextCursor;
      if (cursor === undefined) break;
    }
    assert.equal(cursor, undefined, 'pagination ended');
    assert.equal(all.length, 6);
    assert.deepEqual(all, [...all].sort());
    const imported = (await h.call('GET', '/v1/euiccs?label=imported')).json();
    assert.equal(imported.items.length, 3, 'two JSON rows and one CSV row carry the label');
    const byEndpoint = (await h.call('GET', '/v1/euiccs?endpoint=dev-2')).json();
    assert.deepEqual(
      byEndpoint.items.map((e: { eid: string }) => e.eid),
      [EID2],
    );
    const badCursor = await h.call('GET', '/v1/euiccs?cursor=garbage');
    assert.equal(badCursor.statusCode, 400);
    const badLimit = await h.call('GET', '/v1/euiccs?limit=0');
    assert.equal(badLimit.statusCode, 400);
  });

  it('filters by last contact and by profile ICCID and state', async () => {
    await h.core.touch(EID);
    const t = new Date(h.clock.now).toISOString();
    const later = new Date(h.clock.now + 1).toISOString();
    assert.deepEqual(
      (await h.call('GET', `/v1/euiccs?lastContactAfter=${t}`)).json().items.map((e: { eid: string }) => e.eid),
      [EID],
    );
    assert.deepEqual(
      (await h.call('GET', `/v1/euiccs?lastContactBefore=${later}`)).json().items.map((e: { eid: string }) => e.eid),
      [EID],
    );
    assert.equal((await h.call('GET', `/v1/euiccs?lastContactBefore=${t}`)).json().items.length, 0);
    await h.store.commit((tx) => tx.putProfile({ eid: EID, iccid: '8900000000000000001', state: 'enabled', fallbackAttribute: false, policyRules: [], updatedAt: h.clock.now }));
    assert.equal((await h.call('GET', '/v1/euiccs?iccid=8900000000000000001&profileState=enabled')).json().items.length, 1);
    assert.equal((await h.call('GET', '/v1/euiccs?iccid=8900000000000000001&profileState=disabled')).json().items.length, 0);
    assert.equal((await h.call('GET', '/v1/euiccs?profileState=disabled')).statusCode, 400, 'profileState needs iccid');
  });

  it("shows an eUICC's profiles and their history, 404 for an unknown eUICC", async () => {
    await h.store.commit((tx) => tx.addProfileHistory({ eid: EID, iccid: '8900000000000000001', at: h.clock.now, change: 'enabled' }));
    const profiles = await h.call('GET', `/v1/euiccs/${EID}/profiles`, { role: 'read' });
    assert.equal(profiles.statusCode, 200);
    assert.deepEqual(profiles.json().items[0], {
      iccid: '8900000000000000001',
      state: 'enabled',
      fallbackAttribute: false,
      policyRules: [],
      updatedAt: new Date(h.clock.now).toISOString(),
    });
    const history = await h.call('GET', `/v1/euiccs/${EID}/profiles/history?iccid=8900000000000000001`, { role: 'read' });
    assert.equal(history.json().items[0].change, 'enabled');
    assert.equal((await h.call('GET', `/v1/euiccs/${EID3}/profiles`)).statusCode, 404);
    assert.equal((await h.call('GET', `/v1/euiccs/${EID3}/profiles/history`)).statusCode, 404);
  });

  it('replaces labels, 404 for an unknown eUICC', async () => {
    const r = await h.call('PUT', `/v1/euiccs/${EID2}/labels`, { body: { labels: ['b', 'c'] } });
    assert.equal(r.statusCode, 200);
    assert.deepEqual(r.json().labels, ['b', 'c']);
    assert.deepEqual((await h.store.getEuicc(EID2))?.labels, ['b', 'c']);
    assert.equal((await h.call('PUT', `/v1/euiccs/${EID3}/labels`, { body: { labels: [] } })).statusCode, 404);
    assert.equal((await h.call('PUT', `/v1/euiccs/${EID2}/labels`, { body: { labels: [{ not: 'a string' }] } })).statusCode, 400);
  });

  it('deletes an eUICC with its credential (204), then 404', async () => {
    assert.equal((await h.call('DELETE', `/v1/euiccs/${EID2}`)).statusCode, 204);
    assert.equal((await h.call('GET', `/v1/euiccs/${EID2}`)).statusCode, 404);
    assert.equal(h.store.getByCertificateFingerprint('ab'.repeat(32)), undefined);
    assert.equal((await h.call('DELETE', `/v1/euiccs/${EID2}`)).statusCode, 404);
  });

  it('publishes registration, update and deletion events', async () => {
    await h.bus.flush();
    const types = (await h.apiStore.listEventsAfter(0, 1000)).map((e) => e.type);
    assert.ok(types.includes('euicc.registered'));
    assert.ok(types.includes('euicc.updated'));
    assert.ok(types.includes('euicc.deleted'));
  });

  it('answers an unknown route with 404 in the error shape', async () => {
    const r = await h.call('GET', '/v1/nothing-here');
    assert.equal(r.statusCode, 404);
    assert.equal(r.json().error, 'EIM_ERR_NOT_FOUND');
  });
});
