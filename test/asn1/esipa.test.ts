import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { bytes, EID, ICCID, ICCID_HEX, knownAnswer, SIG, T, TXID, utf8 } from './known-answer.js';
import { EsipaMessageFromEimToIpa, EsipaMessageFromIpaToEim } from '../../src/asn1/esipa.js';
import { IpaEuiccData, IpaEuiccDataRequest, ProfileDownloadTriggerRequest, ProfileDownloadTriggerResult } from '../../src/asn1/ipa-euicc-data.js';
import { decode, RECEIVED } from '../../src/asn1/schema.js';
import { toHex } from '../../src/asn1/hex.js';

type FromIpa = Parameters<typeof EsipaMessageFromIpaToEim.encode>[0];
type FromEim = Parameters<typeof EsipaMessageFromEimToIpa.encode>[0];

const SKI = 'f54172bdf98a95d65cbeb88a38a1c11d800a85c3';
const CHALLENGE = '11'.repeat(16);
const CERT = '3003020101'; // a stand-in for a certificate: carried byte-exact, never looked into here
const EPR_UNSIGNED = T('bf51', T('a2', T('80', utf8('eim')), T('82', TXID)));
const eprUnsigned = { euiccPackageErrorUnsigned: { eimId: 'eim', eimTransactionId: bytes(TXID) } };
const EUICC_INFO1 = T('bf20', '8203020200', T('a9', T('04', SKI)), T('aa', T('04', SKI)));
const euiccInfo1 = { svn: bytes('020200'), euiccCiPKIdListForVerification: [bytes(SKI)], euiccCiPKIdListForSigning: [bytes(SKI)] };
const OTHER_NOTIFICATION = T('30', T('bf2f', '800105', '81020640', T('0c', utf8('smdp.example.com')), T('5a', ICCID_HEX)), T('5f37', SIG), CERT, CERT);
const otherNotification = {
  otherSignedNotification: {
    tbsOtherNotification: { seqNumber: 5, profileManagementOperation: ['notificationEnable'], notificationAddress: 'smdp.example.com', iccid: ICCID },
    euiccNotificationSignature: bytes(SIG),
    euiccCertificate: bytes(CERT),
    eumCertificate: bytes(CERT),
  },
};

