/**
 * Direct profile download on the virtual eUICC (SGP.32 v1.2 §3.2.3.1), at the level the eIM can observe:
 * the IPA would run SGP.22 ES9+/ES8+ against the SM-DP+ named by the activation code; we skip the SM-DP+
 * and install a synthetic profile, then report what a real eUICC signs: a ProfileInstallationResult (BF37)
 * whose BF27 data carries the SM-DP+ transactionId, NotificationMetadata (seqNumber, install, the SM-DP+
 * address as notificationAddress, ICCID), the SM-DP+ OID and successResult with the new ISD-P AID.
 *
 * The PIR is not kept in the notification list: in direct mode the IPA delivers it to the SM-DP+ itself.
 * Seam for the indirect download (ESipa InitiateAuthentication / AuthenticateClient / GetBoundProfilePackage
 * / HandleNotification relayed by the eIM): a later issue adds it beside this file, reusing installProfile.
 */
import { randomBytes } from 'node:crypto';
import type { ProfileDownloadTriggerRequest, ProfileDownloadTriggerResult } from '../../asn1/ipa-euicc-data.js';
import { ProfileInstallationResultData, type ProfileInstallationResult } from '../../asn1/rsp.js';
import type { Infer } from '../../asn1/schema.js';
import type { VirtualEuicc } from './euicc.js';
import type { ProfileRecord } from './state.js';

/** Used when an activation code carries no SM-DP+ OID (2.999 is the ITU example arc). */
export const DEFAULT_SMDP_OID = '2.999.10';

export interface ActivationCode {
  smdpAddress: string;
  matchingId: string;
  smdpOid?: string;
  confirmationCodeRequired: boolean;
}

/** SGP.22 §4.1 activation code `1$SM-DP+ address$matching id[$SM-DP+ OID[$CC required flag]]`; undefined when malformed. */
export function parseActivationCode(ac: string): ActivationCode | undefined {
  const parts = ac.split('$');
  if (parts[0] !== '1' || parts.length < 3 || parts.length > 5) return undefined;
  const smdpAddress = parts[1]!;
  if (!/^[A-Za-z0-9.-]+(:[0-9]+)?$/.test(smdpAddress)) return undefined;
  const out: ActivationCode = { smdpAddress, matchingId: parts[2]!, confirmationCodeRequired: parts[4] === '1' };
  if (parts[3] !== undefined && parts[3] !== '') {
    if (!/^[0-2](\.[0-9]+)+$/.test(parts[3])) return undefined;
    out.smdpOid = parts[3];
  }
  return out;
}

/** The Luhn check digit of a digit string (ICCIDs, ITU-T E.118). */
export function luhnCheckDigit(digits: string): string {
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let d = digits.charCodeAt(digits.length - 1 - i) - 48;
    if (i % 2 === 0) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return String((10 - (sum % 10)) % 10);
}

/** A synthetic 19-digit ICCID unique on this card: 89 882 + 10 EID digits + 3-digit index + Luhn. */
function syntheticIccid(card: VirtualEuicc): string {
  for (;;) {
    const index = card.state.nextProfileIndex % 1000;
    const body = `89882${card.eid.slice(18, 28)}${String(index).padStart(3, '0')}`;
    const iccid = body + luhnCheckDigit(body);
    if (card.profile(iccid) === undefined) return iccid;
    card.state.nextProfileIndex++;
  }
}

/**
 * Immediate enable (SGP.32 §3.2.3, configureImmediateEnable): with the flag set, the IPA enables the new
 * profile right after installation unless policy forbids disabling the current one; the eIM learns about
 * it from the notifications and from stateChangeCause immediateEnableProfile on the next poll.
 */
function immediateEnable(card: VirtualEuicc, profile: ProfileRecord): void {
  if (!card.state.immediateEnable.immediateEnableFlag) return;
  const current = card.enabledProfile();
  if (current !== undefined && current.policyRules.includes('ppr1')) return;
  if (current !== undefined) {
    current.state = 'disabled';
    card.notify('disable', current);
  }
  profile.state = 'enabled';
  card.notify('enable', profile);
  card.markStateChange('immediateEnableProfile');
}

export type ProfileDownloadOutcome = { result: ProfileDownloadTriggerResult; profile?: ProfileRecord };

export function runProfileDownload(card: VirtualEuicc, request: ProfileDownloadTriggerRequest, options: { fail?: boolean }): ProfileDownloadOutcome {
  const error = (why: string): ProfileDownloadOutcome => {
    const result: ProfileDownloadTriggerResult = {
      profileDownloadTriggerResultData: { profileDownloadError: { profileDownloadErrorReason: 'undefinedError', errorResponse: new TextEncoder().encode(why) } },
    };
    if (request.eimTransactionId !== undefined) result.eimTransactionId = request.eimTransactionId;
    return { result };
  };
  const data = request.profileDownloadData;
  let smdpAddress: string | undefined;
  let smdpOid = DEFAULT_SMDP_OID;
  let matchingId = '';
  if (data === undefined || 'contactSmds' in data) return error('no SM-DS in the simulator');
  if ('activationCode' in data) {
    const ac = parseActivationCode(data.activationCode);
    if (ac === undefined) return error('malformed activation code');
    smdpAddress = ac.smdpAddress;
    matchingId = ac.matchingId;
    if (ac.smdpOid !== undefined) smdpOid = ac.smdpOid;
  } else {
    smdpAddress = card.state.defaultSmdpAddress;
    if (smdpAddress === undefined) return error('no default SM-DP+ address');
  }
  if (options.fail === true) return error('download refused by the SM-DP+ (injected)');

  const profile = card.addProfile({
    iccid: syntheticIccid(card),
    profileClass: 'operational',
    serviceProviderName: 'Sim Operator',
    profileName: matchingId === '' ? 'Sim profile' : `Sim profile ${matchingId}`.slice(0, 64),
    notificationAddress: smdpAddress,
  });
  const pirData: Infer<typeof ProfileInstallationResultData> = {
    transactionId: new Uint8Array(randomBytes(16)),
    notificationMetadata: { seqNumber: card.nextSeqNumber(), profileManagementOperation: ['notificationInstall'], notificationAddress: smdpAddress, iccid: profile.iccid },
    smdpOid,
    finalResult: { successResult: { aid: new Uint8Array(Buffer.from(profile.aid, 'hex')), simaResponse: Uint8Array.of(0x30, 0x00) } },
  };
  const pir: ProfileInstallationResult = { profileInstallationResultData: pirData, euiccSignPIR: card.sign(ProfileInstallationResultData.encode(pirData)) };
  immediateEnable(card, profile);
  const result: ProfileDownloadTriggerResult = { profileDownloadTriggerResultData: { profileInstallationResult: pir } };
  if (request.eimTransactionId !== undefined) result.eimTransactionId = request.eimTransactionId;
  return { result, profile };
}
