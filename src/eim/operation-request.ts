/**
 * What an operator can ask of one eUICC, as plain JSON-able values, and how each maps onto an eIM Package
 * (SGP.32 v1.2 §2.11): a PSMO or an eCO inside an EuiccPackageRequest, an IpaEuiccDataRequest, or a
 * ProfileDownloadTriggerRequest. Parameters are checked here, where they enter the domain.
 */
import { EIM_SUPPORTED_PROTOCOL_BITS, type EimConfigurationData } from '../asn1/eim-configuration.js';
import type { Eco, Psmo } from '../asn1/euicc-package.js';
import { fromHex } from '../asn1/hex.js';
import { iccidToBytes } from '../asn1/identifiers.js';
import type { IpaEuiccDataRequest, ProfileDownloadTriggerRequest } from '../asn1/ipa-euicc-data.js';
import { InvalidArgumentError } from '../errors.js';
import { parseActivationCode } from './activation-code.js';

export type ProfileClassName = 'test' | 'provisioning' | 'operational';

/** An eIM entry to add to or update on the eUICC (the fields of EimConfigurationData, JSON-friendly). */
export interface EimEntryInput {
  eimId: string;
  eimFqdn?: string;
  eimIdType?: 'oid' | 'fqdn' | 'proprietary';
  counterValue?: number;
  /** -1 asks the eUICC to generate one. */
  associationToken?: number;
  /** SubjectPublicKeyInfo DER (hex) of the eIM's signing key, or its certificate. */
  publicKeySpki?: string;
  certificate?: string;
  /** (D)TLS trust anchor the IPA uses for this eIM: SPKI or certificate DER (hex). */
  trustedTlsPublicKeySpki?: string;
  trustedTlsCertificate?: string;
  supportedProtocols?: string[];
  /** SubjectKeyIdentifier (hex) of the CI whose eUICC certificate signs results for this eIM. */
  euiccCiPKId?: string;
  indirectProfileDownload?: boolean;
}

export type OperationRequest =
  | { kind: 'enable'; iccid: string; rollback?: boolean }
  | { kind: 'disable'; iccid: string }
  | { kind: 'delete'; iccid: string }
  | { kind: 'list-profiles'; iccid?: string; isdpAid?: string; profileClass?: ProfileClassName; tagList?: string }
  | { kind: 'get-rat' }
  | { kind: 'set-fallback'; iccid: string }
  | { kind: 'unset-fallback' }
  | { kind: 'immediate-enable'; enable?: boolean; smdpOid?: string; smdpAddress?: string }
  | { kind: 'default-dp'; address: string }
  | { kind: 'add-eim'; eim: EimEntryInput }
  | { kind: 'update-eim'; eim: EimEntryInput }
  | { kind: 'delete-eim'; eimId: string }
  | { kind: 'list-eim' }
  | { kind: 'euicc-data'; tagList?: string; notificationSeqNumber?: number; euiccCiPKId?: string }
  | { kind: 'download'; activationCode?: string; defaultSmdp?: boolean; smdsAddress?: string };

export type OperationKind = OperationRequest['kind'];

export const OPERATION_KINDS: readonly OperationKind[] = [
  'enable',
  'disable',
  'delete',
  'list-profiles',
  'get-rat',
  'set-fallback',
  'unset-fallback',
  'immediate-enable',
  'default-dp',
  'add-eim',
  'update-eim',
  'delete-eim',
  'list-eim',
  'euicc-data',
  'download',
];

/** The tags of IpaEuiccData asked for by default: certificates, capabilities, EUICCInfo2, device info. */
export const DEFAULT_DATA_TAG_LIST = 'a5a6a8bf22a9';

/** What an operation becomes on the wire. */
export type PackageContent =
  | { psmo: Psmo }
  | { eco: Eco }
  | { ipaEuiccDataRequest: Omit<IpaEuiccDataRequest, 'eimTransactionId'> }
  | { profileDownloadTriggerRequest: Omit<ProfileDownloadTriggerRequest, 'eimTransactionId'> };

