/**
 * SM-DP+ answers mapped to the ESipa error arms (SGP.22 v2.5 §5.6 subject/reason codes of ES9+,
 * SGP.32 v1.2 §6.3.2 error INTEGERs). Anything unlisted, and every transport failure, becomes
 * undefinedError; the operation keeps the SM-DP+ codes in its errorMessage. Also the eUICC's own reason when
 * it cancels a download session (ES10b CancelSession, SGP.22 v2.5 §5.7), which becomes the operation's errorCode.
 */
import type { AuthenticateClientErrorEsipa, CancelSessionErrorEsipa, GetBoundProfilePackageErrorEsipa, InitiateAuthenticationErrorEsipa } from '../asn1/esipa.js';
import { CANCEL_SESSION_REASON } from '../asn1/rsp-download.js';
import { childrenOf, readSingle } from '../asn1/tlv.js';
import type { Es9Outcome } from './es9plus-client.js';

type Codes<T> = Readonly<Record<string, keyof T>>;

const INITIATE: Codes<typeof InitiateAuthenticationErrorEsipa> = {
  '8.8.1/3.8': 'invalidDpAddress',
  '8.8.2/3.1': 'euiccVersionNotSupportedByDp',
  '8.8.3/3.1': 'ciPKIdNotSupported',
  '8.8.4/3.7': 'ciPKIdNotSupported',
};

const AUTHENTICATE: Codes<typeof AuthenticateClientErrorEsipa> = {
  '8.1.2/6.1': 'eumCertificateInvalid',
  '8.1.2/6.3': 'eumCertificateExpired',
  '8.1.3/6.1': 'euiccCertificateInvalid',
  '8.1.3/6.3': 'euiccCertificateExpired',
  '8.1/6.1': 'euiccSignatureInvalid',
  '8.2.6/3.8': 'matchingIdRefused',
  '8.1.1/3.8': 'eidMismatch',
  '8.2/3.7': 'noEligibleProfile',
  '8.11.1/3.9': 'ciPKUnknown',
  '8.10.1/3.9': 'invalidTransactionId',
  '8.2.5/4.3': 'insufficientMemory',
  '8.8.5/4.10': 'downloadOrderExpired',
};

const BPP: Codes<typeof GetBoundProfilePackageErrorEsipa> = {
  '8.1/6.1': 'euiccSignatureInvalid',
  '8.2.7/2.2': 'confirmationCodeMissing',
  '8.2.7/3.8': 'confirmationCodeRefused',
  '8.2.7/6.4': 'confirmationCodeRetriesExceeded',
  '8.2/3.7': 'bppRebindingRefused',
  '8.8.5/4.10': 'downloadOrderExpired',
  '8.10.1/3.9': 'invalidTransactionId',
};

const CANCEL: Codes<typeof CancelSessionErrorEsipa> = {
  '8.10.1/3.9': 'invalidTransactionId',
  '8.1/6.1': 'euiccSignatureInvalid',
};

function lookup<T>(table: Codes<T>, o: Exclude<Es9Outcome, { kind: 'ok' }>): keyof T | 'undefinedError' {
  if (o.kind === 'transport') return 'undefinedError';
  return table[`${o.subjectCode}/${o.reasonCode}`] ?? 'undefinedError';
}

export const initiateAuthenticationError = (o: Exclude<Es9Outcome, { kind: 'ok' }>) => lookup(INITIATE, o);
export const authenticateClientError = (o: Exclude<Es9Outcome, { kind: 'ok' }>) => lookup(AUTHENTICATE, o);
export const getBoundProfilePackageError = (o: Exclude<Es9Outcome, { kind: 'ok' }>) => lookup(BPP, o);
export const cancelSessionError = (o: Exclude<Es9Outcome, { kind: 'ok' }>) => lookup(CANCEL, o);

/** A one-line description of a failed ES9+ call for the operation's errorMessage. */
export function describeEs9Failure(fn: string, o: Exclude<Es9Outcome, { kind: 'ok' }>): string {
  if (o.kind === 'transport') return `ES9+ ${fn}: SM-DP+ unreachable or no valid answer (${o.message})`;
  return `ES9+ ${fn}: SM-DP+ refused with ${o.subjectCode}/${o.reasonCode}${o.message !== undefined ? ` (${o.message})` : ''}`;
}

const CANCEL_REASON_NAMES = new Map<number, string>(Object.entries(CANCEL_SESSION_REASON).map(([name, value]) => [value, name]));

/**
 * The eUICC's reason in a CancelSessionResponse: BF41 A0 { 30 { 80 txId, 81 oid, 82 reason }, 5F37 } as the
 * AUTOMATIC TAGS module has it. Read leniently: a card that leaves the OID untagged (80 txId, 06 oid, 81 reason)
 * is understood too. The bytes are relayed to the SM-DP+ unchanged either way.
 */
export function cancelReasonOf(bytes: Uint8Array): string {
  try {
    const ok = childrenOf(readSingle(bytes))[0];
    const signed = ok?.tag === 0xa0 ? childrenOf(ok)[0] : undefined;
    const fields = signed?.tag === 0x30 ? childrenOf(signed) : [];
    const untaggedOid = fields.some((c) => c.tag === 0x06);
    const reason = fields.find((c) => c.tag === (untaggedOid ? 0x81 : 0x82));
    if (reason === undefined || reason.value.length !== 1) return 'undefinedReason';
    return CANCEL_REASON_NAMES.get(reason.value[0]!) ?? String(reason.value[0]);
  } catch {
    return 'undefinedReason';
  }
}
