/**
 * ES10b.LoadEuiccPackage on the virtual eUICC (SGP.32 v1.2 §2.11.1, §5.9.1; notes (b), (c), (g)): verify
 * the eIM signature over the received EuiccPackageSigned bytes || association token TLV, check EID and
 * counter, then run each PSMO or eCO in order and sign the EuiccPackageResult.
 *
 * Readings where the notes leave room (recorded here because the eIM tests depend on them):
 * - Unknown eimId, an eIM entry without a usable key, and a failed signature give EuiccPackageErrorUnsigned
 *   (the card must not sign for a sender it cannot authenticate); EID mismatch, replay and a counter above
 *   0x7FFFFF give the signed error. A refused package never moves the stored counter.
 * - Counter rule: accepted when strictly greater than the stored value (gaps allowed), then stored.
 * - State changes apply at once, so "enable B, delete A" works in one package. At most one enable or
 *   disable per package: the ISD-R refuses a second state change, which we report as processingTerminated
 *   unknownOrDamagedCommand in its place and stop executing the rest of the package. listProfileInfo after
 *   a state change in the same package answers profileChangeOngoing (the change is not final until the
 *   result is delivered).
 * - deleteEim of the last eIM entry is refused with lastEimDeleted (the entry stays): a card without any
 *   eIM could only be recovered by an unsigned AddInitialEim, which would let anyone take it over.
 * - The result is signed with the association token the package was verified with, even when an eCO of
 *   the same package changes or deletes that eIM entry.
 */
import { X509Certificate, type KeyObject } from 'node:crypto';
import type { EimConfigurationData } from '../../asn1/eim-configuration.js';
import {
  EuiccPackageErrorDataSigned,
  EuiccPackageRequest,
  EuiccPackageResult,
  EuiccPackageSigned,
  type Eco,
  type EuiccPackageErrorCode,
  type EuiccPackageResultDataSigned,
  type EuiccResultData,
  type Psmo,
} from '../../asn1/euicc-package.js';
import { bytesEqual, toHex } from '../../asn1/hex.js';
import type { ProfileInfo, ProfileInfoListRequest } from '../../asn1/rsp.js';
import { decode, signedBytes, type Infer } from '../../asn1/schema.js';
import { concat } from '../../asn1/tlv.js';
import { verifyEcdsa } from '../../crypto/ecdsa.js';
import type { VirtualEuicc } from './euicc.js';
import { associationTokenTlv, MAX_COUNTER_VALUE, MAX_EIMS } from './esep.js';
import type { ProfileRecord } from './state.js';

interface Run {
  readonly card: VirtualEuicc;
  readonly eimId: string;
  stateChanged: boolean;
  rollback?: { previousIccid: string | undefined; enabledIccid: string };
}

/** The key that verifies an eIM's signatures: its SPKI, or the public key of its certificate. */
export function eimVerificationKey(eim: EimConfigurationData): Uint8Array | KeyObject | undefined {
  const k = eim.eimPublicKeyData;
  if (k === undefined) return undefined;
  if ('eimPublicKey' in k) return k.eimPublicKey;
  try {
    return new X509Certificate(Buffer.from(k.eimCertificate)).publicKey;
  } catch {
    return undefined;
  }
}

