/**
 * ESipa messages (SGP.32 v1.2 §6.3, ASN.1 function binding) and their two envelopes:
 * EsipaMessageFromIpaToEim (what the eIM receives) and EsipaMessageFromEimToIpa (what it sends).
 *
 * Every message type carries the same tag as its envelope arm, so the wire shows one tag (notes §(a)).
 * Messages are sent bare: the body of an HTTP POST, a CoAP POST or an LwM2M /3443 resource is one TLV.
 * The SGP.22 objects relayed for an indirect download stay opaque and byte-exact (rsp-relay).
 */
import { eid, octet16, octet32, transactionId } from './common.js';
import { EuiccPackageRequest, EuiccPackageResult } from './euicc-package.js';
import {
  EimAcknowledgements,
  IpaEuiccDataRequest,
  IpaEuiccDataResponse,
  pendingNotificationList,
  ReceivedPendingNotification,
  ProfileDownloadTriggerRequest,
  ProfileDownloadTriggerResult,
} from './ipa-euicc-data.js';
import {
  AuthenticateServerResponse,
  BoundProfilePackage,
  CancelSessionResponseOpaqueBody,
  CtxParams1,
  EUICCInfo1,
  PrepareDownloadResponse,
  ServerSigned1,
  SmdpSigned2,
  StoreMetadataRequest,
} from './rsp.js';
import { choice, explicit, type Infer, namedInteger, nullFlag, octetString, opaque, optional, sequence, utf8String } from './schema.js';

// ---- profile download relay (indirect download, §3.2.3.2) ----

export const InitiateAuthenticationRequestEsipa = sequence('InitiateAuthenticationRequestEsipa', 0xbf39, {
  euiccChallenge: octet16(0x81),
  smdpAddress: optional(utf8String(0x83)),
  euiccInfo1: optional(EUICCInfo1),
  eimTransactionId: optional(transactionId(0x82)),
});
export type InitiateAuthenticationRequestEsipa = Infer<typeof InitiateAuthenticationRequestEsipa>;

export const InitiateAuthenticationErrorEsipa = {
  invalidDpAddress: 1,
  euiccVersionNotSupportedByDp: 2,
  ciPKIdNotSupported: 3,
  smdpAddressMismatch: 50,
  smdpOidMismatch: 51,
  invalidEimTransactionId: 52,
  undefinedError: 127,
} as const;

export const InitiateAuthenticationOkEsipa = sequence('InitiateAuthenticationOkEsipa', 0xa0, {
  transactionId: optional(transactionId(0x80)),
  serverSigned1: ServerSigned1,
  serverSignature1: octetString(0x5f37),
  euiccCiPKIdentifierToBeUsed: octetString(0x04),
  serverCertificate: opaque('Certificate', [0x30]),
  matchingId: optional(utf8String(0x0c)),
  ctxParams1: optional(explicit(0xa2, CtxParams1)),
});
export type InitiateAuthenticationOkEsipa = Infer<typeof InitiateAuthenticationOkEsipa>;

export const InitiateAuthenticationResponseEsipa = explicit(
  0xbf39,
  choice('InitiateAuthenticationResponseEsipa', {
    initiateAuthenticationOkEsipa: InitiateAuthenticationOkEsipa,
    initiateAuthenticationErrorEsipa: namedInteger(InitiateAuthenticationErrorEsipa, 0x81),
  }),
  'InitiateAuthenticationResponseEsipa',
);
export type InitiateAuthenticationResponseEsipa = Infer<typeof InitiateAuthenticationResponseEsipa>;

export const AuthenticateClientRequestEsipa = sequence('AuthenticateClientRequestEsipa', 0xbf3b, {
  transactionId: transactionId(0x80),
  authenticateServerResponse: AuthenticateServerResponse,
});
export type AuthenticateClientRequestEsipa = Infer<typeof AuthenticateClientRequestEsipa>;

export const AuthenticateClientErrorEsipa = {
  eumCertificateInvalid: 1,
  eumCertificateExpired: 2,
  euiccCertificateInvalid: 3,
  euiccCertificateExpired: 4,
  euiccSignatureInvalid: 5,
  matchingIdRefused: 6,
  eidMismatch: 7,
  noEligibleProfile: 8,
  ciPKUnknown: 9,
  invalidTransactionId: 10,
  insufficientMemory: 11,
  downloadOrderExpired: 18,
  pprNotAllowed: 50,
  eventIdUnknown: 56,
  undefinedError: 127,
} as const;

export const AuthenticateClientOkDPEsipa = sequence('AuthenticateClientOkDPEsipa', 0xa0, {
  transactionId: optional(transactionId(0x80)),
  profileMetaData: optional(StoreMetadataRequest),
  smdpSigned2: SmdpSigned2,
  smdpSignature2: octetString(0x5f37),
  smdpCertificate: opaque('Certificate', [0x30]),
  hashCc: optional(octet32(0x04)),
});
export type AuthenticateClientOkDPEsipa = Infer<typeof AuthenticateClientOkDPEsipa>;

