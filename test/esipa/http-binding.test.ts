import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { EsipaMessageFromIpaToEim } from '../../src/asn1/esipa.js';
import { toHex } from '../../src/asn1/hex.js';
import { EsipaHandler } from '../../src/esipa/esipa-handler.js';
import { createEsipaHttpServer } from '../../src/esipa/http-binding.js';
import { EID, harness } from '../eim/harness.js';

describe('ESipa HTTP binding (POST /gsma/rsp2/asn1)', () => {
  it('answers polls, refuses wrong content types, methods, paths and garbage, and keeps serving', async () => {
    const h = await harness();
    const server = createEsipaHttpServer({ handler: new EsipaHandler({ core: h.core }), maxBodyBytes: 4096 });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const post = (body: Uint8Array | string, type = 'application/x-gsma-rsp-asn1', path = '/gsma/rsp2/asn1') =>
      fetch(`${base}${path}`, { method: 'POST', headers: { 'Content-Type': type, 'X-Admin-Protocol': 'gsma/rsp/v1.0.0' }, body, signal: AbortSignal.timeout(5000) });
    try {
      const poll = EsipaMessageFromIpaToEim.encode({ getEimPackageRequest: { eidValue: EID } });
      let res = await post(poll);
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('content-type'), 'application/x-gsma-rsp-asn1');
      assert.equal(toHex(new Uint8Array(await res.arrayBuffer())), 'bf4f03020101');
      assert.equal((await post(poll, 'application/json')).status, 415);
      assert.equal((await fetch(`${base}/gsma/rsp2/asn1`, { signal: AbortSignal.timeout(5000) })).status, 405);
      assert.equal((await post(poll, undefined, '/other')).status, 404);
      assert.equal((await post(Buffer.from('bf4f125a10', 'hex'))).status, 400);
      assert.equal((await post(new Uint8Array(5000))).status, 413);
      // a stored result delivered as a notification: no response data
      res = await post(EsipaMessageFromIpaToEim.encode({ handleNotificationEsipa: { provideEimPackageResult: { eidValue: EID, eimPackageResult: { eimPackageResultResponseError: { eimPackageResultErrorCode: 'undefinedError' } } } } }));
      assert.equal(res.status, 204);
      res = await post(poll);
      assert.equal(res.status, 200);
    } finally {
      await new Promise((r) => server.close(r));
      await h.close();
    }
  });
});