export function loadEuiccPackage(card: VirtualEuicc, der: Uint8Array): Uint8Array {
  const request = decode(EuiccPackageRequest, der);
  const signed = request.euiccPackageSigned;
  const { eimId, eimTransactionId, counterValue } = signed;
  const eim = card.findEim(eimId);
  const unsigned = (associationToken: number | undefined): Uint8Array => {
    const e: Extract<Infer<typeof EuiccPackageResult>, { euiccPackageErrorUnsigned: unknown }>['euiccPackageErrorUnsigned'] = { eimId };
    if (eimTransactionId !== undefined) e.eimTransactionId = eimTransactionId;
    if (associationToken !== undefined) e.associationToken = associationToken;
    return EuiccPackageResult.encode({ euiccPackageErrorUnsigned: e });
  };
  if (eim === undefined) return unsigned(undefined);
  const token = eim.associationToken;
  const key = eimVerificationKey(eim);
  if (key === undefined) return unsigned(token);
  let valid = false;
  try {
    valid = verifyEcdsa(key, concat([signedBytes(EuiccPackageSigned, signed), associationTokenTlv(token)]), request.eimSignature).valid;
  } catch {
    valid = false; // an unusable stored key authenticates nobody
  }
  if (!valid) return unsigned(token);

  const signedError = (code: keyof typeof EuiccPackageErrorCode): Uint8Array => {
    const data: Infer<typeof EuiccPackageErrorDataSigned> = { eimId, counterValue, euiccPackageErrorCode: code };
    if (eimTransactionId !== undefined) data.eimTransactionId = eimTransactionId;
    const euiccSignEPE = card.sign(concat([EuiccPackageErrorDataSigned.encode(data), associationTokenTlv(token)]));
    return EuiccPackageResult.encode({ euiccPackageErrorSigned: { euiccPackageErrorDataSigned: data, euiccSignEPE } });
  };
  if (signed.eidValue !== card.eid) return signedError('invalidEid');
  if (counterValue > MAX_COUNTER_VALUE) return signedError('counterValueOutOfRange');
  if (counterValue <= (eim.counterValue ?? 0)) return signedError('replayError');
  eim.counterValue = counterValue;

  const run: Run = { card, eimId, stateChanged: false };
  const results: EuiccResultData[] = [];
  const pkg = signed.euiccPackage;
  if ('psmoList' in pkg) {
    for (const psmo of pkg.psmoList) {
      const r = runPsmo(run, psmo);
      results.push(r);
      if ('processingTerminated' in r) break;
    }
  } else {
    for (const eco of pkg.ecoList) results.push(runEco(run, eco));
  }
  const data: Infer<typeof EuiccPackageResultDataSigned> = { eimId, counterValue, seqNumber: card.nextSeqNumber(), euiccResult: results };
  if (eimTransactionId !== undefined) data.eimTransactionId = eimTransactionId;
  const result = card.signPackageResult(data, token);
  if (run.rollback !== undefined) {
    card.state.pendingRollback = { ...run.rollback, eimId, counterValue, resultSeqNumber: data.seqNumber };
    if (eimTransactionId !== undefined) card.state.pendingRollback.eimTransactionId = toHex(eimTransactionId);
  } else if (run.stateChanged) {
    // A later state change supersedes an unconfirmed rollback: its previous profile is no longer the one to return to.
    delete card.state.pendingRollback;
  }
  return result;
}

// ---- PSMOs ----

