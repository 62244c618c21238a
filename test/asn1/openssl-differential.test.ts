/**
 * A second decoder: OpenSSL's asn1parse must read every message we encode as well-formed DER, with the same
 * element count and nesting depth our TLV reader sees. Skipped when the openssl CLI is absent.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { EsipaMessageFromEimToIpa, EsipaMessageFromIpaToEim } from '../../src/asn1/esipa.js';
import { AddInitialEimRequest } from '../../src/asn1/eim-configuration.js';
import { childrenOf, isConstructed, readSingle, type Tlv } from '../../src/asn1/tlv.js';
import { bytes, EID, ICCID, SIG, TXID } from './known-answer.js';

const hasOpenssl = spawnSync('openssl', ['version']).status === 0;

function countElements(t: Tlv): number {
  return 1 + (isConstructed(t.tag) ? childrenOf(t).reduce((n, c) => n + countElements(c), 0) : 0);
}

const MESSAGES: [string, Uint8Array][] = [
  ['GetEimPackageRequest', EsipaMessageFromIpaToEim.encode({ getEimPackageRequest: { eidValue: EID, notifyStateChange: true, stateChangeCause: 'reset' } })],
  [
    'GetEimPackageResponse with EuiccPackageRequest',
    EsipaMessageFromEimToIpa.encode({
      getEimPackageResponse: {
        euiccPackageRequest: {
          euiccPackageSigned: { eimId: 'eim', eidValue: EID, counterValue: 300, eimTransactionId: bytes(TXID), euiccPackage: { psmoList: [{ enable: { iccid: ICCID, rollbackFlag: true } }, { getRAT: {} }] } },
          eimSignature: bytes(SIG),
        },
      },
    }),
  ],
  ['ProvideEimPackageResultResponse', EsipaMessageFromEimToIpa.encode({ provideEimPackageResultResponse: { eimAcknowledgements: [1, 128, 70000] } })],
  ['AddInitialEimRequest', AddInitialEimRequest.encode({ eimConfigurationDataList: [{ eimId: 'eim', counterValue: 0, associationToken: -1, eimSupportedProtocol: ['eimRetrieveHttps'], indirectProfileDownload: true }] })],
];

describe('OpenSSL asn1parse as a second decoder', { skip: !hasOpenssl && 'openssl CLI not found' }, () => {
  for (const [name, der] of MESSAGES) {
    it(`parses our ${name} as DER with the same structure`, () => {
      const r = spawnSync('openssl', ['asn1parse', '-inform', 'DER'], { input: Buffer.from(der) });
      assert.equal(r.status, 0, r.stderr.toString());
      const lines = r.stdout.toString().trim().split('\n');
      assert.equal(lines.length, countElements(readSingle(der)));
      assert.doesNotMatch(r.stdout.toString(), /Error|BAD/i);
    });
  }
});
