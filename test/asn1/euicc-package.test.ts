import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { bytes, EID, ICCID, ICCID_HEX, knownAnswer, SIG, T, TXID, utf8 } from './known-answer.js';
import { EimConfigurationData } from '../../src/asn1/eim-configuration.js';
import { Eco, EuiccPackageRequest, EuiccPackageResult, EuiccPackageSigned, EuiccResultData, Psmo } from '../../src/asn1/euicc-package.js';
import { decode, type DecodeWarning, RECEIVED, signedBytes } from '../../src/asn1/schema.js';
import { toHex } from '../../src/asn1/hex.js';

const EIM_ID = 'eim.example.com';

describe('PSMOs (SGP.32 Psmo CHOICE)', () => {
  const cases: [string, Parameters<typeof Psmo.encode>[0], string][] = [
    ['enable with rollbackFlag (universal NULL: the SEQUENCE has tagged components)', { enable: { iccid: ICCID, rollbackFlag: true } }, T('a3', T('5a', ICCID_HEX), '0500')],
    ['enable without rollbackFlag', { enable: { iccid: ICCID } }, T('a3', T('5a', ICCID_HEX))],
    ['disable', { disable: { iccid: ICCID } }, T('a4', T('5a', ICCID_HEX))],
    ['delete', { delete: { iccid: ICCID } }, T('a5', T('5a', ICCID_HEX))],
    ['listProfileInfo with search criteria and tag list', { listProfileInfo: { searchCriteria: { iccid: ICCID }, tagList: bytes('5a9f70') } }, T('bf2d', T('a0', T('5a', ICCID_HEX)), T('5c', '5a9f70'))],
    ['listProfileInfo without arguments', { listProfileInfo: {} }, T('bf2d')],
    ['getRAT', { getRAT: {} }, 'a600'],
    [
      'configureImmediateEnable with flag, OID and address',
      { configureImmediateEnable: { immediateEnableFlag: true, defaultSmdpOid: '2.999.1', defaultSmdpAddress: 'smdp.example.com' } },
      T('a7', '8000', T('81', '883701'), T('82', utf8('smdp.example.com'))),
    ],
    ['setFallbackAttribute', { setFallbackAttribute: { iccid: ICCID } }, T('a8', T('5a', ICCID_HEX))],
    ['unsetFallbackAttribute', { unsetFallbackAttribute: {} }, 'a900'],
    ['setDefaultDpAddress (automatic tag 80 inside BF65)', { setDefaultDpAddress: { defaultDpAddress: 'smdp.example.com' } }, T('bf65', T('80', utf8('smdp.example.com')))],
  ];
  for (const [name, value, hex] of cases) it(`encodes ${name}`, () => void knownAnswer(Psmo, value, hex));
});

const CONFIG: EimConfigurationData = {
  eimId: 'eim-2',
  eimFqdn: 'eim2.example.com:5684',
  eimIdType: 'eimIdTypeFqdn',
  counterValue: 1,
  associationToken: -1,
  eimPublicKeyData: { eimPublicKey: bytes('3003020101') },
  eimSupportedProtocol: ['eimRetrieveHttps', 'eimInjectCoaps'],
  euiccCiPKId: bytes('f54172bdf98a95d65cbeb88a38a1c11d800a85c3'),
  indirectProfileDownload: true,
};
const CONFIG_CONTENT =
  T('80', utf8('eim-2')) +
  T('81', utf8('eim2.example.com:5684')) +
  '820102' +
  '830101' +
  '8401ff' +
  T('a5', T('a0', '020101')) + // explicit [5] on the CHOICE, implicit A0 replacing the SPKI's 30
  '87020490' + // bits 0 and 3: 4 unused bits, 1001 0000
  T('88', 'f54172bdf98a95d65cbeb88a38a1c11d800a85c3') +
  '8900';

describe('eCOs (SGP.32 Eco CHOICE)', () => {
  it('encodes addEim as A8 holding the EimConfigurationData fields', () => void knownAnswer(Eco, { addEim: CONFIG }, T('a8', CONFIG_CONTENT)));
  it('encodes updateEim as AA', () => void knownAnswer(Eco, { updateEim: { eimId: 'eim-2', counterValue: 200 } }, T('aa', T('80', utf8('eim-2')), '83020' + '0c8')));
  it('encodes deleteEim', () => void knownAnswer(Eco, { deleteEim: { eimId: 'eim-1' } }, T('a9', T('80', utf8('eim-1')))));
  it('encodes listEim', () => void knownAnswer(Eco, { listEim: {} }, 'ab00'));
  it('encodes an eIM certificate as A5 { A1 ... }', () =>
    void knownAnswer(EimConfigurationData, { eimId: 'x', eimPublicKeyData: { eimCertificate: bytes('3003020102') } }, T('30', T('80', utf8('x')), T('a5', T('a1', '020102')))));
});