function str(v: unknown, name: string, opts: { optional?: boolean; max?: number } = {}): string | undefined {
  if (v === undefined && opts.optional === true) return undefined;
  if (typeof v !== 'string' || v.length === 0) throw new InvalidArgumentError(name, 'expected a non-empty string');
  if (opts.max !== undefined && v.length > opts.max) throw new InvalidArgumentError(name, `at most ${opts.max} characters`);
  return v;
}

function iccidOf(v: unknown, name = 'iccid'): string {
  const s = str(v, name)!;
  iccidToBytes(s);
  return s;
}

function hexOf(v: unknown, name: string): string | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'string') throw new InvalidArgumentError(name, 'expected hex');
  fromHex(v, name);
  return v.toLowerCase();
}

function intOf(v: unknown, name: string, min: number, max: number): number | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min || v > max) throw new InvalidArgumentError(name, `expected an integer in ${min}..${max}`);
  return v;
}

function boolOf(v: unknown, name: string): boolean | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'boolean') throw new InvalidArgumentError(name, 'expected true or false');
  return v;
}

function eimEntry(v: unknown): EimEntryInput {
  if (typeof v !== 'object' || v === null) throw new InvalidArgumentError('eim', 'expected an object');
  const o = v as Record<string, unknown>;
  const type = o.eimIdType;
  if (type !== undefined && type !== 'oid' && type !== 'fqdn' && type !== 'proprietary') throw new InvalidArgumentError('eim.eimIdType', 'one of oid, fqdn, proprietary');
  const protocols = o.supportedProtocols;
  if (protocols !== undefined && (!Array.isArray(protocols) || !protocols.every((p) => (EIM_SUPPORTED_PROTOCOL_BITS as readonly unknown[]).includes(p)))) {
    throw new InvalidArgumentError('eim.supportedProtocols', `values from ${EIM_SUPPORTED_PROTOCOL_BITS.join(', ')}`);
  }
  const entry: EimEntryInput = { eimId: str(o.eimId, 'eim.eimId', { max: 128 })! };
  const set = <K extends keyof EimEntryInput>(k: K, val: EimEntryInput[K] | undefined): void => {
    if (val !== undefined) entry[k] = val;
  };
  set('eimFqdn', str(o.eimFqdn, 'eim.eimFqdn', { optional: true }));
  set('eimIdType', type as EimEntryInput['eimIdType']);
  set('counterValue', intOf(o.counterValue, 'eim.counterValue', 0, 0x7fffff));
  set('associationToken', intOf(o.associationToken, 'eim.associationToken', -1, 0x7fffffff));
  set('publicKeySpki', hexOf(o.publicKeySpki, 'eim.publicKeySpki'));
  set('certificate', hexOf(o.certificate, 'eim.certificate'));
  set('trustedTlsPublicKeySpki', hexOf(o.trustedTlsPublicKeySpki, 'eim.trustedTlsPublicKeySpki'));
  set('trustedTlsCertificate', hexOf(o.trustedTlsCertificate, 'eim.trustedTlsCertificate'));
  set('supportedProtocols', protocols as string[] | undefined);
  set('euiccCiPKId', hexOf(o.euiccCiPKId, 'eim.euiccCiPKId'));
  set('indirectProfileDownload', boolOf(o.indirectProfileDownload, 'eim.indirectProfileDownload'));
  return entry;
}

