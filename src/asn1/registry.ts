/**
 * The types a user can name (`eim decode --as X`, `eim encode --as X`) and the auto-detection of a message
 * from its first tag. The two ESipa envelopes come first: they cover every message on the wire; the
 * ES10b and SGP.22 types follow for what IPAs and labs exchange outside ESipa.
 */
import { DecodeError } from './errors.js';
import {
  AddInitialEimRequest,
  AddInitialEimResponse,
  EimConfigurationData,
  EuiccMemoryResetRequest,
  EuiccMemoryResetResponse,
  GetCertsRequest,
  GetCertsResponse,
  GetEimConfigurationDataRequest,
  GetEimConfigurationDataResponse,
} from './eim-configuration.js';
import { EsipaMessageFromEimToIpa, EsipaMessageFromIpaToEim } from './esipa.js';
import { EuiccPackageRequest, EuiccPackageResult, EuiccPackageSigned } from './euicc-package.js';
import {
  EimAcknowledgements,
  IpaCapabilities,
  IpaEuiccDataRequest,
  IpaEuiccDataResponse,
  ProfileDownloadTriggerRequest,
  ProfileDownloadTriggerResult,
} from './ipa-euicc-data.js';
import {
  DeviceInfo,
  EUICCInfo1,
  EUICCInfo2,
  NotificationMetadata,
  PendingNotification,
  ProfileInfo,
  ProfileInfoListRequest,
  ProfileInfoListResponse,
  ProfileInstallationResult,
} from './rsp.js';
import { type Codec, decode, type DecodeWarning } from './schema.js';
import { readSingle } from './tlv.js';

export const TYPES: Readonly<Record<string, Codec<unknown>>> = {
  EsipaMessageFromIpaToEim,
  EsipaMessageFromEimToIpa,
  EuiccPackageRequest,
  EuiccPackageResult,
  EuiccPackageSigned,
  IpaEuiccDataRequest,
  IpaEuiccDataResponse,
  ProfileDownloadTriggerRequest,
  ProfileDownloadTriggerResult,
  EimAcknowledgements,
  EimConfigurationData,
  AddInitialEimRequest,
  AddInitialEimResponse,
  GetEimConfigurationDataRequest,
  GetEimConfigurationDataResponse,
  GetCertsRequest,
  GetCertsResponse,
  EuiccMemoryResetRequest,
  EuiccMemoryResetResponse,
  PendingNotification,
  ProfileInstallationResult,
  NotificationMetadata,
  ProfileInfoListRequest,
  ProfileInfoListResponse,
  ProfileInfo,
  EUICCInfo1,
  EUICCInfo2,
  IpaCapabilities,
  DeviceInfo,
} as Record<string, Codec<unknown>>;

export interface Detected {
  readonly type: string;
  readonly value: unknown;
  readonly warnings: DecodeWarning[];
}

/** Looks a type up by name, case-insensitively; undefined when unknown. */
export function typeByName(name: string): [string, Codec<unknown>] | undefined {
  const key = Object.keys(TYPES).find((k) => k.toLowerCase() === name.toLowerCase());
  return key === undefined ? undefined : [key, TYPES[key]!];
}

/**
 * Decodes `bytes` as the first type whose tag matches and that decodes without warnings (else the first that
 * decodes at all). The same tag can mean a request or a response (BF39, BF51...), hence the trial order.
 */
export function detectAndDecode(bytes: Uint8Array): Detected {
  const outer = readSingle(bytes);
  let fallback: Detected | undefined;
  let firstError: DecodeError | undefined;
  for (const [type, codec] of Object.entries(TYPES)) {
    if (!codec.accepts(outer.tag)) continue;
    const warnings: DecodeWarning[] = [];
    try {
      const value = decode(codec, bytes, warnings);
      if (warnings.length === 0) return { type, value, warnings };
      fallback ??= { type, value, warnings };
    } catch (e) {
      if (!(e instanceof DecodeError)) throw e;
      firstError ??= e;
    }
  }
  if (fallback !== undefined) return fallback;
  throw firstError ?? new DecodeError(`no known SGP.32/SGP.22 type starts with tag ${outer.tag.toString(16).toUpperCase()}`, 0);
}
