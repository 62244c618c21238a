/**
 * What a verified result means for the eIM's view of an eUICC (SGP.32 v1.2 §2.11.2, result codes in notes
 * §(g)): the operation's outcome and the profile, association and eUICC changes to commit with it. Pure:
 * it computes changes, the caller commits them in one transaction with the operation's completion.
 */
import type { EuiccResultData } from '../asn1/euicc-package.js';
import { EuiccResultData as EuiccResultDataCodec } from '../asn1/euicc-package.js';
import { toHex } from '../asn1/hex.js';
import type { ProfileInfo } from '../asn1/rsp.js';
import type { Json, NewProfileHistoryEntry, ProfileRecord } from '../store/records.js';
import type { OperationRequest } from './operation-request.js';

export interface Outcome {
  readonly state: 'done' | 'failed';
  /** The spec's name of the result code when the eUICC refused (e.g. 'profileNotInDisabledState'). */
  readonly errorCode?: string;
  readonly result: Json;
}

export interface InventoryChanges {
  /** A complete inventory replacing the stored one (listProfileInfo without search criteria). */
  replaceProfiles?: ProfileRecord[];
  putProfiles: ProfileRecord[];
  deleteProfiles: string[];
  history: NewProfileHistoryEntry[];
  defaultSmdpAddress?: string;
  /** Changes to this eIM's own association on the card (token, counter floor, removal, eIM list). */
  association?: { associationToken?: number; counterFloor?: number; removed?: boolean; eimEntries?: { eimId: string; eimIdType?: number }[] };
  /** The inventory is verified complete: the re-synchronisation flag can be cleared. */
  resynchronised?: boolean;
}

export interface InventoryContext {
  readonly eid: string;
  readonly now: number;
  readonly operationId: string;
  readonly request: OperationRequest;
  readonly profiles: readonly ProfileRecord[];
  readonly ourEimId: string;
}

const EIM_ID_TYPES: Record<string, number> = { eimIdTypeOid: 1, eimIdTypeFqdn: 2, eimIdTypeProprietary: 3 };

function codeName(v: string | number): string {
  return typeof v === 'number' ? `code${v}` : v;
}

/** The single result code of a result arm, or undefined for arms that carry data. */
function resultCode(r: EuiccResultData): string | number | undefined {
  const [, v] = Object.entries(r)[0]!;
  return typeof v === 'string' || typeof v === 'number' ? v : undefined;
}

export function profileFromInfo(eid: string, info: ProfileInfo, now: number): ProfileRecord | undefined {
  if (info.iccid === undefined) return undefined;
  const p: ProfileRecord = {
    eid,
    iccid: info.iccid,
    state: info.profileState === 'enabled' ? 'enabled' : info.profileState === 'disabled' ? 'disabled' : 'unknown',
    fallbackAttribute: info.fallbackAttribute ?? false,
    policyRules: info.profilePolicyRules ?? [],
    lastVerifiedAt: now,
    updatedAt: now,
  };
  if (info.isdpAid !== undefined) p.aid = toHex(info.isdpAid);
  if (typeof info.profileClass === 'string') p.profileClass = info.profileClass;
  if (info.profileNickname !== undefined) p.nickname = info.profileNickname;
  if (info.serviceProviderName !== undefined) p.serviceProviderName = info.serviceProviderName;
  if (info.profileName !== undefined) p.profileName = info.profileName;
  return p;
}

function blank(eid: string, iccid: string, now: number): ProfileRecord {
  return { eid, iccid, state: 'unknown', fallbackAttribute: false, policyRules: [], updatedAt: now };
}

/** The EuiccResultData arm each operation expects (data requests and downloads have no EuiccPackageResult). */
const EXPECTED_ARM: Partial<Record<OperationRequest['kind'], string>> = {
  enable: 'enableResult',
  disable: 'disableResult',
  delete: 'deleteResult',
  'list-profiles': 'listProfileInfoResult',
  'get-rat': 'getRATResult',
  'immediate-enable': 'configureImmediateEnableResult',
  'set-fallback': 'setFallbackAttributeResult',
  'unset-fallback': 'unsetFallbackAttributeResult',
  'default-dp': 'setDefaultDpAddressResult',
  'add-eim': 'addEimResult',
  'update-eim': 'updateEimResult',
  'delete-eim': 'deleteEimResult',
  'list-eim': 'listEimResult',
};

