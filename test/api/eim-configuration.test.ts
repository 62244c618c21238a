import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { AddInitialEimRequest } from '../../src/asn1/eim-configuration.js';
import { fromHex } from '../../src/asn1/hex.js';
import { decode } from '../../src/asn1/schema.js';
import { apiHarness } from './harness.js';

describe('GET /v1/eim/configuration', () => {
  it('returns what eim config show prints, with the requested counter and token, to a read token', async () => {
    const h = await apiHarness();
    try {
      const res = await h.call('GET', '/v1/eim/configuration?counterValue=5&associationToken=7', { role: 'read' });
      assert.equal(res.statusCode, 200);
      const body = res.json() as { eimConfigurationData: { eimId: string; counterValue: number }; addInitialEimRequest: string };
      assert.equal(body.eimConfigurationData.eimId, 'eim.test');
      const req = decode(AddInitialEimRequest, fromHex(body.addInitialEimRequest));
      assert.equal(req.eimConfigurationDataList[0]!.counterValue, 5);
      assert.equal(req.eimConfigurationDataList[0]!.associationToken, 7);
      assert.ok(req.eimConfigurationDataList[0]!.eimPublicKeyData !== undefined);
      assert.equal((await h.call('GET', '/v1/eim/configuration', { role: 'none' })).statusCode, 401);
      assert.equal((await h.call('GET', '/v1/eim/configuration?counterValue=-3', { role: 'read' })).statusCode, 400);
    } finally {
      await h.close();
    }
  });
});