describe('EuiccPackageRequest', () => {
  const signedHex = T(
    '30',
    T('80', utf8(EIM_ID)),
    T('5a', EID),
    '810105',
    T('82', TXID),
    T('a0', T('a3', T('5a', ICCID_HEX), '0500')),
  );
  const requestHex = T('bf51', signedHex, T('5f37', SIG));
  const value = {
    euiccPackageSigned: {
      eimId: EIM_ID,
      eidValue: EID,
      counterValue: 5,
      eimTransactionId: bytes(TXID),
      euiccPackage: { psmoList: [{ enable: { iccid: ICCID, rollbackFlag: true as const } }] },
    },
    eimSignature: bytes(SIG),
  };

  it('matches the appendix A enable example byte for byte', () => void knownAnswer(EuiccPackageRequest, value, requestHex));

  it('carries every PSMO in one psmoList', () => {
    const psmos = [
      { disable: { iccid: ICCID } },
      { setFallbackAttribute: { iccid: ICCID } },
      { getRAT: {} },
      { listProfileInfo: {} },
    ] as const;
    const hex = T(
      'bf51',
      T('30', T('80', utf8(EIM_ID)), T('5a', EID), '810106', T('a0', T('a4', T('5a', ICCID_HEX)), T('a8', T('5a', ICCID_HEX)), 'a600', 'bf2d00')),
      T('5f37', SIG),
    );
    knownAnswer(EuiccPackageRequest, { euiccPackageSigned: { eimId: EIM_ID, eidValue: EID, counterValue: 6, euiccPackage: { psmoList: [...psmos] } }, eimSignature: bytes(SIG) }, hex);
  });

  it('carries eCOs in an ecoList (A1), told apart from counterValue 81 by the constructed bit', () => {
    const hex = T('bf51', T('30', T('80', utf8(EIM_ID)), T('5a', EID), '810107', T('a1', 'ab00', T('a9', T('80', utf8('old'))))), T('5f37', SIG));
    knownAnswer(
      EuiccPackageRequest,
      { euiccPackageSigned: { eimId: EIM_ID, eidValue: EID, counterValue: 7, euiccPackage: { ecoList: [{ listEim: {} }, { deleteEim: { eimId: 'old' } }] } }, eimSignature: bytes(SIG) },
      hex,
    );
  });

  it('keeps the exact received bytes of EuiccPackageSigned for signature checks', () => {
    const decoded = decode(EuiccPackageRequest, bytes(requestHex));
    assert.equal(toHex(decoded.euiccPackageSigned[RECEIVED]!), signedHex);
    assert.equal(toHex(signedBytes(EuiccPackageSigned, decoded.euiccPackageSigned)), signedHex);
  });
});

describe('EuiccResultData (every arm)', () => {
  const cases: [string, Parameters<typeof EuiccResultData.encode>[0], string][] = [
    ['enableResult ok', { enableResult: 'ok' }, '830100'],
    ['disableResult profileNotInEnabledState', { disableResult: 'profileNotInEnabledState' }, '840102'],
    ['deleteResult returnFallbackProfile', { deleteResult: 'returnFallbackProfile' }, '850115'],
    [
      'listProfileInfoResult ok',
      { listProfileInfoResult: { profileInfoListOk: [{ iccid: ICCID, profileState: 'enabled' }] } },
      T('bf2d', T('a0', T('e3', T('5a', ICCID_HEX), '9f700101'))),
    ],
    ['listProfileInfoResult error', { listProfileInfoResult: { profileInfoListError: 'profileChangeOngoing' } }, T('bf2d', '81010b')],
    ['getRATResult (empty table)', { getRATResult: [] }, 'a600'],
    ['configureImmediateEnableResult', { configureImmediateEnableResult: 'commandError' }, '870107'],
    ['addEimResult with association token (explicit A8 around 84)', { addEimResult: { associationToken: 7 } }, T('a8', '840107')],
    ['addEimResult with a code (universal INTEGER)', { addEimResult: { addEimResultCode: 'associatedEimAlreadyExists' } }, T('a8', '020102')],
    ['deleteEimResult lastEimDeleted', { deleteEimResult: 'lastEimDeleted' }, '890102'],
    ['updateEimResult counterValueOutOfRange', { updateEimResult: 'counterValueOutOfRange' }, '8a0106'],
    ['listEimResult list', { listEimResult: { eimIdList: [{ eimId: 'eim-1', eimIdType: 'eimIdTypeFqdn' }] } }, T('ab', T('a0', T('30', T('80', utf8('eim-1')), '820102')))],
    ['listEimResult error', { listEimResult: { listEimError: 'undefinedError' } }, T('ab', '81017f')],
    ['rollbackResult', { rollbackResult: 'ok' }, '8c0100'],
    ['setFallbackAttributeResult fallbackProfileEnabled', { setFallbackAttributeResult: 'fallbackProfileEnabled' }, '8d0103'],
    ['unsetFallbackAttributeResult noFallbackAttribute', { unsetFallbackAttributeResult: 'noFallbackAttribute' }, '8e0102'],
    ['processingTerminated interruption (universal INTEGER)', { processingTerminated: 'interruption' }, '020103'],
    ['setDefaultDpAddressResult', { setDefaultDpAddressResult: { setDefaultDpAddressResult: 'ok' } }, T('bf65', '800100')],
    ['a result code unknown to v1.2 kept as a number', { enableResult: 99 }, '830163'],
  ];
  for (const [name, value, hex] of cases) it(`encodes ${name}`, () => void knownAnswer(EuiccResultData, value, hex));
});