describe('ESipa messages from the IPA (EsipaMessageFromIpaToEim, every arm)', () => {
  const cases: [string, FromIpa, string][] = [
    ['GetEimPackageRequest (appendix A)', { getEimPackageRequest: { eidValue: EID } }, T('bf4f', T('5a', EID))],
    [
      'GetEimPackageRequest with notifyStateChange, cause and rPLMN',
      { getEimPackageRequest: { eidValue: EID, notifyStateChange: true, stateChangeCause: 'fallback', rPLMN: bytes('62f210') } },
      T('bf4f', T('5a', EID), '8000', '810101', '820362f210'),
    ],
    [
      'InitiateAuthenticationRequestEsipa',
      { initiateAuthenticationRequestEsipa: { euiccChallenge: bytes(CHALLENGE), smdpAddress: 'smdp.example.com', euiccInfo1, eimTransactionId: bytes(TXID) } },
      T('bf39', T('81', CHALLENGE), T('83', utf8('smdp.example.com')), EUICC_INFO1, T('82', TXID)),
    ],
    [
      'AuthenticateClientRequestEsipa (AuthenticateServerResponse relayed byte-exact)',
      { authenticateClientRequestEsipa: { transactionId: bytes(TXID), authenticateServerResponse: bytes(T('bf38', T('a1', T('80', TXID), '020101'))) } },
      T('bf3b', T('80', TXID), T('bf38', T('a1', T('80', TXID), '020101'))),
    ],
    [
      'GetBoundProfilePackageRequestEsipa',
      { getBoundProfilePackageRequestEsipa: { transactionId: bytes(TXID), prepareDownloadResponse: bytes(T('bf21', T('a1', T('80', TXID), '020102'))) } },
      T('bf3a', T('80', TXID), T('bf21', T('a1', T('80', TXID), '020102'))),
    ],
    [
      'CancelSessionRequestEsipa (automatic [1] replaces the BF41 of CancelSessionResponse)',
      { cancelSessionRequestEsipa: { transactionId: bytes(TXID), cancelSessionResponse: bytes(T('bf41', '810105')) } },
      T('bf41', T('80', TXID), T('a1', '810105')),
    ],
    ['HandleNotificationEsipa with an OtherSignedNotification', { handleNotificationEsipa: { pendingNotification: otherNotification } }, T('bf3d', T('a0', OTHER_NOTIFICATION))],
    [
      'HandleNotificationEsipa carrying a stored ProvideEimPackageResult',
      { handleNotificationEsipa: { provideEimPackageResult: { eidValue: EID, eimPackageResult: { euiccPackageResult: eprUnsigned } } } },
      T('bf3d', T('bf50', T('5a', EID), EPR_UNSIGNED)),
    ],
    ['TransferEimPackageResponse euiccPackageResult', { transferEimPackageResponse: { euiccPackageResult: eprUnsigned } }, T('bf4e', EPR_UNSIGNED)],
    [
      'TransferEimPackageResponse ePRAndNotifications (universal SEQUENCE)',
      { transferEimPackageResponse: { ePRAndNotifications: { euiccPackageResult: eprUnsigned, notificationList: [otherNotification] } } },
      T('bf4e', T('30', EPR_UNSIGNED, T('a0', OTHER_NOTIFICATION))),
    ],
    [
      'TransferEimPackageResponse ipaEuiccDataResponse error',
      { transferEimPackageResponse: { ipaEuiccDataResponse: { ipaEuiccDataResponseError: { eimTransactionId: bytes(TXID), ipaEuiccDataErrorCode: 'incorrectTagList' } } } },
      T('bf4e', T('bf52', T('a1', T('80', TXID), '020101'))),
    ],
    ['TransferEimPackageResponse eimPackageReceived', { transferEimPackageResponse: { eimPackageReceived: true } }, T('bf4e', '0500')],
    ['TransferEimPackageResponse eimPackageError', { transferEimPackageResponse: { eimPackageError: 'unknownPackage' } }, T('bf4e', '020102')],
    ['ProvideEimPackageResult euiccPackageResult without eidValue', { provideEimPackageResult: { eimPackageResult: { euiccPackageResult: eprUnsigned } } }, T('bf50', EPR_UNSIGNED)],
    [
      'ProvideEimPackageResult ePRAndNotifications',
      { provideEimPackageResult: { eidValue: EID, eimPackageResult: { ePRAndNotifications: { euiccPackageResult: eprUnsigned, notificationList: [] } } } },
      T('bf50', T('5a', EID), T('30', EPR_UNSIGNED, 'a000')),
    ],
    [
      'ProvideEimPackageResult profileDownloadTriggerResult with profileDownloadError',
      {
        provideEimPackageResult: {
          eidValue: EID,
          eimPackageResult: {
            profileDownloadTriggerResult: {
              eimTransactionId: bytes(TXID),
              profileDownloadTriggerResultData: { profileDownloadError: { profileDownloadErrorReason: 'undefinedError', errorResponse: bytes('bf3903810101') } },
            },
          },
        },
      },
      T('bf50', T('5a', EID), T('bf54', T('82', TXID), T('30', '80017f', T('04', 'bf3903810101')))),
    ],
    [
      'ProvideEimPackageResult eimPackageResultResponseError',
      { provideEimPackageResult: { eidValue: EID, eimPackageResult: { eimPackageResultResponseError: { eimTransactionId: bytes(TXID), eimPackageResultErrorCode: 'invalidPackageFormat' } } } },
      T('bf50', T('5a', EID), T('a0', T('80', TXID), '020101')),
    ],
  ];
  for (const [name, value, hex] of cases) it(`encodes ${name}`, () => void knownAnswer(EsipaMessageFromIpaToEim, value, hex));
});

