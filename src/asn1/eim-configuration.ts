/**
 * eIM configuration data and the ES10b functions that carry it (SGP.32 v1.2 §2.11 / §5.9):
 * EimConfigurationData (payload of addEim / updateEim, AddInitialEim and GetEimConfigurationData),
 * AddInitialEimRequest/Response (BF57), GetEimConfigurationDataRequest/Response (BF55),
 * GetCertsRequest/Response (BF56) and EuiccMemoryResetRequest/Response (BF64).
 */
import {
  bitString,
  choice,
  explicit,
  implicitOpaque,
  integer,
  type Infer,
  namedInteger,
  nullFlag,
  octetString,
  optional,
  sequence,
  sequenceOf,
  utf8String,
} from './schema.js';

export const EimIdType = namedInteger({ eimIdTypeOid: 1, eimIdTypeFqdn: 2, eimIdTypeProprietary: 3 }, 0x82);

export const EIM_SUPPORTED_PROTOCOL_BITS = ['eimRetrieveHttps', 'eimRetrieveCoaps', 'eimInjectHttps', 'eimInjectCoaps', 'eimProprietary'] as const;

export const EimConfigurationData = sequence('EimConfigurationData', 0x30, {
  eimId: utf8String(0x80, { min: 1, max: 128 }),
  eimFqdn: optional(utf8String(0x81)),
  eimIdType: optional(EimIdType),
  counterValue: optional(integer(0x83)),
  associationToken: optional(integer(0x84)),
  eimPublicKeyData: optional(
    explicit(0xa5, choice('EimPublicKeyData', { eimPublicKey: implicitOpaque('SubjectPublicKeyInfo', 0xa0), eimCertificate: implicitOpaque('Certificate', 0xa1) })),
  ),
  trustedPublicKeyDataTls: optional(
    explicit(0xa6, choice('TrustedPublicKeyDataTls', { trustedEimPkTls: implicitOpaque('SubjectPublicKeyInfo', 0xa0), trustedCertificateTls: implicitOpaque('Certificate', 0xa1) })),
  ),
  eimSupportedProtocol: optional(bitString(EIM_SUPPORTED_PROTOCOL_BITS, 0x87)),
  euiccCiPKId: optional(octetString(0x88)),
  indirectProfileDownload: optional(nullFlag(0x89)),
});
export type EimConfigurationData = Infer<typeof EimConfigurationData>;

/** `AddInitialEimRequest ::= [87] SEQUENCE { eimConfigurationDataList [0] SEQUENCE OF EimConfigurationData }` */
export const AddInitialEimRequest = sequence('AddInitialEimRequest', 0xbf57, {
  eimConfigurationDataList: sequenceOf('EimConfigurationDataList', 0xa0, EimConfigurationData),
});
export type AddInitialEimRequest = Infer<typeof AddInitialEimRequest>;

export const AddInitialEimResponse = explicit(
  0xbf57,
  choice('AddInitialEimResponse', {
    addInitialEimOk: sequenceOf('AddInitialEimOk', 0xa0, choice('AddInitialEimOkItem', { associationToken: integer(0x84), addOk: nullFlag(0x05) })),
    addInitialEimError: namedInteger(
      { insufficientMemory: 1, associatedEimAlreadyExists: 2, ciPKUnknown: 3, invalidAssociationToken: 5, counterValueOutOfRange: 6, commandError: 7, undefinedError: 127 },
      0x81,
    ),
  }),
  'AddInitialEimResponse',
);
export type AddInitialEimResponse = Infer<typeof AddInitialEimResponse>;

export const GetEimConfigurationDataRequest = sequence('GetEimConfigurationDataRequest', 0xbf55, {
  searchCriteria: optional(explicit(0xa0, choice('SearchCriteria', { eimId: utf8String(0x80, { min: 1, max: 128 }) }))),
});
export type GetEimConfigurationDataRequest = Infer<typeof GetEimConfigurationDataRequest>;

export const GetEimConfigurationDataResponse = sequence('GetEimConfigurationDataResponse', 0xbf55, {
  eimConfigurationDataList: sequenceOf('EimConfigurationDataList', 0xa0, EimConfigurationData),
});
export type GetEimConfigurationDataResponse = Infer<typeof GetEimConfigurationDataResponse>;

export const GetCertsRequest = sequence('GetCertsRequest', 0xbf56, {
  euiccCiPKId: optional(octetString(0x80)),
});
export type GetCertsRequest = Infer<typeof GetCertsRequest>;

export const GetCertsResponse = explicit(
  0xbf56,
  choice('GetCertsResponse', {
    certs: sequence('Certs', 0xa0, { eumCertificate: implicitOpaque('Certificate', 0xa5), euiccCertificate: implicitOpaque('Certificate', 0xa6) }),
    getCertsError: namedInteger({ invalidCiPKId: 1, undfinedError: 127 }, 0x81),
  }),
  'GetCertsResponse',
);
export type GetCertsResponse = Infer<typeof GetCertsResponse>;

export const EuiccMemoryResetRequest = sequence('EuiccMemoryResetRequest', 0xbf64, {
  resetOptions: bitString(
    [
      'deleteOperationalProfiles',
      'deleteFieldLoadedTestProfiles',
      'resetDefaultSmdpAddress',
      'deletePreLoadedTestProfiles',
      'deleteProvisioningProfiles',
      'resetEimConfigData',
      'resetImmediateEnableConfig',
    ],
    0x82,
  ),
});
export type EuiccMemoryResetRequest = Infer<typeof EuiccMemoryResetRequest>;

export const EuiccMemoryResetResponse = sequence('EuiccMemoryResetResponse', 0xbf64, {
  resetResult: namedInteger({ ok: 0, nothingToDelete: 1, catBusy: 5, ecallActive: 104, undefinedError: 127 }, 0x80),
  resetEimResult: optional(namedInteger({ ok: 0, nothingToDelete: 1, eimResetNotSupported: 2, undefinedError: 127 }, 0x81)),
  resetImmediateEnableConfigResult: optional(namedInteger({ ok: 0, resetIECNotSupported: 1, undefinedError: 127 }, 0x82)),
});
export type EuiccMemoryResetResponse = Infer<typeof EuiccMemoryResetResponse>;