describe('EuiccPackageResult (three arms)', () => {
  const dataHex = T('30', T('80', utf8(EIM_ID)), '810105', T('82', TXID), '83010e', T('30', '830100', '020103'));
  const signedHex = T('bf51', T('a0', dataHex, T('5f37', SIG)));

  it('decodes euiccPackageResultSigned and keeps the signed data bytes', () => {
    const v = knownAnswer(
      EuiccPackageResult,
      {
        euiccPackageResultSigned: {
          euiccPackageResultDataSigned: { eimId: EIM_ID, counterValue: 5, eimTransactionId: bytes(TXID), seqNumber: 14, euiccResult: [{ enableResult: 'ok' }, { processingTerminated: 'interruption' }] },
          euiccSignEPR: bytes(SIG),
        },
      },
      signedHex,
    );
    assert.ok('euiccPackageResultSigned' in v);
    assert.equal(toHex(v.euiccPackageResultSigned.euiccPackageResultDataSigned[RECEIVED]!), dataHex);
  });

  it('decodes euiccPackageErrorSigned with the error code by name', () => {
    const errHex = T('30', T('80', utf8(EIM_ID)), '810105', T('82', TXID), '020104');
    const v = knownAnswer(
      EuiccPackageResult,
      { euiccPackageErrorSigned: { euiccPackageErrorDataSigned: { eimId: EIM_ID, counterValue: 5, eimTransactionId: bytes(TXID), euiccPackageErrorCode: 'replayError' }, euiccSignEPE: bytes(SIG) } },
      T('bf51', T('a1', errHex, T('5f37', SIG))),
    );
    assert.ok('euiccPackageErrorSigned' in v);
    assert.equal(toHex(v.euiccPackageErrorSigned.euiccPackageErrorDataSigned[RECEIVED]!), errHex);
  });

  it('decodes euiccPackageErrorUnsigned with its association token', () =>
    void knownAnswer(EuiccPackageResult, { euiccPackageErrorUnsigned: { eimId: EIM_ID, eimTransactionId: bytes(TXID), associationToken: 3 } }, T('bf51', T('a2', T('80', utf8(EIM_ID)), T('82', TXID), '840103'))));

  it('accepts a result without eimTransactionId (v1.0-style eUICCs)', () => {
    const hex = T('bf51', T('a0', T('30', T('80', utf8(EIM_ID)), '810105', '830101', T('30', '840100')), T('5f37', SIG)));
    const v = decode(EuiccPackageResult, bytes(hex));
    assert.ok('euiccPackageResultSigned' in v);
    assert.equal(v.euiccPackageResultSigned.euiccPackageResultDataSigned.eimTransactionId, undefined);
  });

  it('skips an unknown trailing element with a warning (EXTENSIBILITY IMPLIED)', () => {
    const hex = T('bf51', T('a0', T('30', T('80', utf8(EIM_ID)), '810105', '830101', T('30', '840100'), '9f7f0100'), T('5f37', SIG)));
    const warnings: DecodeWarning[] = [];
    const v = decode(EuiccPackageResult, bytes(hex), warnings);
    assert.ok('euiccPackageResultSigned' in v);
    assert.equal(warnings.length, 1);
    assert.match(warnings[0]!.message, /unknown element 9F7F/);
    // the signed bytes still include the unknown element: they are what the eUICC signed
    assert.ok(toHex(v.euiccPackageResultSigned.euiccPackageResultDataSigned[RECEIVED]!).endsWith('9f7f0100'));
  });
});
