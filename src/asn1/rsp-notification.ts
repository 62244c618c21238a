/**
 * Notifications of SGP.22 v2.5 as SGP.32 v1.2 carries them (shared notes (f)): NotificationMetadata (BF2F),
 * ProfileInstallationResultData (BF27) and ProfileInstallationResult (BF37), OtherSignedNotification,
 * the compact forms of SGP.32 §2.11 (CompactProfileInstallationResult, CompactOtherSignedNotification),
 * and SGP32-PendingNotification, the CHOICE of all four.
 *
 * The signed parts (ProfileInstallationResultData, the tbsOtherNotification NotificationMetadata) keep
 * their received bytes (schema.ts signedPart): the eUICC signature is checked over those bytes, never
 * over a re-encoding (notes §0 rule 6).
 */
import { Certificate, eid, iccid, transactionId } from './common.js';
import {
  boolean,
  choice,
  explicit,
  type Infer,
  implicit,
  integer,
  namedInteger,
  objectIdentifier,
  octetString,
  optional,
  sequence,
  signedPart,
  utf8String,
} from './schema.js';
import { NotificationEvent } from './rsp-profile.js';

/**
 * `NotificationMetadata ::= [47] SEQUENCE { seqNumber [0] INTEGER, profileManagementOperation [1] NotificationEvent,
 * notificationAddress UTF8String, iccid Iccid OPTIONAL }` (BF2F; only one bit of the operation is set).
 */
export const NotificationMetadata = sequence('NotificationMetadata', 0xbf2f, {
  seqNumber: integer(0x80),
  profileManagementOperation: implicit(0x81, NotificationEvent),
  notificationAddress: utf8String(0x0c),
  iccid: optional(iccid()),
});
export type NotificationMetadata = Infer<typeof NotificationMetadata>;

export const BPP_COMMAND_ID = {
  initialiseSecureChannel: 0,
  configureISDP: 1,
  storeMetadata: 2,
  storeMetadata2: 3,
  replaceSessionKeys: 4,
  loadProfileElements: 5,
} as const;

export const ERROR_REASON = {
  incorrectInputValues: 1,
  invalidSignature: 2,
  invalidTransactionId: 3,
  unsupportedCrtValues: 4,
  unsupportedRemoteOperationType: 5,
  unsupportedProfileClass: 6,
  scp03tStructureError: 7,
  scp03tSecurityError: 8,
  installFailedDueToIccidAlreadyExistsOnEuicc: 9,
  installFailedDueToInsufficientMemoryForProfile: 10,
  installFailedDueToInterruption: 11,
  installFailedDueToPEProcessingError: 12,
  installFailedDueToDataMismatch: 13,
  testProfileInstallFailedDueToInvalidNaaKey: 14,
  pprNotAllowed: 15,
  installFailedDueToUnknownError: 127,
} as const;

/** `SuccessResult ::= SEQUENCE { aid [APPLICATION 15] OCTET STRING (SIZE(5..16)), simaResponse OCTET STRING }`. */
export const SuccessResult = sequence('SuccessResult', 0x30, {
  aid: octetString(0x4f, { min: 5, max: 16 }),
  simaResponse: octetString(0x04),
});
export type SuccessResult = Infer<typeof SuccessResult>;

/** `ErrorResult ::= SEQUENCE { bppCommandId BppCommandId, errorReason ErrorReason, simaResponse OCTET STRING OPTIONAL }` (automatic tags 80, 81, 82). */
export const ErrorResult = sequence('ErrorResult', 0x30, {
  bppCommandId: namedInteger(BPP_COMMAND_ID, 0x80),
  errorReason: namedInteger(ERROR_REASON, 0x81),
  simaResponse: optional(octetString(0x82)),
});
export type ErrorResult = Infer<typeof ErrorResult>;

/**
 * `ProfileInstallationResultData ::= [39] SEQUENCE` (BF27): transactionId 80, notificationMetadata BF2F,
 * smdpOid 06, finalResult `A2 { A0 successResult | A1 errorResult }` (explicit tag on the CHOICE).
 * Signed by the eUICC: the decoded value keeps the received BF27 TLV.
 */
export const ProfileInstallationResultData = signedPart(
  sequence('ProfileInstallationResultData', 0xbf27, {
    transactionId: transactionId(0x80),
    notificationMetadata: NotificationMetadata,
    smdpOid: objectIdentifier(),
    finalResult: explicit(
      0xa2,
      choice('finalResult', {
        successResult: implicit(0xa0, SuccessResult),
        errorResult: implicit(0xa1, ErrorResult),
      }),
    ),
  }),
);
export type ProfileInstallationResultData = Infer<typeof ProfileInstallationResultData>;

