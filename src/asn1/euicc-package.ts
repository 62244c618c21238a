/**
 * eUICC Packages (SGP.32 v1.2 §2.11.1, §5.9.1): EuiccPackageRequest (BF51) with its PSMOs and eCOs, signed
 * by the eIM, and EuiccPackageResult (BF51) with every EuiccResultData arm, signed by the eUICC.
 *
 * Tagging follows notes §0: components with a tag in the text suppress automatic tagging, so
 * `rollbackFlag NULL` is a universal 05 00 and `processingTerminated INTEGER` a universal 02;
 * `[8] AddEimResult` (an untagged CHOICE) is explicit: A8 { 84 .. | 02 .. }.
 */
import { eid, iccid, transactionId } from './common.js';
import { EimConfigurationData, EimIdType } from './eim-configuration.js';
import { ProfileInfoListRequest, ProfileInfoListResponse, RulesAuthorisationTable } from './rsp.js';
import {
  choice,
  explicit,
  implicit,
  integer,
  type Infer,
  namedInteger,
  nullFlag,
  objectIdentifier,
  octetString,
  optional,
  sequence,
  sequenceOf,
  signedPart,
  utf8String,
} from './schema.js';

const eimId = (tag: number) => utf8String(tag, { min: 1, max: 128 });
const iccidOnly = (name: string, tag: number) => sequence(name, tag, { iccid: iccid(0x5a) });

export const SetDefaultDpAddressRequest = sequence('SetDefaultDpAddressRequest', 0xbf65, { defaultDpAddress: utf8String(0x80) });

export const Psmo = choice('Psmo', {
  enable: sequence('Enable', 0xa3, { iccid: iccid(0x5a), rollbackFlag: optional(nullFlag(0x05)) }),
  disable: iccidOnly('Disable', 0xa4),
  delete: iccidOnly('Delete', 0xa5),
  listProfileInfo: ProfileInfoListRequest,
  getRAT: sequence('GetRAT', 0xa6, {}),
  configureImmediateEnable: sequence('ConfigureImmediateEnable', 0xa7, {
    immediateEnableFlag: optional(nullFlag(0x80)),
    defaultSmdpOid: optional(objectIdentifier(0x81)),
    defaultSmdpAddress: optional(utf8String(0x82)),
  }),
  setFallbackAttribute: iccidOnly('SetFallbackAttribute', 0xa8),
  unsetFallbackAttribute: sequence('UnsetFallbackAttribute', 0xa9, {}),
  setDefaultDpAddress: SetDefaultDpAddressRequest,
});
export type Psmo = Infer<typeof Psmo>;

export const Eco = choice('Eco', {
  addEim: implicit(0xa8, EimConfigurationData, 'AddEim'),
  deleteEim: sequence('DeleteEim', 0xa9, { eimId: utf8String(0x80) }),
  updateEim: implicit(0xaa, EimConfigurationData, 'UpdateEim'),
  listEim: sequence('ListEim', 0xab, {}),
});
export type Eco = Infer<typeof Eco>;

export const EuiccPackage = choice('EuiccPackage', {
  psmoList: sequenceOf('PsmoList', 0xa0, Psmo),
  ecoList: sequenceOf('EcoList', 0xa1, Eco),
});
export type EuiccPackage = Infer<typeof EuiccPackage>;

/** The part the eIM signs (notes §(c)): its DER followed by the association token TLV. */
export const EuiccPackageSigned = signedPart(
  sequence('EuiccPackageSigned', 0x30, {
    eimId: eimId(0x80),
    eidValue: eid(0x5a),
    counterValue: integer(0x81),
    eimTransactionId: optional(transactionId(0x82)),
    euiccPackage: EuiccPackage,
  }),
);
export type EuiccPackageSigned = Infer<typeof EuiccPackageSigned>;

export const EuiccPackageRequest = sequence('EuiccPackageRequest', 0xbf51, {
  euiccPackageSigned: EuiccPackageSigned,
  eimSignature: octetString(0x5f37),
});
export type EuiccPackageRequest = Infer<typeof EuiccPackageRequest>;

// ---- results ----

export const EnableProfileResult = { ok: 0, iccidOrAidNotFound: 1, profileNotInDisabledState: 2, disallowedByPolicy: 3, catBusy: 5, rollbackNotAvailable: 20, undefinedError: 127 } as const;
export const DisableProfileResult = { ok: 0, iccidOrAidNotFound: 1, profileNotInEnabledState: 2, disallowedByPolicy: 3, catBusy: 5, undefinedError: 127 } as const;
export const DeleteProfileResult = {
  ok: 0,
  iccidOrAidNotFound: 1,
  profileNotInDisabledState: 2,
  disallowedByPolicy: 3,
  rollbackNotAvailable: 20,
  returnFallbackProfile: 21,
  undefinedError: 127,
} as const;
export const ConfigureImmediateEnableResult = { ok: 0, insufficientMemory: 1, commandError: 7, undefinedError: 127 } as const;
export const AddEimResultCode = {
  ok: 0,
  insufficientMemory: 1,
  associatedEimAlreadyExists: 2,
  ciPKUnknown: 3,
  invalidAssociationToken: 5,
  counterValueOutOfRange: 6,
  commandError: 7,
  undefinedError: 127,
} as const;
export const DeleteEimResult = { ok: 0, eimNotFound: 1, lastEimDeleted: 2, commandError: 7, undefinedError: 127 } as const;
export const UpdateEimResult = { ok: 0, eimNotFound: 1, ciPKUnknown: 3, counterValueOutOfRange: 6, commandError: 7, undefinedError: 127 } as const;
export const RollbackProfileResult = { ok: 0, undefinedError: 127 } as const;
export const SetFallbackAttributeResult = { ok: 0, iccidOrAidNotFound: 1, fallbackNotAllowed: 2, fallbackProfileEnabled: 3, undefinedError: 127 } as const;
export const UnsetFallbackAttributeResult = { ok: 0, noFallbackAttribute: 2, fallbackProfileEnabled: 3, commandError: 7, undefinedError: 127 } as const;
export const ProcessingTerminated = { resultSizeOverflow: 1, unknownOrDamagedCommand: 2, interruption: 3, undefinedError: 127 } as const;
export const EuiccPackageErrorCode = { invalidEid: 3, replayError: 4, counterValueOutOfRange: 6, sizeOverflow: 15, ecallActive: 104, undefinedError: 127 } as const;