/** Checks an operation request from the API or CLI; throws InvalidArgumentError naming the field. */
export function parseOperationRequest(input: unknown): OperationRequest {
  if (typeof input !== 'object' || input === null) throw new InvalidArgumentError('operation', 'expected an object');
  const o = input as Record<string, unknown>;
  switch (o.kind) {
    case 'enable':
      return { kind: 'enable', iccid: iccidOf(o.iccid), ...(boolOf(o.rollback, 'rollback') ? { rollback: true } : {}) };
    case 'disable':
    case 'delete':
    case 'set-fallback':
      return { kind: o.kind, iccid: iccidOf(o.iccid) };
    case 'list-profiles': {
      const pc = o.profileClass;
      if (pc !== undefined && pc !== 'test' && pc !== 'provisioning' && pc !== 'operational') throw new InvalidArgumentError('profileClass', 'one of test, provisioning, operational');
      const r: OperationRequest = { kind: 'list-profiles' };
      if (o.iccid !== undefined) r.iccid = iccidOf(o.iccid);
      if (o.isdpAid !== undefined) r.isdpAid = hexOf(o.isdpAid, 'isdpAid')!;
      if (pc !== undefined) r.profileClass = pc;
      if (o.tagList !== undefined) r.tagList = hexOf(o.tagList, 'tagList')!;
      if ([r.iccid, r.isdpAid, r.profileClass].filter((x) => x !== undefined).length > 1) throw new InvalidArgumentError('searchCriteria', 'give at most one of iccid, isdpAid, profileClass');
      return r;
    }
    case 'get-rat':
    case 'unset-fallback':
    case 'list-eim':
      return { kind: o.kind };
    case 'immediate-enable': {
      const r: OperationRequest = { kind: 'immediate-enable' };
      if (o.enable !== undefined) r.enable = boolOf(o.enable, 'enable')!;
      if (o.smdpOid !== undefined) {
        if (typeof o.smdpOid !== 'string' || !/^[0-2](\.[0-9]+)+$/.test(o.smdpOid)) throw new InvalidArgumentError('smdpOid', 'a dotted OID');
        r.smdpOid = o.smdpOid;
      }
      if (o.smdpAddress !== undefined) r.smdpAddress = str(o.smdpAddress, 'smdpAddress')!;
      return r;
    }
    case 'default-dp':
      return { kind: 'default-dp', address: str(o.address, 'address', { max: 255 })! };
    case 'add-eim':
    case 'update-eim':
      return { kind: o.kind, eim: eimEntry(o.eim) };
    case 'delete-eim':
      return { kind: 'delete-eim', eimId: str(o.eimId, 'eimId', { max: 128 })! };
    case 'euicc-data': {
      const r: OperationRequest = { kind: 'euicc-data' };
      if (o.tagList !== undefined) r.tagList = hexOf(o.tagList, 'tagList')!;
      const seq = intOf(o.notificationSeqNumber, 'notificationSeqNumber', 0, 0x7fffffff);
      if (seq !== undefined) r.notificationSeqNumber = seq;
      if (o.euiccCiPKId !== undefined) r.euiccCiPKId = hexOf(o.euiccCiPKId, 'euiccCiPKId')!;
      return r;
    }
    case 'download': {
      const given = [o.activationCode, o.defaultSmdp, o.smdsAddress].filter((x) => x !== undefined && x !== false).length;
      if (given > 1) throw new InvalidArgumentError('download', 'give one of activationCode, defaultSmdp, smdsAddress');
      if (o.activationCode !== undefined) {
        parseActivationCode(str(o.activationCode, 'activationCode', { max: 255 })!);
        return { kind: 'download', activationCode: o.activationCode as string };
      }
      if (o.defaultSmdp === true) return { kind: 'download', defaultSmdp: true };
      if (o.smdsAddress !== undefined) return { kind: 'download', smdsAddress: str(o.smdsAddress, 'smdsAddress')! };
      return { kind: 'download' };
    }
    default:
      throw new InvalidArgumentError('kind', `one of ${OPERATION_KINDS.join(', ')}`);
  }
}

const EIM_ID_TYPE = { oid: 'eimIdTypeOid', fqdn: 'eimIdTypeFqdn', proprietary: 'eimIdTypeProprietary' } as const;

/** EimConfigurationData for an addEim / updateEim eCO. */
export function eimConfigurationFromEntry(e: EimEntryInput): EimConfigurationData {
  const d: EimConfigurationData = { eimId: e.eimId };
  if (e.eimFqdn !== undefined) d.eimFqdn = e.eimFqdn;
  if (e.eimIdType !== undefined) d.eimIdType = EIM_ID_TYPE[e.eimIdType];
  if (e.counterValue !== undefined) d.counterValue = e.counterValue;
  if (e.associationToken !== undefined) d.associationToken = e.associationToken;
  if (e.publicKeySpki !== undefined) d.eimPublicKeyData = { eimPublicKey: fromHex(e.publicKeySpki) };
  else if (e.certificate !== undefined) d.eimPublicKeyData = { eimCertificate: fromHex(e.certificate) };
  if (e.trustedTlsPublicKeySpki !== undefined) d.trustedPublicKeyDataTls = { trustedEimPkTls: fromHex(e.trustedTlsPublicKeySpki) };
  else if (e.trustedTlsCertificate !== undefined) d.trustedPublicKeyDataTls = { trustedCertificateTls: fromHex(e.trustedTlsCertificate) };
  if (e.supportedProtocols !== undefined) d.eimSupportedProtocol = e.supportedProtocols;
  if (e.euiccCiPKId !== undefined) d.euiccCiPKId = fromHex(e.euiccCiPKId);
  if (e.indirectProfileDownload === true) d.indirectProfileDownload = true;
  return d;
}

