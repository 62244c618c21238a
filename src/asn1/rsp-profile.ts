/**
 * Profile metadata types of SGP.22 v2.5 (RSPDefinitions) as SGP.32 v1.2 uses them: ProfileInfoListRequest,
 * SGP32-ProfileInfo / SGP32-ProfileInfoListResponse, SGP32-StoreMetadataRequest, the Profile Policy Rules
 * (PprIds, RulesAuthorisationTable) and their small building blocks.
 *
 * Both modules are AUTOMATIC TAGS (shared notes §0 rule 3): a SEQUENCE whose text carries no tag gets
 * [0], [1], ... (OperatorId is `80 mccMnc, 81 gid1, 82 gid2`; DpProprietaryData is `80 dpOid`), one whose
 * text carries any tag keeps the written tags and universal tags elsewhere. Tags written on a type are
 * IMPLICIT except on a CHOICE or an open type, where they are EXPLICIT (rules 1 and 2).
 */
import { iccid } from './common.js';
import {
  bitString,
  boolean,
  choice,
  explicit,
  type Infer,
  implicit,
  namedInteger,
  objectIdentifier,
  octetString,
  opaque,
  optional,
  sequence,
  sequenceOf,
  utf8String,
} from './schema.js';

// ---- named INTEGERs and BIT STRINGs (universal tags here; fields apply their own tag with implicit()) ----

export const PROFILE_STATE = { disabled: 0, enabled: 1 } as const;
/** `ProfileState ::= INTEGER {disabled(0), enabled(1)}`. */
export const ProfileState = namedInteger(PROFILE_STATE);
export type ProfileState = Infer<typeof ProfileState>;

export const PROFILE_CLASS = { test: 0, provisioning: 1, operational: 2 } as const;
/** `ProfileClass ::= INTEGER {test(0), provisioning(1), operational(2)}`. */
export const ProfileClass = namedInteger(PROFILE_CLASS);
export type ProfileClass = Infer<typeof ProfileClass>;

export const ICON_TYPE = { jpg: 0, png: 1 } as const;
/** `IconType ::= INTEGER {jpg(0), png(1)}`. */
export const IconType = namedInteger(ICON_TYPE);
export type IconType = Infer<typeof IconType>;

export const PPR_IDS = ['pprUpdateControl', 'ppr1', 'ppr2'] as const;
/** `PprIds ::= BIT STRING { pprUpdateControl(0), ppr1(1), ppr2(2) }`. */
export const PprIds = bitString(PPR_IDS);
export type PprIds = Infer<typeof PprIds>;

export const NOTIFICATION_EVENT = ['notificationInstall', 'notificationEnable', 'notificationDisable', 'notificationDelete'] as const;
/** `NotificationEvent ::= BIT STRING { notificationInstall(0), notificationEnable(1), notificationDisable(2), notificationDelete(3) }`. */
export const NotificationEvent = bitString(NOTIFICATION_EVENT);
export type NotificationEvent = Infer<typeof NotificationEvent>;

// ---- small SEQUENCEs ----

/** `NotificationConfigurationInformation ::= SEQUENCE { profileManagementOperation NotificationEvent, notificationAddress UTF8String }` (automatic tags 80, 81). */
export const NotificationConfigurationInformation = sequence('NotificationConfigurationInformation', 0x30, {
  profileManagementOperation: implicit(0x80, NotificationEvent),
  notificationAddress: utf8String(0x81),
});
export type NotificationConfigurationInformation = Infer<typeof NotificationConfigurationInformation>;

/** `OperatorId ::= SEQUENCE { mccMnc OCTET STRING (SIZE(3)), gid1 OCTET STRING OPTIONAL, gid2 OCTET STRING OPTIONAL }` (automatic tags). */
export const OperatorId = sequence('OperatorId', 0x30, {
  mccMnc: octetString(0x80, { min: 3, max: 3 }),
  gid1: optional(octetString(0x81)),
  gid2: optional(octetString(0x82)),
});
export type OperatorId = Infer<typeof OperatorId>;

/** `DpProprietaryData ::= SEQUENCE { dpOid OBJECT IDENTIFIER ... }`: automatic tags make dpOid `80`. */
export const DpProprietaryData = sequence('DpProprietaryData', 0x30, {
  dpOid: objectIdentifier(0x80),
});
export type DpProprietaryData = Infer<typeof DpProprietaryData>;

/**
 * `VendorSpecificExtension ::= SEQUENCE OF SEQUENCE { vendorOid [0] OID, vendorSpecificData [1] OPENTYPE.&Type }`.
 * A tag on an open type is EXPLICIT, so vendorSpecificData is `A1 { <any TLV> }`, carried byte-exact.
 */
export const VendorSpecificExtension = sequenceOf(
  'VendorSpecificExtension',
  0x30,
  sequence('VendorSpecificExtensionEntry', 0x30, {
    vendorOid: objectIdentifier(0x80),
    vendorSpecificData: explicit(0xa1, opaque('vendorSpecificData')),
  }),
);
export type VendorSpecificExtension = Infer<typeof VendorSpecificExtension>;

/** `ProfilePolicyAuthorisationRule ::= SEQUENCE { pprIds PprIds, allowedOperators SEQUENCE OF OperatorId, pprFlags BIT STRING {consentRequired(0)} }` (automatic tags 80, A1, 82). */
export const ProfilePolicyAuthorisationRule = sequence('ProfilePolicyAuthorisationRule', 0x30, {
  pprIds: implicit(0x80, PprIds),
  allowedOperators: sequenceOf('allowedOperators', 0xa1, OperatorId),
  pprFlags: bitString(['consentRequired'], 0x82),
});
export type ProfilePolicyAuthorisationRule = Infer<typeof ProfilePolicyAuthorisationRule>;

