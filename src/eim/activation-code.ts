/**
 * Activation codes (SGP.22 v2.5 §4.1): `1$SMDP.ADDRESS$MATCHING-ID[$SMDP-OID[$1]]`, optionally prefixed
 * with "LPA:" as printed in QR codes. The eIM puts them in ProfileDownloadTriggerRequest and, for an
 * indirect download, checks the SM-DP+ it talks to against them.
 */
import { EimError } from '../errors.js';

export interface ActivationCode {
  readonly smdpAddress: string;
  /** The matching ID (AC_Token); may be empty. */
  readonly matchingId: string;
  readonly smdpOid?: string;
  readonly confirmationCodeRequired: boolean;
}

export class ActivationCodeError extends EimError {
  constructor(message: string) {
    super('EIM_ERR_ACTIVATION_CODE', `activation code: ${message}`);
  }
}

// FQDN with an optional port, as SGP.22 allows for the SM-DP+ address.
const FQDN = /^(?=.{1,255}(:|$))([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*(:[0-9]{1,5})?$/;
const OID = /^[0-2](\.(0|[1-9][0-9]*))+$/;
// AC_Token: SGP.22 restricts it to upper-case letters, digits and '-'; lower-case is tolerated on input.
const TOKEN = /^[0-9A-Za-z-]*$/;

export function parseActivationCode(text: string): ActivationCode {
  const body = text.startsWith('LPA:') ? text.slice(4) : text;
  if (body.length > 255) throw new ActivationCodeError('longer than 255 characters');
  const parts = body.split('$');
  if (parts[0] !== '1') throw new ActivationCodeError(`unsupported format "${parts[0] ?? ''}" (expected "1")`);
  if (parts.length < 3 || parts.length > 5) throw new ActivationCodeError('expected 1$SMDP.ADDRESS$MATCHING-ID[$SMDP-OID[$1]]');
  const [, smdpAddress, matchingId, smdpOid, ccFlag] = parts as [string, string, string, string?, string?];
  if (!FQDN.test(smdpAddress)) throw new ActivationCodeError(`"${smdpAddress}" is not an SM-DP+ address (FQDN)`);
  if (!TOKEN.test(matchingId)) throw new ActivationCodeError('the matching ID may hold only letters, digits and "-"');
  if (smdpOid !== undefined && smdpOid !== '' && !OID.test(smdpOid)) throw new ActivationCodeError(`"${smdpOid}" is not an OID`);
  if (ccFlag !== undefined && ccFlag !== '1' && ccFlag !== '') throw new ActivationCodeError('the confirmation-code flag must be "1" when present');
  return {
    smdpAddress,
    matchingId,
    ...(smdpOid !== undefined && smdpOid !== '' ? { smdpOid } : {}),
    confirmationCodeRequired: ccFlag === '1',
  };
}