/** `SGP32-ProfileInstallationResult ::= [55] SEQUENCE { profileInstallationResultData [39] ..., euiccSignPIR EuiccSignPIR }` (BF37). */
export const ProfileInstallationResult = sequence('ProfileInstallationResult', 0xbf37, {
  profileInstallationResultData: ProfileInstallationResultData,
  euiccSignPIR: octetString(0x5f37),
});
export type ProfileInstallationResult = Infer<typeof ProfileInstallationResult>;

/**
 * `OtherSignedNotification ::= SEQUENCE { tbsOtherNotification NotificationMetadata, euiccNotificationSignature
 * [APPLICATION 55] OCTET STRING, euiccCertificate Certificate, eumCertificate Certificate }` (30). The
 * signature covers the received BF2F TLV, kept on tbsOtherNotification.
 */
export const OtherSignedNotification = sequence('OtherSignedNotification', 0x30, {
  tbsOtherNotification: signedPart(NotificationMetadata),
  euiccNotificationSignature: octetString(0x5f37),
  euiccCertificate: Certificate,
  eumCertificate: Certificate,
});
export type OtherSignedNotification = Infer<typeof OtherSignedNotification>;

/** `CompactSuccessResult ::= SEQUENCE { compactAid [APPLICATION 15] OCTET STRING (SIZE(2)), simaResponse OCTET STRING OPTIONAL }`. */
export const CompactSuccessResult = sequence('CompactSuccessResult', 0x30, {
  compactAid: octetString(0x4f, { min: 2, max: 2 }),
  simaResponse: optional(octetString(0x04)),
});
export type CompactSuccessResult = Infer<typeof CompactSuccessResult>;

/**
 * `CompactProfileInstallationResultData ::= SEQUENCE { transactionId [0], seqNumber INTEGER, iccidPresent BOOLEAN
 * DEFAULT TRUE, compactFinalResult [2] CHOICE { compactSuccessResult, errorResult } }`: tagged text, so
 * seqNumber and iccidPresent keep universal tags; the CHOICE arms are automatically A0 / A1.
 */
export const CompactProfileInstallationResultData = sequence('CompactProfileInstallationResultData', 0x30, {
  transactionId: transactionId(0x80),
  seqNumber: integer(),
  iccidPresent: optional(boolean(), true),
  compactFinalResult: explicit(
    0xa2,
    choice('compactFinalResult', {
      compactSuccessResult: implicit(0xa0, CompactSuccessResult),
      errorResult: implicit(0xa1, ErrorResult),
    }),
  ),
});
export type CompactProfileInstallationResultData = Infer<typeof CompactProfileInstallationResultData>;

/** `CompactProfileInstallationResult ::= SEQUENCE { compactProfileInstallationResultData [0] ..., euiccSignPIR EuiccSignPIR }`. */
export const CompactProfileInstallationResult = sequence('CompactProfileInstallationResult', 0x30, {
  compactProfileInstallationResultData: implicit(0xa0, CompactProfileInstallationResultData),
  euiccSignPIR: octetString(0x5f37),
});
export type CompactProfileInstallationResult = Infer<typeof CompactProfileInstallationResult>;

/** `CompactOtherSignedNotification ::= SEQUENCE { eidValue [APPLICATION 26] Octet16 OPTIONAL, tbsOtherNotification, euiccNotificationSignature }`. */
export const CompactOtherSignedNotification = sequence('CompactOtherSignedNotification', 0x30, {
  eidValue: optional(eid()),
  tbsOtherNotification: signedPart(NotificationMetadata),
  euiccNotificationSignature: octetString(0x5f37),
});
export type CompactOtherSignedNotification = Infer<typeof CompactOtherSignedNotification>;

/**
 * `SGP32-PendingNotification ::= CHOICE { profileInstallationResult [55] (BF37), otherSignedNotification (30),
 * compactProfileInstallationResult [0] (A0), compactOtherSignedNotification [1] (A1) }`. The tags on the
 * compact arms replace the SEQUENCE tag (implicit).
 */
export const PendingNotification = choice('PendingNotification', {
  profileInstallationResult: ProfileInstallationResult,
  otherSignedNotification: OtherSignedNotification,
  compactProfileInstallationResult: implicit(0xa0, CompactProfileInstallationResult),
  compactOtherSignedNotification: implicit(0xa1, CompactOtherSignedNotification),
});
export type PendingNotification = Infer<typeof PendingNotification>;
