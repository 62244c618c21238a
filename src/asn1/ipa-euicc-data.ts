/**
 * eUICC data requests (SGP.32 v1.2 §2.11.3, §5.14): IpaEuiccDataRequest (BF52) and IpaEuiccDataResponse
 * (BF52) with every IpaEuiccData member, plus IpaCapabilities, ProfileDownloadTriggerRequest/Result (BF54)
 * and EimAcknowledgements (BF53).
 */
import { implicitCertificate, transactionId } from './common.js';
import { EuiccPackageResult } from './euicc-package.js';
import { DeviceInfo, EUICCInfo1, EUICCInfo2, NotificationEvent, PendingNotification, ProfileInstallationResult } from './rsp.js';
import {
  bitString,
  choice,
  explicit,
  implicit,
  integer,
  type Infer,
  namedInteger,
  nullFlag,
  octetString,
  optional,
  sequence,
  sequenceOf,
  signedPart,
  utf8String,
} from './schema.js';

export const IPA_FEATURE_BITS = [
  'directRspServerCommunication',
  'indirectRspServerCommunication',
  'eimDownloadDataHandling',
  'eimCtxParams1Generation',
  'eimProfileMetadataVerification',
  'minimizeEsipaBytes',
] as const;
export const IPA_SUPPORTED_PROTOCOL_BITS = ['ipaRetrieveHttps', 'ipaRetrieveCoaps', 'ipaInjectHttps', 'ipaInjectCoaps', 'ipaProprietary'] as const;

export const IpaCapabilities = sequence('IpaCapabilities', 0x30, {
  ipaFeatures: bitString(IPA_FEATURE_BITS, 0x80),
  ipaSupportedProtocols: optional(bitString(IPA_SUPPORTED_PROTOCOL_BITS, 0x81)),
});
export type IpaCapabilities = Infer<typeof IpaCapabilities>;

/** A PendingNotification that keeps its received TLV, so it is stored and forwarded byte-exact. */
export const ReceivedPendingNotification = signedPart(PendingNotification);

/** `PendingNotificationList ::= SEQUENCE OF PendingNotification`, here under an implicit tag. */
export const pendingNotificationList = (tag: number) => sequenceOf('PendingNotificationList', tag, ReceivedPendingNotification);

export const IpaEuiccDataRequest = sequence('IpaEuiccDataRequest', 0xbf52, {
  tagList: octetString(0x5c),
  euiccCiPKIdentifierToBeUsed: optional(octetString(0x04)),
  searchCriteriaNotification: optional(
    explicit(0xa1, choice('SearchCriteriaNotification', { seqNumber: integer(0x80), profileManagementOperation: implicit(0x81, NotificationEvent) })),
  ),
  searchCriteriaEuiccPackageResult: optional(explicit(0xa2, choice('SearchCriteriaEuiccPackageResult', { seqNumber: integer(0x80) }))),
  eimTransactionId: optional(transactionId(0x83)),
});
export type IpaEuiccDataRequest = Infer<typeof IpaEuiccDataRequest>;

export const IpaEuiccData = sequence('IpaEuiccData', 0xa0, {
  notificationsList: optional(pendingNotificationList(0xa0)),
  defaultSmdpAddress: optional(utf8String(0x81)),
  euiccPackageResultList: optional(sequenceOf('EuiccPackageResultList', 0xa2, EuiccPackageResult)),
  euiccInfo1: optional(EUICCInfo1),
  euiccInfo2: optional(EUICCInfo2),
  rootSmdsAddress: optional(utf8String(0x83)),
  associationToken: optional(integer(0x84)),
  eumCertificate: optional(implicitCertificate(0xa5)),
  euiccCertificate: optional(implicitCertificate(0xa6)),
  eimTransactionId: optional(transactionId(0x87)),
  ipaCapabilities: optional(implicit(0xa8, IpaCapabilities)),
  deviceInfo: optional(implicit(0xa9, DeviceInfo)),
});
export type IpaEuiccData = Infer<typeof IpaEuiccData>;

export const IpaEuiccDataErrorCode = { incorrectTagList: 1, euiccCiPKIdNotFound: 5, ecallActive: 104, undefinedError: 127 } as const;

export const IpaEuiccDataResponse = explicit(
  0xbf52,
  choice('IpaEuiccDataResponse', {
    ipaEuiccData: IpaEuiccData,
    ipaEuiccDataResponseError: sequence('IpaEuiccDataResponseError', 0xa1, {
      eimTransactionId: optional(transactionId(0x80)),
      ipaEuiccDataErrorCode: namedInteger(IpaEuiccDataErrorCode),
    }),
  }),
  'IpaEuiccDataResponse',
);
export type IpaEuiccDataResponse = Infer<typeof IpaEuiccDataResponse>;

export const ProfileDownloadData = choice('ProfileDownloadData', {
  activationCode: utf8String(0x80, { max: 255 }),
  contactDefaultSmdp: nullFlag(0x81),
  contactSmds: sequence('ContactSmds', 0xa2, { smdsAddress: optional(utf8String(0x80)) }),
});
export type ProfileDownloadData = Infer<typeof ProfileDownloadData>;

export const ProfileDownloadTriggerRequest = sequence('ProfileDownloadTriggerRequest', 0xbf54, {
  profileDownloadData: optional(explicit(0xa0, ProfileDownloadData)),
  eimTransactionId: optional(transactionId(0x82)),
});
export type ProfileDownloadTriggerRequest = Infer<typeof ProfileDownloadTriggerRequest>;

export const ProfileDownloadErrorReason = { ecallActive: 104, undefinedError: 127 } as const;

export const ProfileDownloadTriggerResult = sequence('ProfileDownloadTriggerResult', 0xbf54, {
  eimTransactionId: optional(transactionId(0x82)),
  profileDownloadTriggerResultData: choice('ProfileDownloadTriggerResultData', {
    profileInstallationResult: ProfileInstallationResult,
    profileDownloadError: sequence('ProfileDownloadError', 0x30, {
      profileDownloadErrorReason: namedInteger(ProfileDownloadErrorReason, 0x80),
      errorResponse: optional(octetString(0x04)),
    }),
  }),
});
export type ProfileDownloadTriggerResult = Infer<typeof ProfileDownloadTriggerResult>;

/** `EimAcknowledgements ::= [83] SEQUENCE OF SequenceNumber`, `SequenceNumber ::= [0] INTEGER`. */
export const EimAcknowledgements = sequenceOf('EimAcknowledgements', 0xbf53, integer(0x80));
export type EimAcknowledgements = Infer<typeof EimAcknowledgements>;