export const AuthenticateClientResponseEsipa = explicit(
  0xbf3b,
  choice('AuthenticateClientResponseEsipa', {
    authenticateClientOkDPEsipa: AuthenticateClientOkDPEsipa,
    authenticateClientOkDSEsipa: sequence('AuthenticateClientOkDSEsipa', 0xa1, {
      transactionId: transactionId(0x80),
      profileDownloadTrigger: optional(ProfileDownloadTriggerRequest),
    }),
    authenticateClientErrorEsipa: namedInteger(AuthenticateClientErrorEsipa, 0x82),
  }),
  'AuthenticateClientResponseEsipa',
);
export type AuthenticateClientResponseEsipa = Infer<typeof AuthenticateClientResponseEsipa>;

export const GetBoundProfilePackageRequestEsipa = sequence('GetBoundProfilePackageRequestEsipa', 0xbf3a, {
  transactionId: transactionId(0x80),
  prepareDownloadResponse: PrepareDownloadResponse,
});
export type GetBoundProfilePackageRequestEsipa = Infer<typeof GetBoundProfilePackageRequestEsipa>;

export const GetBoundProfilePackageErrorEsipa = {
  euiccSignatureInvalid: 1,
  confirmationCodeMissing: 2,
  confirmationCodeRefused: 3,
  confirmationCodeRetriesExceeded: 4,
  bppRebindingRefused: 5,
  downloadOrderExpired: 6,
  metadataMismatch: 50,
  invalidTransactionId: 95,
  undefinedError: 127,
} as const;

export const GetBoundProfilePackageResponseEsipa = explicit(
  0xbf3a,
  choice('GetBoundProfilePackageResponseEsipa', {
    getBoundProfilePackageOkEsipa: sequence('GetBoundProfilePackageOkEsipa', 0xa0, {
      transactionId: optional(transactionId(0x80)),
      boundProfilePackage: BoundProfilePackage,
    }),
    getBoundProfilePackageErrorEsipa: namedInteger(GetBoundProfilePackageErrorEsipa, 0x81),
  }),
  'GetBoundProfilePackageResponseEsipa',
);
export type GetBoundProfilePackageResponseEsipa = Infer<typeof GetBoundProfilePackageResponseEsipa>;

/**
 * `cancelSessionResponse SGP32-CancelSessionResponse` gets the automatic tag [1], which replaces the
 * referenced [65] (notes §0 rule 3): A1 { chosen alternative }. The value is the BF41 form, ready for ES9+.
 */
export const CancelSessionRequestEsipa = sequence('CancelSessionRequestEsipa', 0xbf41, {
  transactionId: transactionId(0x80),
  cancelSessionResponse: CancelSessionResponseOpaqueBody,
});
export type CancelSessionRequestEsipa = Infer<typeof CancelSessionRequestEsipa>;

export const CancelSessionErrorEsipa = { invalidTransactionId: 1, euiccSignatureInvalid: 2, undefinedError: 127 } as const;

export const CancelSessionResponseEsipa = explicit(
  0xbf41,
  choice('CancelSessionResponseEsipa', {
    cancelSessionOk: sequence('CancelSessionOk', 0xa0, {}),
    cancelSessionError: namedInteger(CancelSessionErrorEsipa, 0x81),
  }),
  'CancelSessionResponseEsipa',
);
export type CancelSessionResponseEsipa = Infer<typeof CancelSessionResponseEsipa>;

// ---- eIM package functions ----

export const StateChangeCause = {
  otherEim: 0,
  fallback: 1,
  emergencyProfile: 2,
  local: 3,
  reset: 4,
  immediateEnableProfile: 5,
  deviceChange: 6,
  undefined: 127,
} as const;

export const GetEimPackageRequest = sequence('GetEimPackageRequest', 0xbf4f, {
  eidValue: eid(0x5a),
  notifyStateChange: optional(nullFlag(0x80)),
  stateChangeCause: optional(namedInteger(StateChangeCause, 0x81)),
  rPLMN: optional(octetString(0x82, { min: 3, max: 3 })),
});
export type GetEimPackageRequest = Infer<typeof GetEimPackageRequest>;

export const EimPackageError = { noEimPackageAvailable: 1, eidNotFound: 2, invalidEid: 3, missingEid: 4, undefinedError: 127 } as const;

export const GetEimPackageResponse = explicit(
  0xbf4f,
  choice('GetEimPackageResponse', {
    euiccPackageRequest: EuiccPackageRequest,
    ipaEuiccDataRequest: IpaEuiccDataRequest,
    profileDownloadTriggerRequest: ProfileDownloadTriggerRequest,
    eimPackageError: namedInteger(EimPackageError),
  }),
  'GetEimPackageResponse',
);
export type GetEimPackageResponse = Infer<typeof GetEimPackageResponse>;

/** `ePRAndNotifications SEQUENCE { [81] EuiccPackageResult, notificationList [0] PendingNotificationList }` (30). */
export const EPRAndNotifications = sequence('EPRAndNotifications', 0x30, {
  euiccPackageResult: EuiccPackageResult,
  notificationList: pendingNotificationList(0xa0),
});
export type EPRAndNotifications = Infer<typeof EPRAndNotifications>;