function runPsmo(run: Run, psmo: Psmo): EuiccResultData {
  const { card } = run;
  if ('enable' in psmo || 'disable' in psmo) {
    if (run.stateChanged) return { processingTerminated: 'unknownOrDamagedCommand' };
  }
  if ('enable' in psmo) {
    const target = card.profile(psmo.enable.iccid);
    if (target === undefined) return { enableResult: 'iccidOrAidNotFound' };
    if (target.state !== 'disabled') return { enableResult: 'profileNotInDisabledState' };
    const current = card.enabledProfile();
    if (current !== undefined && current.policyRules.includes('ppr1')) return { enableResult: 'disallowedByPolicy' };
    if (current !== undefined) {
      current.state = 'disabled';
      card.notify('disable', current);
    }
    target.state = 'enabled';
    card.notify('enable', target);
    run.stateChanged = true;
    if (psmo.enable.rollbackFlag === true) run.rollback = { previousIccid: current?.iccid, enabledIccid: target.iccid };
    return { enableResult: 'ok' };
  }
  if ('disable' in psmo) {
    const target = card.profile(psmo.disable.iccid);
    if (target === undefined) return { disableResult: 'iccidOrAidNotFound' };
    if (target.state !== 'enabled') return { disableResult: 'profileNotInEnabledState' };
    if (target.policyRules.includes('ppr1')) return { disableResult: 'disallowedByPolicy' };
    target.state = 'disabled';
    card.notify('disable', target);
    run.stateChanged = true;
    return { disableResult: 'ok' };
  }
  if ('delete' in psmo) {
    const target = card.profile(psmo.delete.iccid);
    if (target === undefined) return { deleteResult: 'iccidOrAidNotFound' };
    if (target.state !== 'disabled') return { deleteResult: 'profileNotInDisabledState' };
    if (target.policyRules.includes('ppr2')) return { deleteResult: 'disallowedByPolicy' };
    // The fallback profile is the way back to connectivity: it cannot be deleted while it carries the attribute.
    if (target.fallbackAttribute) return { deleteResult: 'returnFallbackProfile' };
    card.state.profiles = card.state.profiles.filter((p) => p !== target);
    card.notify('delete', target);
    return { deleteResult: 'ok' };
  }
  if ('listProfileInfo' in psmo) {
    if (run.stateChanged) return { listProfileInfoResult: { profileInfoListError: 'profileChangeOngoing' } };
    return { listProfileInfoResult: listProfileInfo(card, psmo.listProfileInfo) };
  }
  if ('getRAT' in psmo) return { getRATResult: [] };
  if ('configureImmediateEnable' in psmo) {
    const c = psmo.configureImmediateEnable;
    card.state.immediateEnable = { immediateEnableFlag: c.immediateEnableFlag === true };
    if (c.defaultSmdpOid !== undefined) card.state.immediateEnable.defaultSmdpOid = c.defaultSmdpOid;
    if (c.defaultSmdpAddress !== undefined) card.state.immediateEnable.defaultSmdpAddress = c.defaultSmdpAddress;
    return { configureImmediateEnableResult: 'ok' };
  }
  if ('setFallbackAttribute' in psmo) {
    const target = card.profile(psmo.setFallbackAttribute.iccid);
    if (target === undefined) return { setFallbackAttributeResult: 'iccidOrAidNotFound' };
    if (target.fallbackAllowed === false) return { setFallbackAttributeResult: 'fallbackNotAllowed' };
    const current = card.fallbackProfile();
    // Moving the attribute away from the fallback profile while it is the enabled one would strand the device.
    if (current !== undefined && current !== target && current.state === 'enabled') return { setFallbackAttributeResult: 'fallbackProfileEnabled' };
    for (const p of card.state.profiles) p.fallbackAttribute = p === target;
    return { setFallbackAttributeResult: 'ok' };
  }
  if ('unsetFallbackAttribute' in psmo) {
    const current = card.fallbackProfile();
    if (current === undefined) return { unsetFallbackAttributeResult: 'noFallbackAttribute' };
    if (current.state === 'enabled') return { unsetFallbackAttributeResult: 'fallbackProfileEnabled' };
    current.fallbackAttribute = false;
    return { unsetFallbackAttributeResult: 'ok' };
  }
  // setDefaultDpAddress (the last arm of the CHOICE)
  card.state.defaultSmdpAddress = psmo.setDefaultDpAddress.defaultDpAddress;
  return { setDefaultDpAddressResult: { setDefaultDpAddressResult: 'ok' } };
}

const PROFILE_INFO_TAGS: [keyof ProfileInfo, number][] = [
  ['iccid', 0x5a],
  ['isdpAid', 0x4f],
  ['profileState', 0x9f70],
  ['profileNickname', 0x90],
  ['serviceProviderName', 0x91],
  ['profileName', 0x92],
  ['profileClass', 0x95],
  ['profilePolicyRules', 0x99],
  ['fallbackAttribute', 0x9f26],
  ['fallbackAllowed', 0x9f67],
];

/** Splits a tag list (concatenated BER identifier octets) into tag numbers; undefined when truncated. */
export function parseTagList(bytes: Uint8Array): number[] | undefined {
  const tags: number[] = [];
  let i = 0;
  while (i < bytes.length) {
    let t = bytes[i++]!;
    if ((t & 0x1f) === 0x1f) {
      let b: number;
      do {
        if (i >= bytes.length) return undefined;
        b = bytes[i++]!;
        t = t * 256 + b;
      } while ((b & 0x80) !== 0);
    }
    tags.push(t);
  }
  return tags;
}

function profileInfo(p: ProfileRecord): ProfileInfo {
  const info: ProfileInfo = {
    iccid: p.iccid,
    isdpAid: new Uint8Array(Buffer.from(p.aid, 'hex')),
    profileState: p.state,
    profileClass: p.profileClass,
    profilePolicyRules: [...p.policyRules],
    fallbackAttribute: p.fallbackAttribute,
  };
  if (p.nickname !== undefined) info.profileNickname = p.nickname;
  if (p.serviceProviderName !== undefined) info.serviceProviderName = p.serviceProviderName;
  if (p.profileName !== undefined) info.profileName = p.profileName;
  if (p.fallbackAllowed !== undefined) info.fallbackAllowed = p.fallbackAllowed;
  return info;
}