export const EimIdInfo = sequence('EimIdInfo', 0x30, { eimId: eimId(0x80), eimIdType: optional(EimIdType) });
export type EimIdInfo = Infer<typeof EimIdInfo>;

export const SetDefaultDpAddressResponse = sequence('SetDefaultDpAddressResponse', 0xbf65, {
  setDefaultDpAddressResult: namedInteger({ ok: 0, undefinedError: 127 }, 0x80),
});

export const EuiccResultData = choice('EuiccResultData', {
  enableResult: namedInteger(EnableProfileResult, 0x83),
  disableResult: namedInteger(DisableProfileResult, 0x84),
  deleteResult: namedInteger(DeleteProfileResult, 0x85),
  listProfileInfoResult: ProfileInfoListResponse,
  getRATResult: implicit(0xa6, RulesAuthorisationTable, 'GetRATResult'),
  configureImmediateEnableResult: namedInteger(ConfigureImmediateEnableResult, 0x87),
  addEimResult: explicit(0xa8, choice('AddEimResult', { associationToken: integer(0x84), addEimResultCode: namedInteger(AddEimResultCode) })),
  deleteEimResult: namedInteger(DeleteEimResult, 0x89),
  updateEimResult: namedInteger(UpdateEimResult, 0x8a),
  listEimResult: explicit(
    0xab,
    choice('ListEimResult', { eimIdList: sequenceOf('EimIdList', 0xa0, EimIdInfo), listEimError: namedInteger({ undefinedError: 127 }, 0x81) }),
  ),
  rollbackResult: namedInteger(RollbackProfileResult, 0x8c),
  setFallbackAttributeResult: namedInteger(SetFallbackAttributeResult, 0x8d),
  unsetFallbackAttributeResult: namedInteger(UnsetFallbackAttributeResult, 0x8e),
  processingTerminated: namedInteger(ProcessingTerminated),
  setDefaultDpAddressResult: SetDefaultDpAddressResponse,
});
export type EuiccResultData = Infer<typeof EuiccResultData>;

export const EuiccPackageResultDataSigned = signedPart(
  sequence('EuiccPackageResultDataSigned', 0x30, {
    eimId: eimId(0x80),
    counterValue: integer(0x81),
    eimTransactionId: optional(transactionId(0x82)),
    seqNumber: integer(0x83),
    euiccResult: sequenceOf('EuiccResult', 0x30, EuiccResultData),
  }),
);
export type EuiccPackageResultDataSigned = Infer<typeof EuiccPackageResultDataSigned>;

export const EuiccPackageErrorDataSigned = signedPart(
  sequence('EuiccPackageErrorDataSigned', 0x30, {
    eimId: eimId(0x80),
    counterValue: integer(0x81),
    eimTransactionId: optional(transactionId(0x82)),
    euiccPackageErrorCode: namedInteger(EuiccPackageErrorCode),
  }),
);
export type EuiccPackageErrorDataSigned = Infer<typeof EuiccPackageErrorDataSigned>;

export const EuiccPackageResult = explicit(
  0xbf51,
  choice('EuiccPackageResult', {
    euiccPackageResultSigned: sequence('EuiccPackageResultSigned', 0xa0, {
      euiccPackageResultDataSigned: EuiccPackageResultDataSigned,
      euiccSignEPR: octetString(0x5f37),
    }),
    euiccPackageErrorSigned: sequence('EuiccPackageErrorSigned', 0xa1, {
      euiccPackageErrorDataSigned: EuiccPackageErrorDataSigned,
      euiccSignEPE: octetString(0x5f37),
    }),
    euiccPackageErrorUnsigned: sequence('EuiccPackageErrorUnsigned', 0xa2, {
      eimId: eimId(0x80),
      eimTransactionId: optional(transactionId(0x82)),
      associationToken: optional(integer(0x84)),
      // Newer module (v1.3-era): euiccPackageUnsignedErrorCode [15]; decoded when present, never sent by us.
      euiccPackageUnsignedErrorCode: optional(namedInteger({ sizeOverflow: 15, undefinedError: 127 }, 0x8f)),
    }),
  }),
  'EuiccPackageResult',
);
export type EuiccPackageResult = Infer<typeof EuiccPackageResult>;

export const EuiccPackageResultList = sequenceOf('EuiccPackageResultList', 0x30, EuiccPackageResult);
