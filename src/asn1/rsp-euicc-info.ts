/**
 * eUICC and device description types of SGP.22 v2.5 (RSPDefinitions) and SGP.32 v1.2: EUICCInfo1 (BF20),
 * SGP32-EUICCInfo2 (BF22, with ipaMode and iotSpecificInfo), UICCCapability (PEDefinitions), RspCapability,
 * CertificationDataObject, DeviceInfo/DeviceCapabilities and CtxParams1.
 *
 * Tagging (shared notes §0): DeviceInfo, DeviceCapabilities, CertificationDataObject and
 * CtxParamsForCommonAuthentication carry no tag in their text, so AUTOMATIC TAGS numbers their
 * components (80, 81, ...). EUICCInfo2 writes tags on most components, so its untagged ppVersion and
 * sasAcreditationNumber keep their universal tags 04 and 0C.
 */
import { versionType } from './common.js';
import { bitString, choice, type Infer, implicit, integer, namedInteger, nullFlag, octetString, optional, sequence, sequenceOf, utf8String } from './schema.js';
import { PprIds } from './rsp-profile.js';

/** `SubjectKeyIdentifier ::= OCTET STRING` (RFC 5280), the CI key identifiers of the eUICC. */
const subjectKeyIdentifierList = (tag: number, typeName: string) => sequenceOf(typeName, tag, octetString());

export const UICC_CAPABILITY = [
  'contactlessSupport', 'usimSupport', 'isimSupport', 'csimSupport', 'akaMilenage', 'akaCave', 'akaTuak128', 'akaTuak256',
  'usimTestAlgorithm', 'rfu2', 'gbaAuthenUsim', 'gbaAuthenISim', 'mbmsAuthenUsim', 'eapClient', 'javacard', 'multos',
  'multipleUsimSupport', 'multipleIsimSupport', 'multipleCsimSupport', 'berTlvFileSupport', 'dfLinkSupport', 'catTp',
  'getIdentity', 'profile-a-x25519', 'profile-b-p256', 'suciCalculatorApi', 'dns-resolution', 'scp11ac',
  'scp11c-authorization-mechanism', 's16mode', 'eaka', 'iotminimal',
] as const;
/** `UICCCapability ::= BIT STRING {...}` from PEDefinitions (version three), bits 0..31. */
export const UICCCapability = bitString(UICC_CAPABILITY);
export type UICCCapability = Infer<typeof UICCCapability>;

export const RSP_CAPABILITY = [
  'additionalProfile', 'crlSupport', 'rpmSupport', 'testProfileSupport', 'deviceInfoExtensibilitySupport', 'serviceSpecificDataSupport',
] as const;
/** `RspCapability ::= BIT STRING {...}` (SGP.22 v2.5). */
export const RspCapability = bitString(RSP_CAPABILITY);
export type RspCapability = Infer<typeof RspCapability>;

/** `CertificationDataObject ::= SEQUENCE { platformLabel UTF8String, discoveryBaseURL UTF8String }` (automatic tags 80, 81). */
export const CertificationDataObject = sequence('CertificationDataObject', 0x30, {
  platformLabel: utf8String(0x80),
  discoveryBaseURL: utf8String(0x81),
});
export type CertificationDataObject = Infer<typeof CertificationDataObject>;

/** `EUICCInfo1 ::= [32] SEQUENCE { svn [2] VersionType, euiccCiPKIdListForVerification [9] ..., euiccCiPKIdListForSigning [10] ... }` (BF20). */
export const EUICCInfo1 = sequence('EUICCInfo1', 0xbf20, {
  svn: versionType(0x82),
  euiccCiPKIdListForVerification: subjectKeyIdentifierList(0xa9, 'euiccCiPKIdListForVerification'),
  euiccCiPKIdListForSigning: subjectKeyIdentifierList(0xaa, 'euiccCiPKIdListForSigning'),
});
export type EUICCInfo1 = Infer<typeof EUICCInfo1>;

/** `IoTSpecificInfo ::= SEQUENCE { iotVersion [0] SEQUENCE OF VersionType, ecallSupported [1] NULL OPTIONAL, fallbackSupported [2] NULL OPTIONAL }`. */
export const IoTSpecificInfo = sequence('IoTSpecificInfo', 0x30, {
  iotVersion: sequenceOf('iotVersion', 0xa0, versionType(0x04)),
  ecallSupported: optional(nullFlag(0x81)),
  fallbackSupported: optional(nullFlag(0x82)),
});
export type IoTSpecificInfo = Infer<typeof IoTSpecificInfo>;

export const EUICC_CATEGORY = { other: 0, basicEuicc: 1, mediumEuicc: 2, contactlessEuicc: 3 } as const;
export const IPA_MODE = { ipad: 0, ipae: 1 } as const;
/** `IpaMode ::= INTEGER { ipad(0), ipae(1) }`. */
export const IpaMode = namedInteger(IPA_MODE);
export type IpaMode = Infer<typeof IpaMode>;

