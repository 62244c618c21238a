/**
 * SM-DP+ answers mapped to the ESipa error arms (SGP.22 v2.5 §5.6 subject/reason codes of ES9+,
 * SGP.32 v1.2 §6.3.2 error INTEGERs). Anything unlisted, and every transport failure, becomes
 * undefinedError; the operation keeps the SM-DP+ codes in its errorMessage.
 */
import type { AuthenticateClientErrorEsipa, CancelSessionErrorEsipa, GetBoundProfilePackageErrorEsipa, InitiateAuthenticationErrorEsipa } from '../asn1/esipa.js';
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