export const EimPackageResultErrorCode = { invalidPackageFormat: 1, unknownPackage: 2, undefinedError: 127 } as const;

export const EimPackageResult = choice('EimPackageResult', {
  euiccPackageResult: EuiccPackageResult,
  ePRAndNotifications: EPRAndNotifications,
  ipaEuiccDataResponse: IpaEuiccDataResponse,
  profileDownloadTriggerResult: ProfileDownloadTriggerResult,
  eimPackageResultResponseError: sequence('EimPackageResultResponseError', 0xa0, {
    eimTransactionId: optional(transactionId(0x80)),
    eimPackageResultErrorCode: namedInteger(EimPackageResultErrorCode),
  }),
});
export type EimPackageResult = Infer<typeof EimPackageResult>;

/** v1.2 adds the optional eidValue; a v1.0 IPA's bare result decodes as the same SEQUENCE without it. */
export const ProvideEimPackageResult = sequence('ProvideEimPackageResult', 0xbf50, {
  eidValue: optional(eid(0x5a)),
  eimPackageResult: EimPackageResult,
});
export type ProvideEimPackageResult = Infer<typeof ProvideEimPackageResult>;

export const ProvideEimPackageResultError = { eidNotFound: 2, invalidEid: 3, missingEid: 4, undefinedError: 127 } as const;

export const ProvideEimPackageResultResponse = explicit(
  0xbf50,
  choice('ProvideEimPackageResultResponse', {
    eimAcknowledgements: EimAcknowledgements,
    emptyResponse: sequence('EmptyResponse', 0x30, {}),
    provideEimPackageResultError: namedInteger(ProvideEimPackageResultError),
  }),
  'ProvideEimPackageResultResponse',
);
export type ProvideEimPackageResultResponse = Infer<typeof ProvideEimPackageResultResponse>;

export const HandleNotificationEsipa = explicit(
  0xbf3d,
  choice('HandleNotificationEsipa', {
    pendingNotification: explicit(0xa0, ReceivedPendingNotification),
    provideEimPackageResult: ProvideEimPackageResult,
  }),
  'HandleNotificationEsipa',
);
export type HandleNotificationEsipa = Infer<typeof HandleNotificationEsipa>;

export const TransferEimPackageRequest = explicit(
  0xbf4e,
  choice('TransferEimPackageRequest', {
    euiccPackageRequest: EuiccPackageRequest,
    ipaEuiccDataRequest: IpaEuiccDataRequest,
    eimAcknowledgements: EimAcknowledgements,
    profileDownloadTriggerRequest: ProfileDownloadTriggerRequest,
  }),
  'TransferEimPackageRequest',
);
export type TransferEimPackageRequest = Infer<typeof TransferEimPackageRequest>;

export const TransferEimPackageResponse = explicit(
  0xbf4e,
  choice('TransferEimPackageResponse', {
    euiccPackageResult: EuiccPackageResult,
    ePRAndNotifications: EPRAndNotifications,
    ipaEuiccDataResponse: IpaEuiccDataResponse,
    eimPackageReceived: nullFlag(0x05),
    eimPackageError: namedInteger(EimPackageResultErrorCode),
  }),
  'TransferEimPackageResponse',
);
export type TransferEimPackageResponse = Infer<typeof TransferEimPackageResponse>;

// ---- envelopes ----

export const EsipaMessageFromIpaToEim = choice('EsipaMessageFromIpaToEim', {
  initiateAuthenticationRequestEsipa: InitiateAuthenticationRequestEsipa,
  authenticateClientRequestEsipa: AuthenticateClientRequestEsipa,
  getBoundProfilePackageRequestEsipa: GetBoundProfilePackageRequestEsipa,
  cancelSessionRequestEsipa: CancelSessionRequestEsipa,
  handleNotificationEsipa: HandleNotificationEsipa,
  transferEimPackageResponse: TransferEimPackageResponse,
  getEimPackageRequest: GetEimPackageRequest,
  provideEimPackageResult: ProvideEimPackageResult,
});
export type EsipaMessageFromIpaToEim = Infer<typeof EsipaMessageFromIpaToEim>;

export const EsipaMessageFromEimToIpa = choice('EsipaMessageFromEimToIpa', {
  initiateAuthenticationResponseEsipa: InitiateAuthenticationResponseEsipa,
  authenticateClientResponseEsipa: AuthenticateClientResponseEsipa,
  getBoundProfilePackageResponseEsipa: GetBoundProfilePackageResponseEsipa,
  cancelSessionResponseEsipa: CancelSessionResponseEsipa,
  transferEimPackageRequest: TransferEimPackageRequest,
  getEimPackageResponse: GetEimPackageResponse,
  provideEimPackageResultResponse: ProvideEimPackageResultResponse,
});
export type EsipaMessageFromEimToIpa = Infer<typeof EsipaMessageFromEimToIpa>;