/**
 * `RulesAuthorisationTable ::= SEQUENCE OF ProfilePolicyAuthorisationRule`, universal 30 here; the getRAT
 * result arm `[6] RulesAuthorisationTable` is `implicit(0xa6, RulesAuthorisationTable)`.
 */
export const RulesAuthorisationTable = sequenceOf('RulesAuthorisationTable', 0x30, ProfilePolicyAuthorisationRule);
export type RulesAuthorisationTable = Infer<typeof RulesAuthorisationTable>;

// ---- ProfileInfo and the list request/response ----

const notificationConfigurationInfo = sequenceOf('notificationConfigurationInfo', 0xb6, NotificationConfigurationInformation);

/**
 * `SGP32-ProfileInfo ::= [PRIVATE 3] SEQUENCE` (E3): the SGP.22 ProfileInfo plus ecallIndication,
 * fallbackAttribute (DEFAULT FALSE: omitted when false, absent on decode means false) and fallbackAllowed.
 */
export const ProfileInfo = sequence('ProfileInfo', 0xe3, {
  iccid: optional(iccid()),
  isdpAid: optional(octetString(0x4f, { min: 1, max: 16 })),
  profileState: optional(implicit(0x9f70, ProfileState)),
  profileNickname: optional(utf8String(0x90, { max: 64 })),
  serviceProviderName: optional(utf8String(0x91, { max: 32 })),
  profileName: optional(utf8String(0x92, { max: 64 })),
  iconType: optional(implicit(0x93, IconType)),
  icon: optional(octetString(0x94, { max: 1024 })),
  profileClass: optional(implicit(0x95, ProfileClass)),
  notificationConfigurationInfo: optional(notificationConfigurationInfo),
  profileOwner: optional(implicit(0xb7, OperatorId)),
  dpProprietaryData: optional(implicit(0xb8, DpProprietaryData)),
  profilePolicyRules: optional(implicit(0x99, PprIds)),
  serviceSpecificDataStoredInEuicc: optional(implicit(0xbf22, VendorSpecificExtension)),
  ecallIndication: optional(boolean(0x9f7b)),
  fallbackAttribute: optional(boolean(0x9f26), false),
  fallbackAllowed: optional(boolean(0x9f67)),
});
export type ProfileInfo = Infer<typeof ProfileInfo>;

/**
 * `ProfileInfoListRequest ::= [45] SEQUENCE { searchCriteria [0] CHOICE {...} OPTIONAL, tagList [APPLICATION 28] OCTET STRING OPTIONAL }`
 * (BF2D). The [0] on the CHOICE is explicit: `A0 { 4F .. | 5A .. | 95 .. }`.
 */
export const ProfileInfoListRequest = sequence('ProfileInfoListRequest', 0xbf2d, {
  searchCriteria: optional(
    explicit(
      0xa0,
      choice('searchCriteria', {
        isdpAid: octetString(0x4f, { min: 1, max: 16 }),
        iccid: iccid(),
        profileClass: implicit(0x95, ProfileClass),
      }),
    ),
  ),
  tagList: optional(octetString(0x5c)),
});
export type ProfileInfoListRequest = Infer<typeof ProfileInfoListRequest>;

export const PROFILE_INFO_LIST_ERROR = { incorrectInputValues: 1, profileChangeOngoing: 11, undefinedError: 127 } as const;

/**
 * `SGP32-ProfileInfoListResponse ::= [45] CHOICE { profileInfoListOk SEQUENCE OF SGP32-ProfileInfo, profileInfoListError ... }`:
 * explicit BF2D around the automatically tagged arms `A0 { E3 ... }` / `81 01 xx`.
 */
export const ProfileInfoListResponse = explicit(
  0xbf2d,
  choice('ProfileInfoListResponse', {
    profileInfoListOk: sequenceOf('profileInfoListOk', 0xa0, ProfileInfo),
    profileInfoListError: namedInteger(PROFILE_INFO_LIST_ERROR, 0x81),
  }),
);
export type ProfileInfoListResponse = Infer<typeof ProfileInfoListResponse>;

/** `SGP32-StoreMetadataRequest ::= [37] SEQUENCE` (BF25): profile metadata the SM-DP+ sends, read by the eIM in indirect download. */
export const StoreMetadataRequest = sequence('StoreMetadataRequest', 0xbf25, {
  iccid: iccid(),
  serviceProviderName: utf8String(0x91, { max: 32 }),
  profileName: utf8String(0x92, { max: 64 }),
  iconType: optional(implicit(0x93, IconType)),
  icon: optional(octetString(0x94, { max: 1024 })),
  profileClass: optional(implicit(0x95, ProfileClass), 'operational'),
  notificationConfigurationInfo: optional(notificationConfigurationInfo),
  profileOwner: optional(implicit(0xb7, OperatorId)),
  profilePolicyRules: optional(implicit(0x99, PprIds)),
  serviceSpecificDataStoredInEuicc: optional(implicit(0xbf22, VendorSpecificExtension)),
  serviceSpecificDataNotStoredInEuicc: optional(implicit(0xbf23, VendorSpecificExtension)),
  ecallIndication: optional(boolean(0x9f7b)),
  fallbackAllowed: optional(boolean(0x9f67)),
});
export type StoreMetadataRequest = Infer<typeof StoreMetadataRequest>;