/** Applies the eUICC's answer to one operation (one PSMO or eCO per operation). */
export function applyResultData(ctx: InventoryContext, results: readonly EuiccResultData[]): { outcome: Outcome; changes: InventoryChanges } {
  const changes: InventoryChanges = { putProfiles: [], deleteProfiles: [], history: [] };
  const result: Json = results.map((r) => EuiccResultDataCodec.toJson(r));
  const first = results[0];
  const terminated = results.find((r) => 'processingTerminated' in r);
  if (first === undefined || terminated !== undefined) {
    const code = terminated !== undefined ? codeName(resultCode(terminated)!) : 'emptyResult';
    return { outcome: { state: 'failed', errorCode: code, result }, changes };
  }
  // After a rollback (SGP.32 ProfileRollback) the stored result carries a rollbackResult next to the enable
  // result: the enable did not stick, so nothing is applied to the inventory.
  if (results.some((r) => 'rollbackResult' in r)) return { outcome: { state: 'failed', errorCode: 'rolledBack', result }, changes };
  // A signed answer of the wrong kind is recorded, not applied.
  const arm = Object.keys(first)[0]!;
  if (arm !== EXPECTED_ARM[ctx.request.kind]) {
    return { outcome: { state: 'failed', errorCode: 'unexpectedResult', result }, changes };
  }
  const code = resultCode(first);
  if (code !== undefined && code !== 'ok') return { outcome: { state: 'failed', errorCode: codeName(code), result }, changes };

  const { eid, now, request } = ctx;
  const byIccid = new Map(ctx.profiles.map((p) => [p.iccid, p]));
  const touch = (iccid: string, patch: Partial<ProfileRecord>, change?: string): void => {
    const current = changes.putProfiles.find((p) => p.iccid === iccid) ?? byIccid.get(iccid) ?? blank(eid, iccid, now);
    const next = { ...current, ...patch, updatedAt: now };
    changes.putProfiles = [...changes.putProfiles.filter((p) => p.iccid !== iccid), next];
    if (change !== undefined) changes.history.push({ eid, iccid, at: now, change, operationId: ctx.operationId });
  };

  switch (request.kind) {
    case 'enable':
      for (const p of ctx.profiles) if (p.state === 'enabled' && p.iccid !== request.iccid) touch(p.iccid, { state: 'disabled' }, 'disabled');
      touch(request.iccid, { state: 'enabled' }, 'enabled');
      break;
    case 'disable':
      touch(request.iccid, { state: 'disabled' }, 'disabled');
      break;
    case 'delete':
      changes.deleteProfiles.push(request.iccid);
      changes.history.push({ eid, iccid: request.iccid, at: now, change: 'deleted', operationId: ctx.operationId });
      break;
    case 'set-fallback':
      for (const p of ctx.profiles) if (p.fallbackAttribute && p.iccid !== request.iccid) touch(p.iccid, { fallbackAttribute: false }, 'fallback-unset');
      touch(request.iccid, { fallbackAttribute: true }, 'fallback-set');
      break;
    case 'unset-fallback':
      for (const p of ctx.profiles) if (p.fallbackAttribute) touch(p.iccid, { fallbackAttribute: false }, 'fallback-unset');
      break;
    case 'default-dp':
      changes.defaultSmdpAddress = request.address;
      break;
    case 'list-profiles': {
      const arm = first as Extract<EuiccResultData, { listProfileInfoResult: unknown }>;
      if ('profileInfoListError' in arm.listProfileInfoResult) {
        return { outcome: { state: 'failed', errorCode: codeName(arm.listProfileInfoResult.profileInfoListError), result }, changes };
      }
      const list = arm.listProfileInfoResult.profileInfoListOk;
      const seen = list.map((i) => profileFromInfo(eid, i, now)).filter((p): p is ProfileRecord => p !== undefined);
      const complete = request.iccid === undefined && request.isdpAid === undefined && request.profileClass === undefined;
      for (const p of seen) if (!byIccid.has(p.iccid)) changes.history.push({ eid, iccid: p.iccid, at: now, change: 'seen', operationId: ctx.operationId });
      if (complete) {
        // A tag list may leave fields out: keep what we knew for fields the eUICC did not return.
        changes.replaceProfiles = seen.map((p) => ({ ...(byIccid.get(p.iccid) ?? {}), ...p }));
        for (const p of ctx.profiles) {
          if (!seen.some((s) => s.iccid === p.iccid)) changes.history.push({ eid, iccid: p.iccid, at: now, change: 'missing', operationId: ctx.operationId });
        }
        changes.resynchronised = true;
      } else {
        changes.putProfiles = seen.map((p) => ({ ...(byIccid.get(p.iccid) ?? {}), ...p }));
      }
      break;
    }
    case 'add-eim': {
      const arm = first as Extract<EuiccResultData, { addEimResult: unknown }>;
      if ('addEimResultCode' in arm.addEimResult && arm.addEimResult.addEimResultCode !== 'ok') {
        return { outcome: { state: 'failed', errorCode: codeName(arm.addEimResult.addEimResultCode), result }, changes };
      }
      if (request.eim.eimId === ctx.ourEimId && 'associationToken' in arm.addEimResult) {
        changes.association = { associationToken: arm.addEimResult.associationToken };
      }
      break;
    }
    case 'update-eim':
      if (request.eim.eimId === ctx.ourEimId) {
        changes.association = {
          ...(request.eim.counterValue !== undefined ? { counterFloor: request.eim.counterValue } : {}),
          ...(request.eim.associationToken !== undefined && request.eim.associationToken >= 0 ? { associationToken: request.eim.associationToken } : {}),
        };
      }
      break;
    case 'delete-eim':
      if (request.eimId === ctx.ourEimId) changes.association = { removed: true };
      break;
    case 'list-eim': {
      const arm = first as Extract<EuiccResultData, { listEimResult: unknown }>;
      if ('listEimError' in arm.listEimResult) return { outcome: { state: 'failed', errorCode: codeName(arm.listEimResult.listEimError), result }, changes };
      changes.association = {
        eimEntries: arm.listEimResult.eimIdList.map((e) => ({
          eimId: e.eimId,
          ...(e.eimIdType !== undefined ? { eimIdType: typeof e.eimIdType === 'number' ? e.eimIdType : EIM_ID_TYPES[e.eimIdType]! } : {}),
        })),
      };
      break;
    }
    default:
      break;
  }
  return { outcome: { state: 'done', result }, changes };
}