const PROFILE_CLASS = { test: 'test', provisioning: 'provisioning', operational: 'operational' } as const;

/** The wire content of an operation. */
export function packageContent(r: OperationRequest): PackageContent {
  switch (r.kind) {
    case 'enable':
      return { psmo: { enable: r.rollback === true ? { iccid: r.iccid, rollbackFlag: true } : { iccid: r.iccid } } };
    case 'disable':
      return { psmo: { disable: { iccid: r.iccid } } };
    case 'delete':
      return { psmo: { delete: { iccid: r.iccid } } };
    case 'list-profiles': {
      const req: Extract<Psmo, { listProfileInfo: unknown }>['listProfileInfo'] = {};
      if (r.iccid !== undefined) req.searchCriteria = { iccid: r.iccid };
      else if (r.isdpAid !== undefined) req.searchCriteria = { isdpAid: fromHex(r.isdpAid) };
      else if (r.profileClass !== undefined) req.searchCriteria = { profileClass: PROFILE_CLASS[r.profileClass] };
      if (r.tagList !== undefined) req.tagList = fromHex(r.tagList);
      return { psmo: { listProfileInfo: req } };
    }
    case 'get-rat':
      return { psmo: { getRAT: {} } };
    case 'set-fallback':
      return { psmo: { setFallbackAttribute: { iccid: r.iccid } } };
    case 'unset-fallback':
      return { psmo: { unsetFallbackAttribute: {} } };
    case 'immediate-enable': {
      const c: Extract<Psmo, { configureImmediateEnable: unknown }>['configureImmediateEnable'] = {};
      if (r.enable === true) c.immediateEnableFlag = true;
      if (r.smdpOid !== undefined) c.defaultSmdpOid = r.smdpOid;
      if (r.smdpAddress !== undefined) c.defaultSmdpAddress = r.smdpAddress;
      return { psmo: { configureImmediateEnable: c } };
    }
    case 'default-dp':
      return { psmo: { setDefaultDpAddress: { defaultDpAddress: r.address } } };
    case 'add-eim':
      return { eco: { addEim: eimConfigurationFromEntry(r.eim) } };
    case 'update-eim':
      return { eco: { updateEim: eimConfigurationFromEntry(r.eim) } };
    case 'delete-eim':
      return { eco: { deleteEim: { eimId: r.eimId } } };
    case 'list-eim':
      return { eco: { listEim: {} } };
    case 'euicc-data': {
      const req: Omit<IpaEuiccDataRequest, 'eimTransactionId'> = { tagList: fromHex(r.tagList ?? DEFAULT_DATA_TAG_LIST) };
      if (r.euiccCiPKId !== undefined) req.euiccCiPKIdentifierToBeUsed = fromHex(r.euiccCiPKId);
      if (r.notificationSeqNumber !== undefined) req.searchCriteriaNotification = { seqNumber: r.notificationSeqNumber };
      return { ipaEuiccDataRequest: req };
    }
    case 'download': {
      if (r.activationCode !== undefined) return { profileDownloadTriggerRequest: { profileDownloadData: { activationCode: r.activationCode } } };
      if (r.defaultSmdp === true) return { profileDownloadTriggerRequest: { profileDownloadData: { contactDefaultSmdp: true } } };
      if (r.smdsAddress !== undefined) return { profileDownloadTriggerRequest: { profileDownloadData: { contactSmds: { smdsAddress: r.smdsAddress } } } };
      return { profileDownloadTriggerRequest: {} };
    }
  }
}