function listProfileInfo(card: VirtualEuicc, req: ProfileInfoListRequest): Extract<EuiccResultData, { listProfileInfoResult: unknown }>['listProfileInfoResult'] {
  const sc = req.searchCriteria;
  const matches = card.state.profiles.filter((p) => {
    if (sc === undefined) return true;
    if ('iccid' in sc) return p.iccid === sc.iccid;
    if ('isdpAid' in sc) return bytesEqual(new Uint8Array(Buffer.from(p.aid, 'hex')), sc.isdpAid);
    return p.profileClass === sc.profileClass;
  });
  let wanted: Set<number> | undefined;
  if (req.tagList !== undefined && req.tagList.length > 0) {
    const tags = parseTagList(req.tagList);
    if (tags === undefined) return { profileInfoListError: 'incorrectInputValues' };
    wanted = new Set(tags); // tags we do not hold are simply not returned
  }
  return {
    profileInfoListOk: matches.map((p) => {
      const full = profileInfo(p);
      if (wanted === undefined) return full;
      const out: Record<string, unknown> = {};
      for (const [field, tag] of PROFILE_INFO_TAGS) if (wanted.has(tag) && full[field] !== undefined) out[field] = full[field];
      return out as ProfileInfo;
    }),
  };
}

// ---- eCOs ----

function runEco(run: Run, eco: Eco): EuiccResultData {
  const { card } = run;
  if ('addEim' in eco) {
    const e = eco.addEim;
    if (card.findEim(e.eimId) !== undefined) return { addEimResult: { addEimResultCode: 'associatedEimAlreadyExists' } };
    if (card.eims.length >= MAX_EIMS) return { addEimResult: { addEimResultCode: 'insufficientMemory' } };
    if (e.eimPublicKeyData === undefined || eimVerificationKey(e) === undefined) return { addEimResult: { addEimResultCode: 'commandError' } };
    if (e.euiccCiPKId !== undefined && !bytesEqual(e.euiccCiPKId, card.ciPKId)) return { addEimResult: { addEimResultCode: 'ciPKUnknown' } };
    const counter = e.counterValue ?? 0;
    if (counter < 0 || counter > MAX_COUNTER_VALUE) return { addEimResult: { addEimResultCode: 'counterValueOutOfRange' } };
    if (e.associationToken !== undefined && e.associationToken < -1) return { addEimResult: { addEimResultCode: 'invalidAssociationToken' } };
    const entry: EimConfigurationData = { ...e, counterValue: counter };
    if (e.associationToken === -1) {
      entry.associationToken = card.generateAssociationToken();
      card.eims.push(entry);
      return { addEimResult: { associationToken: entry.associationToken } };
    }
    card.eims.push(entry);
    return { addEimResult: { addEimResultCode: 'ok' } };
  }
  if ('deleteEim' in eco) {
    const target = card.findEim(eco.deleteEim.eimId);
    if (target === undefined) return { deleteEimResult: 'eimNotFound' };
    if (card.eims.length === 1) return { deleteEimResult: 'lastEimDeleted' };
    card.eims = card.eims.filter((e) => e !== target);
    return { deleteEimResult: 'ok' };
  }
  if ('updateEim' in eco) {
    const u = eco.updateEim;
    const target = card.findEim(u.eimId);
    if (target === undefined) return { updateEimResult: 'eimNotFound' };
    if (u.euiccCiPKId !== undefined && !bytesEqual(u.euiccCiPKId, card.ciPKId)) return { updateEimResult: 'ciPKUnknown' };
    if (u.counterValue !== undefined && (u.counterValue < 0 || u.counterValue > MAX_COUNTER_VALUE)) return { updateEimResult: 'counterValueOutOfRange' };
    if (u.eimPublicKeyData !== undefined && eimVerificationKey(u) === undefined) return { updateEimResult: 'commandError' };
    // Present fields replace the stored ones; absent fields keep their values.
    for (const [k, v] of Object.entries(u)) if (v !== undefined) (target as Record<string, unknown>)[k] = v;
    return { updateEimResult: 'ok' };
  }
  return { listEimResult: { eimIdList: card.eims.map((e) => (e.eimIdType === undefined ? { eimId: e.eimId } : { eimId: e.eimId, eimIdType: e.eimIdType })) } };
}
