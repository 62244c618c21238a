/**
 * The whole server as `npm start` builds it (startServer on a real SQLite file, real listeners on 127.0.0.1),
 * driven by an operator through the REST API and by a simulated device (virtual eUICC + IPA) polling over
 * the ESipa HTTP binding. Also checks the first-start secrets and that they never reach the logs.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { toHex } from '../../src/asn1/hex.js';
import { eidWithCheckDigits } from '../../src/asn1/identifiers.js';
import { loadConfig } from '../../src/config/config.js';
import { addInitialEimRequest } from '../../src/eim/identity.js';
import { startServer } from '../../src/main.js';
import { VirtualEuicc } from '../../src/sim/euicc/euicc.js';
import { Ipa } from '../../src/sim/ipa.js';
import { createTestPki } from '../../src/sim/pki.js';

const EID = eidWithCheckDigits('890490320000000000000000077777');
const A = '8944000000000000011';
const B = '8944000000000000012';
const PSK = 'c0ffee00c0ffee00c0ffee00c0ffee00';

describe('the server end to end (REST API + ESipa over HTTP)', () => {
  it('switches a profile ordered through the API on a device that polls, and keeps secrets out of the logs', { timeout: 60_000 }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'eim-e2e-'));
    const pki = createTestPki({ eids: [EID] });
    writeFileSync(join(dir, 'ci.der'), pki.ci.certificate);
    const listener = { enabled: true, host: '127.0.0.1', port: 0 };
    writeFileSync(
      join(dir, 'config.json'),
      JSON.stringify({ dataDir: join(dir, 'data'), log: { level: 'debug' }, eim: { eimId: 'eim.e2e', eimFqdn: '127.0.0.1', trustedCiFiles: [join(dir, 'ci.der')] }, lwm2m: { coap: listener, coaps: listener }, http: { esipa: listener, api: listener } }),
    );
    let logs = '';
    const logger = pino({ level: 'debug' }, new Writable({ write: (c, _e, cb) => ((logs += c.toString()), cb()) }));
    let token = '';
    const server = await startServer(loadConfig({ file: join(dir, 'config.json'), env: {} }), { logger });
    try {
      assert.ok(server.adminTokenFile !== undefined);
      assert.equal(statSync(server.adminTokenFile).mode & 0o777, 0o600);
      assert.equal(statSync(join(dir, 'data', 'eim-key.pem')).mode & 0o777, 0o600);
      token = readFileSync(server.adminTokenFile, 'utf8').trim();
      const api = async (method: string, path: string, body?: unknown) => {
        const res = await fetch(`http://127.0.0.1:${server.ports.api}${path}`, {
          method,
          headers: { authorization: `Bearer ${token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
          ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
          signal: AbortSignal.timeout(10_000),
        });
        return { status: res.status, body: (await res.json().catch(() => undefined)) as Record<string, unknown> };
      };
      assert.equal((await fetch(`http://127.0.0.1:${server.ports.api}/healthz`)).status, 200);
      assert.equal((await fetch(`http://127.0.0.1:${server.ports.api}/v1/euiccs`)).status, 401);

      // factory provisioning of the device with this eIM, then registration through the API
      const card = VirtualEuicc.fromPki(pki, EID, { profiles: [{ iccid: A, state: 'enabled' }, { iccid: B }] });
      card.addInitialEim(addInitialEimRequest(server.core.identity));
      const reg = await api('POST', '/v1/euiccs', {
        eid: EID,
        endpoint: 'urn:imei:490154203237518',
        pskIdentity: 'dev-1',
        psk: PSK,
        associationToken: card.associationTokenOf('eim.e2e'),
        euiccCertificate: toHex(pki.euiccs.get(EID)!.certificate),
        eumCertificate: toHex(pki.eum.certificate),
      });
      assert.equal(reg.status, 201, JSON.stringify(reg.body));
      const op = await api('POST', `/v1/euiccs/${EID}/operations`, { kind: 'enable', iccid: B });
      assert.equal(op.status, 202);

      // the device polls over HTTP until it has nothing left to do (bounded)
      const ipa = new Ipa(card);
      const esipa = async (der: Uint8Array): Promise<Uint8Array | undefined> => {
        const res = await fetch(`http://127.0.0.1:${server.ports.esipaHttp}/gsma/rsp2/asn1`, {
          method: 'POST',
          headers: { 'content-type': 'application/x-gsma-rsp-asn1' },
          body: der,
          signal: AbortSignal.timeout(10_000),
        });
        assert.ok(res.status === 200 || res.status === 204, `ESipa answered ${res.status}`);
        return res.status === 204 ? undefined : new Uint8Array(await res.arrayBuffer());
      };
      for (let round = 0; round < 5; round++) {
        let message: Uint8Array | undefined = ipa.pollRequest();
        for (let step = 0; message !== undefined && step < 6; step++) {
          const answer = await esipa(message);
          message = answer === undefined ? undefined : ipa.handleEimMessage(answer);
        }
        if ((await api('GET', `/v1/operations/${op.body.id as string}`)).body.state === 'done') break;
      }
      const done = await api('GET', `/v1/operations/${op.body.id as string}`);
      assert.equal(done.body.state, 'done', JSON.stringify(done.body));
      assert.equal(card.profile(B)?.state, 'enabled');
      const profiles = await api('GET', `/v1/euiccs/${EID}/profiles`);
      const items = (profiles.body.items ?? profiles.body) as { iccid: string; state: string }[];
      assert.deepEqual(items.map((p) => [p.iccid, p.state]).sort(), [[A, 'disabled'], [B, 'enabled']]);
      // acknowledged notifications and results were removed from the card
      assert.equal(card.storedPackageResults().length, 0);
    } finally {
      await server.close();
      rmSync(dir, { recursive: true, force: true });
    }
    assert.ok(logs.includes('eIM server started'));
    assert.ok(token.length > 20);
    for (const secret of [PSK, token, 'PRIVATE KEY']) assert.ok(!logs.includes(secret), 'a secret reached the logs');
  });
});