/** `SGP32-EUICCInfo2 ::= [34] SEQUENCE` (BF22): the SGP.22 v2.5 fields plus [16]..[20] of SGP.32 v1.2. */
export const EUICCInfo2 = sequence('EUICCInfo2', 0xbf22, {
  profileVersion: versionType(0x81),
  svn: versionType(0x82),
  euiccFirmwareVer: versionType(0x83),
  extCardResource: octetString(0x84),
  uiccCapability: implicit(0x85, UICCCapability),
  ts102241Version: optional(versionType(0x86)),
  globalplatformVersion: optional(versionType(0x87)),
  rspCapability: implicit(0x88, RspCapability),
  euiccCiPKIdListForVerification: subjectKeyIdentifierList(0xa9, 'euiccCiPKIdListForVerification'),
  euiccCiPKIdListForSigning: subjectKeyIdentifierList(0xaa, 'euiccCiPKIdListForSigning'),
  euiccCategory: optional(namedInteger(EUICC_CATEGORY, 0x8b)),
  forbiddenProfilePolicyRules: optional(implicit(0x99, PprIds)),
  ppVersion: versionType(0x04),
  sasAcreditationNumber: utf8String(0x0c, { max: 64 }),
  certificationDataObject: optional(implicit(0xac, CertificationDataObject)),
  treProperties: optional(bitString(['isDiscrete', 'isIntegrated', 'usesRemoteMemory'], 0x8d)),
  treProductReference: optional(utf8String(0x8e)),
  additionalEuiccProfilePackageVersions: optional(sequenceOf('additionalEuiccProfilePackageVersions', 0xaf, versionType(0x04))),
  ipaMode: optional(implicit(0x90, IpaMode)),
  euiccCiPKIdListForSigningV3: optional(subjectKeyIdentifierList(0xb1, 'euiccCiPKIdListForSigningV3')),
  additionalEuiccInfo: optional(octetString(0x92, { max: 32 })),
  highestSvn: optional(versionType(0x93)),
  iotSpecificInfo: optional(implicit(0xb4, IoTSpecificInfo)),
});
export type EUICCInfo2 = Infer<typeof EUICCInfo2>;

/** `DeviceAdditionalFeatureSupport ::= SEQUENCE { naiSupport VersionType OPTIONAL }` (automatic tag 80). */
export const DeviceAdditionalFeatureSupport = sequence('DeviceAdditionalFeatureSupport', 0x30, {
  naiSupport: optional(versionType(0x80)),
});

/** `DeviceCapabilities ::= SEQUENCE` of optional VersionTypes, automatically tagged 80..8D, then AE. */
export const DeviceCapabilities = sequence('DeviceCapabilities', 0x30, {
  gsmSupportedRelease: optional(versionType(0x80)),
  utranSupportedRelease: optional(versionType(0x81)),
  cdma2000onexSupportedRelease: optional(versionType(0x82)),
  cdma2000hrpdSupportedRelease: optional(versionType(0x83)),
  cdma2000ehrpdSupportedRelease: optional(versionType(0x84)),
  eutranEpcSupportedRelease: optional(versionType(0x85)),
  contactlessSupportedRelease: optional(versionType(0x86)),
  rspCrlSupportedVersion: optional(versionType(0x87)),
  nrEpcSupportedRelease: optional(versionType(0x88)),
  nr5gcSupportedRelease: optional(versionType(0x89)),
  eutran5gcSupportedRelease: optional(versionType(0x8a)),
  lpaSvn: optional(versionType(0x8b)),
  catSupportedClasses: optional(bitString([], 0x8c)),
  euiccFormFactorType: optional(integer(0x8d)),
  deviceAdditionalFeatureSupport: optional(implicit(0xae, DeviceAdditionalFeatureSupport)),
});
export type DeviceCapabilities = Infer<typeof DeviceCapabilities>;

/**
 * `DeviceInfo ::= SEQUENCE { tac Octet4, deviceCapabilities DeviceCapabilities, imei Octet8 OPTIONAL }`,
 * universal 30 here with automatic tags 80, A1, 82 inside; as `deviceInfo` of CtxParams1 it is `A1`.
 */
export const DeviceInfo = sequence('DeviceInfo', 0x30, {
  tac: octetString(0x80, { min: 4, max: 4 }),
  deviceCapabilities: implicit(0xa1, DeviceCapabilities),
  imei: optional(octetString(0x82, { min: 8, max: 8 })),
});
export type DeviceInfo = Infer<typeof DeviceInfo>;

/** `CtxParamsForCommonAuthentication ::= SEQUENCE { matchingId UTF8String OPTIONAL, deviceInfo DeviceInfo }` (80, A1). */
export const CtxParamsForCommonAuthentication = sequence('CtxParamsForCommonAuthentication', 0x30, {
  matchingId: optional(utf8String(0x80)),
  deviceInfo: implicit(0xa1, DeviceInfo),
});
export type CtxParamsForCommonAuthentication = Infer<typeof CtxParamsForCommonAuthentication>;

/** `CtxParams1 ::= CHOICE { ctxParamsForCommonAuthentication ... }`: the only arm is automatically tagged A0. */
export const CtxParams1 = choice('CtxParams1', {
  ctxParamsForCommonAuthentication: implicit(0xa0, CtxParamsForCommonAuthentication),
});
export type CtxParams1 = Infer<typeof CtxParams1>;