describe('ESipa messages from the eIM (EsipaMessageFromEimToIpa, every arm)', () => {
  const SERVER_SIGNED1 = T('30', T('80', TXID), T('81', CHALLENGE), T('83', utf8('smdp.example.com')), T('84', CHALLENGE));
  const cases: [string, FromEim, string][] = [
    ['GetEimPackageResponse "no package" (appendix A)', { getEimPackageResponse: { eimPackageError: 'noEimPackageAvailable' } }, 'bf4f03020101'],
    ['GetEimPackageResponse with an ipaEuiccDataRequest', { getEimPackageResponse: { ipaEuiccDataRequest: { tagList: bytes('a5a6') } } }, T('bf4f', T('bf52', T('5c', 'a5a6')))],
    [
      'GetEimPackageResponse with a profileDownloadTriggerRequest',
      { getEimPackageResponse: { profileDownloadTriggerRequest: { profileDownloadData: { activationCode: '1$smdp.example.com$MATCH' }, eimTransactionId: bytes(TXID) } } },
      T('bf4f', T('bf54', T('a0', T('80', utf8('1$smdp.example.com$MATCH'))), T('82', TXID))),
    ],
    ['ProvideEimPackageResultResponse empty (appendix A, v1.2)', { provideEimPackageResultResponse: { emptyResponse: {} } }, 'bf50023000'],
    ['ProvideEimPackageResultResponse ack seq 14 (appendix A)', { provideEimPackageResultResponse: { eimAcknowledgements: [14] } }, 'bf5006bf530380010e'],
    ['ProvideEimPackageResultResponse error', { provideEimPackageResultResponse: { provideEimPackageResultError: 'eidNotFound' } }, 'bf5003020102'],
    ['TransferEimPackageRequest with acknowledgements', { transferEimPackageRequest: { eimAcknowledgements: [1, 200] } }, T('bf4e', T('bf53', '800101', '800200c8'))],
    ['TransferEimPackageRequest with a data request', { transferEimPackageRequest: { ipaEuiccDataRequest: { tagList: bytes('a8') } } }, T('bf4e', T('bf52', T('5c', 'a8')))],
    ['TransferEimPackageRequest with a download trigger', { transferEimPackageRequest: { profileDownloadTriggerRequest: { profileDownloadData: { contactDefaultSmdp: true } } } }, T('bf4e', T('bf54', T('a0', '8100')))],
    [
      'InitiateAuthenticationResponseEsipa ok (serverSigned1 and serverCertificate both universal SEQUENCEs)',
      {
        initiateAuthenticationResponseEsipa: {
          initiateAuthenticationOkEsipa: {
            transactionId: bytes(TXID),
            serverSigned1: { transactionId: bytes(TXID), euiccChallenge: bytes(CHALLENGE), serverAddress: 'smdp.example.com', serverChallenge: bytes(CHALLENGE) },
            serverSignature1: bytes(SIG),
            euiccCiPKIdentifierToBeUsed: bytes(SKI),
            serverCertificate: bytes(CERT),
            matchingId: 'MATCH',
            ctxParams1: { ctxParamsForCommonAuthentication: { matchingId: 'MATCH', deviceInfo: { tac: bytes('35290611'), deviceCapabilities: {} } } },
          },
        },
      },
      T('bf39', T('a0', T('80', TXID), SERVER_SIGNED1, T('5f37', SIG), T('04', SKI), CERT, T('0c', utf8('MATCH')), T('a2', T('a0', T('80', utf8('MATCH')), T('a1', T('80', '35290611'), 'a100'))))),
    ],
    ['InitiateAuthenticationResponseEsipa invalidEimTransactionId', { initiateAuthenticationResponseEsipa: { initiateAuthenticationErrorEsipa: 'invalidEimTransactionId' } }, 'bf3903810134'],
    [
      'AuthenticateClientResponseEsipa okDP with profile metadata and hashCc',
      {
        authenticateClientResponseEsipa: {
          authenticateClientOkDPEsipa: {
            transactionId: bytes(TXID),
            profileMetaData: { iccid: ICCID, serviceProviderName: 'OpA', profileName: 'Prf' },
            smdpSigned2: { transactionId: bytes(TXID), ccRequiredFlag: false },
            smdpSignature2: bytes(SIG),
            smdpCertificate: bytes(CERT),
            hashCc: bytes('22'.repeat(32)),
          },
        },
      },
      T('bf3b', T('a0', T('80', TXID), T('bf25', T('5a', ICCID_HEX), T('91', utf8('OpA')), T('92', utf8('Prf'))), T('30', T('80', TXID), '010100'), T('5f37', SIG), CERT, T('04', '22'.repeat(32)))),
    ],
    [
      'AuthenticateClientResponseEsipa okDS',
      { authenticateClientResponseEsipa: { authenticateClientOkDSEsipa: { transactionId: bytes(TXID), profileDownloadTrigger: { eimTransactionId: bytes(TXID) } } } },
      T('bf3b', T('a1', T('80', TXID), T('bf54', T('82', TXID)))),
    ],
    ['AuthenticateClientResponseEsipa error', { authenticateClientResponseEsipa: { authenticateClientErrorEsipa: 'matchingIdRefused' } }, 'bf3b03820106'],
    [
      'GetBoundProfilePackageResponseEsipa ok (BPP byte-exact)',
      { getBoundProfilePackageResponseEsipa: { getBoundProfilePackageOkEsipa: { transactionId: bytes(TXID), boundProfilePackage: bytes(T('bf36', T('bf23', '820101'))) } } },
      T('bf3a', T('a0', T('80', TXID), T('bf36', T('bf23', '820101')))),
    ],
    ['GetBoundProfilePackageResponseEsipa invalidTransactionId', { getBoundProfilePackageResponseEsipa: { getBoundProfilePackageErrorEsipa: 'invalidTransactionId' } }, 'bf3a0381015f'],
    ['CancelSessionResponseEsipa ok', { cancelSessionResponseEsipa: { cancelSessionOk: {} } }, 'bf4102a000'],
    ['CancelSessionResponseEsipa error', { cancelSessionResponseEsipa: { cancelSessionError: 'invalidTransactionId' } }, 'bf4103810101'],
  ];
  for (const [name, value, hex] of cases) it(`encodes ${name}`, () => void knownAnswer(EsipaMessageFromEimToIpa, value, hex));
});

