import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { bytes, knownAnswer, T, utf8 } from './known-answer.js';
import {
  AddInitialEimRequest,
  AddInitialEimResponse,
  GetCertsRequest,
  GetCertsResponse,
  GetEimConfigurationDataRequest,
  GetEimConfigurationDataResponse,
  EuiccMemoryResetRequest,
  EuiccMemoryResetResponse,
} from '../../src/asn1/eim-configuration.js';
import { decode } from '../../src/asn1/schema.js';
import { toHex } from '../../src/asn1/hex.js';

const VECTORS = fileURLToPath(new URL('../../../shared/vectors/', import.meta.url));
const noVectors = !existsSync(VECTORS) && 'shared/vectors is absent';

describe('ES10b eIM configuration functions', () => {
  it('encodes AddInitialEimRequest as BF57 { A0 { 30 { EimConfigurationData } } }', () =>
    void knownAnswer(
      AddInitialEimRequest,
      { eimConfigurationDataList: [{ eimId: 'eim', eimFqdn: 'eim.example.com', counterValue: 0, associationToken: -1, indirectProfileDownload: true }] },
      T('bf57', T('a0', T('30', T('80', utf8('eim')), T('81', utf8('eim.example.com')), '830100', '8401ff', '8900'))),
    ));

  it('encodes AddInitialEimResponse ok with a generated association token and addOk', () =>
    void knownAnswer(AddInitialEimResponse, { addInitialEimOk: [{ associationToken: 1 }, { addOk: true }] }, T('bf57', T('a0', '840101', '0500'))));

  it('encodes AddInitialEimResponse error (automatic tag 81)', () =>
    void knownAnswer(AddInitialEimResponse, { addInitialEimError: 'associatedEimAlreadyExists' }, 'bf5703810102'));

  it('encodes GetEimConfigurationDataRequest with its search criteria as explicit A0', () =>
    void knownAnswer(GetEimConfigurationDataRequest, { searchCriteria: { eimId: 'eim' } }, T('bf55', T('a0', T('80', utf8('eim'))))));

  it('encodes GetEimConfigurationDataResponse', () =>
    void knownAnswer(GetEimConfigurationDataResponse, { eimConfigurationDataList: [{ eimId: 'eim', counterValue: 12 }] }, T('bf55', T('a0', T('30', T('80', utf8('eim')), '83010c')))));

  it('encodes GetCerts request and both response arms', () => {
    knownAnswer(GetCertsRequest, { euiccCiPKId: bytes('0102') }, T('bf56', '80020102'));
    knownAnswer(GetCertsResponse, { certs: { eumCertificate: bytes('3003020101'), euiccCertificate: bytes('3003020102') } }, T('bf56', T('a0', T('a5', '020101'), T('a6', '020102'))));
    knownAnswer(GetCertsResponse, { getCertsError: 'invalidCiPKId' }, 'bf5603810101');
  });

  it('encodes EuiccMemoryReset request and response', () => {
    knownAnswer(EuiccMemoryResetRequest, { resetOptions: ['deleteOperationalProfiles', 'resetEimConfigData'] }, T('bf64', '82020284'));
    knownAnswer(EuiccMemoryResetResponse, { resetResult: 'ok', resetEimResult: 'ok' }, T('bf64', '800100', '810100'));
  });
});

describe('real AddInitialEimRequest (onomondo IPA sample, SGP.32 v1.0 layout)', () => {
  it('decodes, exposes the eIM key, and re-encodes byte for byte', { skip: noVectors }, () => {
    const der = new Uint8Array(readFileSync(`${VECTORS}onomondo-ipa-AddInitialEimRequest-v1.0.ber`));
    const v = decode(AddInitialEimRequest, der);
    const cfg = v.eimConfigurationDataList[0]!;
    assert.equal(cfg.eimId, 'eIM');
    assert.equal(cfg.eimFqdn, '127.0.0.1:8000');
    assert.equal(cfg.counterValue, 1);
    assert.equal(cfg.associationToken, -1);
    assert.ok(cfg.eimPublicKeyData !== undefined && 'eimPublicKey' in cfg.eimPublicKeyData);
    // The value is a usable SPKI (30 ...) although on the wire it sits under A0.
    assert.equal(toHex(cfg.eimPublicKeyData.eimPublicKey).slice(0, 4), '3059');
    assert.equal(toHex(AddInitialEimRequest.encode(v)), toHex(der));
  });
});
