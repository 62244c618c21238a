/**
 * Known-answer tests of the SGP.22 types used by SGP.32 (src/asn1/rsp*.ts): each expected hex is worked out
 * by hand from the ASN.1 rules (AUTOMATIC TAGS, implicit tags on SEQUENCE/primitives, explicit on CHOICE),
 * one TLV per line with a comment.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  AuthenticateServerResponse,
  BoundProfilePackage,
  CancelSessionResponse,
  CancelSessionResponseOpaqueBody,
  CtxParams1,
  DeviceInfo,
  EUICCInfo1,
  EUICCInfo2,
  NotificationConfigurationInformation,
  NotificationEvent,
  NotificationMetadata,
  OperatorId,
  OtherSignedNotification,
  PendingNotification,
  PprIds,
  PrepareDownloadResponse,
  ProfileClass,
  ProfileInfo,
  ProfileInfoListRequest,
  ProfileInfoListResponse,
  ProfileInstallationResult,
  ProfileInstallationResultData,
  ProfileState,
  RulesAuthorisationTable,
  ServerSigned1,
  SmdpSigned2,
  StoreMetadataRequest,
} from '../../src/asn1/rsp.js';
import { transactionId } from '../../src/asn1/common.js';
import { decode, encode, implicit, sequence, signedBytes } from '../../src/asn1/schema.js';
import { fromHex, toHex } from '../../src/asn1/hex.js';
import { hex, knownAnswer } from './rsp-helpers.js';

const ICCID = '89445001020304050607'; // BCD nibble-swapped: 98 44 05 10 20 30 40 50 60 70
const ICCID_TLV = '5a0a98440510203040506070';
const SKI = 'f54172bdf98a95d65cbeb88a38a1c11d800a85c3'; // SGP.26 NIST test CI key identifier
const b = fromHex;

describe('profile types', () => {
  it('encodes ProfileState and ProfileClass by their spec names', () => {
    knownAnswer(ProfileState, 'enabled', '020101');
    knownAnswer(ProfileClass, 'operational', '020102');
    knownAnswer(implicit(0x95, ProfileClass), 'test', '950100');
  });

  it('encodes PprIds and NotificationEvent as named bit strings with trailing zero bits removed', () => {
    knownAnswer(PprIds, ['ppr1', 'ppr2'], '03020560'); // bits 1,2 -> 5 unused bits, 0110 0000
    knownAnswer(PprIds, [], '030100');
    knownAnswer(NotificationEvent, ['notificationDelete'], '03020410'); // bit 3 -> 4 unused bits, 0001 0000
  });

  it('encodes NotificationConfigurationInformation and OperatorId with automatic tags', () => {
    knownAnswer(
      NotificationConfigurationInformation,
      { profileManagementOperation: ['notificationInstall'], notificationAddress: 'smdp.example' },
      hex(`30 12
             80 02 07 80                     -- profileManagementOperation: install (bit 0)
             81 0c 736d64702e6578616d706c65  -- notificationAddress "smdp.example"`),
    );
    knownAnswer(
      OperatorId,
      { mccMnc: b('214365'), gid1: b('ab') },
      hex(`30 08
             80 03 214365  -- mccMnc
             81 01 ab      -- gid1`),
    );
  });

  it('encodes the getRAT result arm as [6] RulesAuthorisationTable', () => {
    const rat = [{ pprIds: ['ppr1', 'ppr2'], allowedOperators: [{ mccMnc: b('214365') }], pprFlags: ['consentRequired'] }];
    const body = `30 11               -- ProfilePolicyAuthorisationRule
                    80 02 05 60       -- pprIds {ppr1, ppr2}
                    a1 07             -- allowedOperators
                      30 05 80 03 214365
                    82 02 07 80       -- pprFlags {consentRequired}`;
    knownAnswer(implicit(0xa6, RulesAuthorisationTable), rat, hex(`a6 13 ${body}`));
    knownAnswer(RulesAuthorisationTable, rat, hex(`30 13 ${body}`));
  });

  const fullProfileInfo = {
    iccid: ICCID,
    isdpAid: b('a0000005591010ffffffff8900001100'),
    profileState: 'enabled',
    profileNickname: 'test',
    serviceProviderName: 'SP1',
    profileName: 'P1',
    iconType: 'png',
    icon: b('abcd'),
    profileClass: 'operational',
    notificationConfigurationInfo: [{ profileManagementOperation: ['notificationInstall'], notificationAddress: 'smdp.example' }],
    profileOwner: { mccMnc: b('214365'), gid1: b('ab') },
    dpProprietaryData: { dpOid: '2.999.10' },
    profilePolicyRules: ['ppr1'],
    serviceSpecificDataStoredInEuicc: [{ vendorOid: '2.999.10', vendorSpecificData: b('0401ff') }],
    ecallIndication: true,
    fallbackAttribute: true,
    fallbackAllowed: false,
  } satisfies ProfileInfo;
  const fullProfileInfoHex = hex(`
    e3 81 81                                     -- SGP32-ProfileInfo, 129 bytes
      ${ICCID_TLV}                               -- iccid
      4f 10 a0000005591010ffffffff8900001100     -- isdpAid
      9f70 01 01                                 -- profileState enabled
      90 04 74657374                             -- profileNickname "test"
      91 03 535031                               -- serviceProviderName "SP1"
      92 02 5031                                 -- profileName "P1"
      93 01 01                                   -- iconType png
      94 02 abcd                                 -- icon
      95 01 02                                   -- profileClass operational
      b6 14                                      -- notificationConfigurationInfo
        30 12 80 02 0780 81 0c 736d64702e6578616d706c65
      b7 08 80 03 214365 81 01 ab                -- profileOwner
      b8 05 80 03 88370a                         -- dpProprietaryData { dpOid 2.999.10 (automatic [0]) }
      99 02 06 40                                -- profilePolicyRules {ppr1}
      bf22 0c                                    -- serviceSpecificDataStoredInEuicc
        30 0a 80 03 88370a                       --   vendorOid
              a1 03 04 01 ff                     --   vendorSpecificData: explicit [1] on an open type
      9f7b 01 ff                                 -- ecallIndication
      9f26 01 ff                                 -- fallbackAttribute TRUE
      9f67 01 00                                 -- fallbackAllowed FALSE`);

  it('encodes every field of SGP32-ProfileInfo', () => {
    knownAnswer(ProfileInfo, fullProfileInfo, fullProfileInfoHex);
  });

  it('omits fallbackAttribute FALSE (its DEFAULT) when encoding ProfileInfo', () => {
    assert.equal(toHex(encode(ProfileInfo, { iccid: ICCID, fallbackAttribute: false })), `e30c${ICCID_TLV}`);
    knownAnswer(ProfileInfo, { iccid: ICCID }, `e30c${ICCID_TLV}`);
  });

  it('encodes ProfileInfoListRequest with an explicit [0] around the searchCriteria CHOICE', () => {
    knownAnswer(
      ProfileInfoListRequest,
      { searchCriteria: { iccid: ICCID }, tagList: b('5a9f70') },
      hex(`bf2d 13
             a0 0c ${ICCID_TLV}   -- searchCriteria [0] { iccid }
             5c 03 5a9f70         -- tagList`),
    );
    knownAnswer(ProfileInfoListRequest, { searchCriteria: { profileClass: 'operational' } }, hex('bf2d 05 a0 03 95 01 02'));
    knownAnswer(ProfileInfoListRequest, { searchCriteria: { isdpAid: b('a000000559') } }, hex('bf2d 09 a0 07 4f 05 a000000559'));
    knownAnswer(ProfileInfoListRequest, {}, 'bf2d00');
  });

  it('encodes both arms of SGP32-ProfileInfoListResponse', () => {
    knownAnswer(
      ProfileInfoListResponse,
      { profileInfoListOk: [{ iccid: ICCID }] },
      hex(`bf2d 10
             a0 0e                    -- profileInfoListOk (automatic [0])
               e3 0c ${ICCID_TLV}`),
    );
    knownAnswer(ProfileInfoListResponse, { profileInfoListError: 'profileChangeOngoing' }, hex('bf2d 03 81 01 0b'));
    knownAnswer(ProfileInfoListResponse, { profileInfoListOk: [] }, 'bf2d02a000');
  });

  it('encodes SGP32-StoreMetadataRequest and omits profileClass when it is the DEFAULT operational', () => {
    knownAnswer(
      StoreMetadataRequest,
      { iccid: ICCID, serviceProviderName: 'SP', profileName: 'P1', profileClass: 'provisioning', fallbackAllowed: true },
      hex(`bf25 1b
             ${ICCID_TLV}
             91 02 5350      -- serviceProviderName "SP"
             92 02 5031      -- profileName "P1"
             95 01 01        -- profileClass provisioning
             9f67 01 ff      -- fallbackAllowed`),
    );
    assert.equal(
      toHex(encode(StoreMetadataRequest, { iccid: ICCID, serviceProviderName: '', profileName: '', profileClass: 'operational' })),
      hex(`bf25 10 ${ICCID_TLV} 91 00 92 00`),
    );
  });
});

describe('eUICC and device information', () => {
  it('encodes EUICCInfo1', () => {
    knownAnswer(
      EUICCInfo1,
      { svn: b('020500'), euiccCiPKIdListForVerification: [b(SKI)], euiccCiPKIdListForSigning: [b(SKI)] },
      hex(`bf20 35
             82 03 020500          -- svn 2.5.0
             a9 16 04 14 ${SKI}    -- euiccCiPKIdListForVerification
             aa 16 04 14 ${SKI}    -- euiccCiPKIdListForSigning`),
    );
  });

  it('encodes every field of SGP32-EUICCInfo2, with universal tags on the untagged ppVersion and sasAcreditationNumber', () => {
    knownAnswer(
      EUICCInfo2,
      {
        profileVersion: b('020301'),
        svn: b('020500'),
        euiccFirmwareVer: b('010203'),
        extCardResource: b('810100'),
        uiccCapability: ['usimSupport', 'isimSupport', 'javacard'],
        ts102241Version: b('090200'),
        globalplatformVersion: b('020300'),
        rspCapability: ['additionalProfile', 'crlSupport', 'rpmSupport', 'testProfileSupport'],
        euiccCiPKIdListForVerification: [b(SKI)],
        euiccCiPKIdListForSigning: [b(SKI)],
        euiccCategory: 'basicEuicc',
        forbiddenProfilePolicyRules: ['pprUpdateControl'],
        ppVersion: b('000201'),
        sasAcreditationNumber: 'SAS',
        certificationDataObject: { platformLabel: 'PL', discoveryBaseURL: 'url' },
        treProperties: ['isIntegrated'],
        treProductReference: 'TR',
        additionalEuiccProfilePackageVersions: [b('020301')],
        ipaMode: 'ipad',
        euiccCiPKIdListForSigningV3: [b(SKI)],
        additionalEuiccInfo: b('aa'),
        highestSvn: b('020600'),
        iotSpecificInfo: { iotVersion: [b('010200')], ecallSupported: true, fallbackSupported: true },
      },
      hex(`bf22 81 b2                -- 178 bytes
             81 03 020301            -- profileVersion
             82 03 020500            -- svn
             83 03 010203            -- euiccFirmwareVer
             84 03 810100            -- extCardResource
             85 03 01 60 02          -- uiccCapability bits 1,2,14: 1 unused bit
             86 03 090200            -- ts102241Version
             87 03 020300            -- globalplatformVersion
             88 02 04 f0             -- rspCapability bits 0..3
             a9 16 04 14 ${SKI}      -- euiccCiPKIdListForVerification
             aa 16 04 14 ${SKI}      -- euiccCiPKIdListForSigning
             8b 01 01                -- euiccCategory basicEuicc
             99 02 07 80             -- forbiddenProfilePolicyRules {pprUpdateControl}
             04 03 000201            -- ppVersion (universal OCTET STRING)
             0c 03 534153            -- sasAcreditationNumber (universal UTF8String)
             ac 09 80 02 504c 81 03 75726c  -- certificationDataObject
             8d 02 06 40             -- treProperties {isIntegrated}
             8e 02 5452              -- treProductReference
             af 05 04 03 020301      -- additionalEuiccProfilePackageVersions
             90 01 00                -- ipaMode ipad
             b1 16 04 14 ${SKI}      -- euiccCiPKIdListForSigningV3
             92 01 aa                -- additionalEuiccInfo
             93 03 020600            -- highestSvn
             b4 0b                   -- iotSpecificInfo
               a0 05 04 03 010200    --   iotVersion
               81 00                 --   ecallSupported
               82 00                 --   fallbackSupported`),
    );
  });

  it('encodes DeviceInfo with automatic tags and CtxParams1 with DeviceInfo under [1]', () => {
    knownAnswer(
      DeviceInfo,
      { tac: b('35290611'), deviceCapabilities: { eutranEpcSupportedRelease: b('0b0000'), nr5gcSupportedRelease: b('0f0000') }, imei: b('3529061100000000') },
      hex(`30 1c
             80 04 35290611            -- tac
             a1 0a                     -- deviceCapabilities
               85 03 0b0000            --   eutranEpcSupportedRelease (6th component)
               89 03 0f0000            --   nr5gcSupportedRelease (10th component)
             82 08 3529061100000000    -- imei`),
    );
    knownAnswer(
      CtxParams1,
      { ctxParamsForCommonAuthentication: { matchingId: 'MID', deviceInfo: { tac: b('35290611'), deviceCapabilities: {} } } },
      hex(`a0 0f                      -- ctxParamsForCommonAuthentication (automatic [0])
             80 03 4d4944            -- matchingId "MID"
             a1 08                   -- deviceInfo (automatic [1])
               80 04 35290611
               a1 00`),
    );
  });
});

describe('notifications', () => {
  const metadataHex = hex(`bf2f 21
                             80 01 05                   -- seqNumber 5
                             81 02 06 40                -- profileManagementOperation {notificationEnable}
                             0c 0c 736d64702e6578616d706c65  -- notificationAddress
                             ${ICCID_TLV}               -- iccid`);

  it('encodes NotificationMetadata', () => {
    knownAnswer(
      NotificationMetadata,
      { seqNumber: 5, profileManagementOperation: ['notificationEnable'], notificationAddress: 'smdp.example', iccid: ICCID },
      metadataHex,
    );
  });

  const pirData = {
    transactionId: b('01'),
    notificationMetadata: { seqNumber: 1, profileManagementOperation: ['notificationInstall'], notificationAddress: 'a' },
    smdpOid: '2.999.10',
    finalResult: { successResult: { aid: b('a000000559'), simaResponse: b('9000') } },
  } satisfies ProfileInstallationResultData;
  const pirDataHex = hex(`bf27 24
                            80 01 01                      -- transactionId
                            bf2f 0a 80 01 01 81 02 07 80 0c 01 61  -- notificationMetadata
                            06 03 88370a                  -- smdpOid 2.999.10
                            a2 0d                         -- finalResult [2], explicit on the CHOICE
                              a0 0b                       --   successResult (automatic [0])
                                4f 05 a000000559          --     aid
                                04 02 9000                --     simaResponse`);
  const pirHex = hex(`bf37 2e ${pirDataHex}
                        5f37 04 01020304                  -- euiccSignPIR`);

  it('encodes ProfileInstallationResult with a successResult and keeps the received BF27 bytes', () => {
    knownAnswer(ProfileInstallationResultData, pirData, pirDataHex);
    const pir = knownAnswer(ProfileInstallationResult, { profileInstallationResultData: pirData, euiccSignPIR: b('01020304') }, pirHex);
    assert.equal(toHex(signedBytes(ProfileInstallationResultData, pir.profileInstallationResultData)), pirDataHex);
  });

  it('encodes an errorResult with bppCommandId and errorReason by spec name', () => {
    knownAnswer(
      ProfileInstallationResultData,
      { ...pirData, finalResult: { errorResult: { bppCommandId: 'loadProfileElements', errorReason: 'pprNotAllowed', simaResponse: b('00') } } },
      hex(`bf27 22 80 01 01 bf2f 0a 80 01 01 81 02 07 80 0c 01 61 06 03 88370a
             a2 0b a1 09               -- errorResult (automatic [1])
               80 01 05                -- bppCommandId loadProfileElements
               81 01 0f                -- errorReason pprNotAllowed
               82 01 00                -- simaResponse`),
    );
  });

  const otherHex = hex(`30 1c
                          bf2f 0a 80 01 01 81 02 06 40 0c 01 61  -- tbsOtherNotification
                          5f37 02 aabb                         -- euiccNotificationSignature
                          30 03 020101                         -- euiccCertificate (stand-in TLV)
                          30 03 020102                         -- eumCertificate (stand-in TLV)`);
  const other = {
    tbsOtherNotification: { seqNumber: 1, profileManagementOperation: ['notificationEnable'], notificationAddress: 'a' },
    euiccNotificationSignature: b('aabb'),
    euiccCertificate: b('3003020101'),
    eumCertificate: b('3003020102'),
  } satisfies OtherSignedNotification;

  it('encodes OtherSignedNotification and keeps the received tbsOtherNotification bytes', () => {
    const v = knownAnswer(OtherSignedNotification, other, otherHex);
    assert.equal(toHex(signedBytes(NotificationMetadata, v.tbsOtherNotification)), otherHex.slice(4, 4 + 26));
  });

  it('decodes every arm of SGP32-PendingNotification, including the compact forms', () => {
    knownAnswer(PendingNotification, { profileInstallationResult: { profileInstallationResultData: pirData, euiccSignPIR: b('01020304') } }, pirHex);
    knownAnswer(PendingNotification, { otherSignedNotification: other }, otherHex);
    knownAnswer(
      PendingNotification,
      {
        compactProfileInstallationResult: {
          compactProfileInstallationResultData: {
            transactionId: b('01'),
            seqNumber: 7,
            iccidPresent: false,
            compactFinalResult: { compactSuccessResult: { compactAid: b('1000') } },
          },
          euiccSignPIR: b('aabb'),
        },
      },
      hex(`a0 18                        -- compactProfileInstallationResult [0]
             a0 11                      --   compactProfileInstallationResultData [0]
               80 01 01                 --     transactionId
               02 01 07                 --     seqNumber (universal INTEGER)
               01 01 00                 --     iccidPresent FALSE (DEFAULT TRUE)
               a2 06 a0 04 4f 02 1000   --     compactFinalResult { compactSuccessResult { compactAid } }
             5f37 02 aabb               --   euiccSignPIR`),
    );
    knownAnswer(
      PendingNotification,
      {
        compactOtherSignedNotification: {
          eidValue: '89049032123451234512345678901235',
          tbsOtherNotification: other.tbsOtherNotification,
          euiccNotificationSignature: b('aabb'),
        },
      },
      hex(`a1 24                                      -- compactOtherSignedNotification [1]
             5a 10 89049032123451234512345678901235   -- eidValue
             bf2f 0a 80 01 01 81 02 06 40 0c 01 61    -- tbsOtherNotification
             5f37 02 aabb                             -- euiccNotificationSignature`),
    );
  });

  it('omits iccidPresent TRUE (its DEFAULT) in a compact PIR', () => {
    const v = {
      compactProfileInstallationResult: {
        compactProfileInstallationResultData: { transactionId: b('01'), seqNumber: 7, iccidPresent: true, compactFinalResult: { compactSuccessResult: { compactAid: b('1000') } } },
        euiccSignPIR: b('aabb'),
      },
    };
    assert.equal(toHex(encode(PendingNotification, v)), hex('a0 15 a0 0e 80 01 01 02 01 07 a2 06 a0 04 4f 02 1000 5f37 02 aabb'));
  });
});

describe('download objects the eIM relays', () => {
  it('encodes ServerSigned1 and SmdpSigned2 and keeps their received bytes', () => {
    const ss1Hex = hex(`30 2a
                          80 01 01                                  -- transactionId
                          81 10 ${'11'.repeat(16)}                  -- euiccChallenge
                          83 01 61                                  -- serverAddress "a"
                          84 10 ${'22'.repeat(16)}                  -- serverChallenge`);
    const ss1 = knownAnswer(
      ServerSigned1,
      { transactionId: b('01'), euiccChallenge: b('11'.repeat(16)), serverAddress: 'a', serverChallenge: b('22'.repeat(16)) },
      ss1Hex,
    );
    assert.equal(toHex(signedBytes(ServerSigned1, ss1)), ss1Hex);
    const sd2 = knownAnswer(
      SmdpSigned2,
      { transactionId: b('01'), ccRequiredFlag: true, bppEuiccOtpk: b('040102') },
      hex(`30 0c
             80 01 01           -- transactionId
             01 01 ff           -- ccRequiredFlag (universal BOOLEAN)
             5f49 03 040102     -- bppEuiccOtpk`),
    );
    assert.equal(toHex(signedBytes(SmdpSigned2, sd2)), '300c8001010101ff5f4903040102');
  });

  it('carries the eUICC responses and the BPP byte-exact and rejects other tags', () => {
    for (const [codec, h] of [
      [AuthenticateServerResponse, 'bf3808a106800101810107'], // authenticateResponseError {txId 01, code 7}
      [PrepareDownloadResponse, 'bf2108a106800101810105'],
      [BoundProfilePackage, 'bf3609bf2300a000a100a300'], // BF23, A0, A1, A3 all empty
      [CancelSessionResponse, 'bf4103810105'],
    ] as const) {
      knownAnswer(codec, fromHex(h), h);
      assert.throws(() => decode(codec, fromHex('bf2200')), { name: 'DecodeError', offset: 0 });
      assert.throws(() => encode(codec, fromHex('bf2200')), { name: 'EncodeError' });
    }
  });

  it('carries a cancelSessionResponse implicitly retagged A1 inside a request and hands it over as BF41', () => {
    const request = sequence('CancelSessionRequestEsipa', 0xbf41, { transactionId: transactionId(0x80), cancelSessionResponse: CancelSessionResponseOpaqueBody });
    const v = knownAnswer(
      request,
      { transactionId: b('01'), cancelSessionResponse: b('bf4103810105') },
      hex(`bf41 08
             80 01 01            -- transactionId
             a1 03 81 01 05      -- cancelSessionResponse [1]: replaces BF41, arm cancelSessionResponseError 5`),
    );
    assert.equal(toHex(v.cancelSessionResponse), 'bf4103810105');
    assert.throws(() => encode(CancelSessionResponseOpaqueBody, fromHex('bf3803810105')), { name: 'EncodeError' });
    assert.throws(() => decode(request, fromHex('bf4109800101bf4103810105')), { name: 'DecodeError', offset: 6 });
  });
});