describe('IpaEuiccData, data requests and download triggers', () => {
  it('encodes an IpaEuiccDataRequest with every optional member', () =>
    void knownAnswer(
      IpaEuiccDataRequest,
      {
        tagList: bytes('a0a5a6a8a9'),
        euiccCiPKIdentifierToBeUsed: bytes(SKI),
        searchCriteriaNotification: { profileManagementOperation: ['notificationInstall'] },
        searchCriteriaEuiccPackageResult: { seqNumber: 5 },
        eimTransactionId: bytes(TXID),
      },
      T('bf52', T('5c', 'a0a5a6a8a9'), T('04', SKI), T('a1', '81020780'), T('a2', '800105'), T('83', TXID)),
    ));

  it('encodes IpaEuiccData with all twelve members in their positional order', () => {
    const EUICC_INFO2 = T('bf22', '8103020300', '8203020200', '8303010000', T('84', '0102'), '850100', '880100', T('a9', T('04', SKI)), T('aa', T('04', SKI)), '0403000100', T('0c', utf8('SAS-1')));
    const hex = T(
      'a0',
      T('a0', OTHER_NOTIFICATION),
      T('81', utf8('smdp.example.com')),
      T('a2', EPR_UNSIGNED),
      EUICC_INFO1,
      EUICC_INFO2,
      T('83', utf8('smds.example.com')),
      '840103',
      T('a5', '020101'),
      T('a6', '020101'),
      T('87', TXID),
      T('a8', '80020640', '81020490'),
      T('a9', T('80', '35290611'), 'a100'),
    );
    knownAnswer(
      IpaEuiccData,
      {
        notificationsList: [otherNotification],
        defaultSmdpAddress: 'smdp.example.com',
        euiccPackageResultList: [eprUnsigned],
        euiccInfo1,
        euiccInfo2: {
          profileVersion: bytes('020300'),
          svn: bytes('020200'),
          euiccFirmwareVer: bytes('010000'),
          extCardResource: bytes('0102'),
          uiccCapability: [],
          rspCapability: [],
          euiccCiPKIdListForVerification: [bytes(SKI)],
          euiccCiPKIdListForSigning: [bytes(SKI)],
          ppVersion: bytes('000100'),
          sasAcreditationNumber: 'SAS-1',
        },
        rootSmdsAddress: 'smds.example.com',
        associationToken: 3,
        eumCertificate: bytes(CERT),
        euiccCertificate: bytes(CERT),
        eimTransactionId: bytes(TXID),
        ipaCapabilities: { ipaFeatures: ['indirectRspServerCommunication'], ipaSupportedProtocols: ['ipaRetrieveHttps', 'ipaInjectCoaps'] },
        deviceInfo: { tac: bytes('35290611'), deviceCapabilities: {} },
      },
      hex,
    );
  });

  it('encodes the three ProfileDownloadData forms', () => {
    knownAnswer(ProfileDownloadTriggerRequest, { profileDownloadData: { activationCode: '1$a$b' } }, T('bf54', T('a0', T('80', utf8('1$a$b')))));
    knownAnswer(ProfileDownloadTriggerRequest, { profileDownloadData: { contactDefaultSmdp: true } }, T('bf54', T('a0', '8100')));
    knownAnswer(ProfileDownloadTriggerRequest, { profileDownloadData: { contactSmds: { smdsAddress: 'smds.example.com' } } }, T('bf54', T('a0', T('a2', T('80', utf8('smds.example.com'))))));
  });

  it('decodes a ProfileDownloadTriggerResult carrying a ProfileInstallationResult and keeps its signed data', () => {
    const pirData = T('bf27', T('80', TXID), T('bf2f', '800102', '81020780', T('0c', utf8('smdp.example.com'))), '0603883701', T('a2', T('a0', T('4f', 'a0000005591010ffffffff8900000100'), '0400')));
    const hex = T('bf54', T('82', TXID), T('bf37', pirData, T('5f37', SIG)));
    const v = decode(ProfileDownloadTriggerResult, bytes(hex));
    const data = v.profileDownloadTriggerResultData;
    assert.ok('profileInstallationResult' in data);
    assert.equal(toHex(data.profileInstallationResult.profileInstallationResultData[RECEIVED]!), pirData);
    assert.equal(toHex(ProfileDownloadTriggerResult.encode(v)), hex);
  });
});
