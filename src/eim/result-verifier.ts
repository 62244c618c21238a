/**
 * Verifying what the eUICC returns for an eIM Package (SGP.32 v1.2 §2.11.2, notes §(c)): the signature over
 * the received EuiccPackageResultDataSigned / EuiccPackageErrorDataSigned bytes followed by the association
 * token TLV, with the validated eUICC key, and the echo of eimId, counterValue and eimTransactionId.
 * Nothing here changes state; a failure is a ResultRejectedError.
 */
import type { EuiccPackageErrorDataSigned, EuiccPackageResult, EuiccPackageResultDataSigned } from '../asn1/euicc-package.js';
import { EuiccPackageErrorDataSigned as ErrorDataCodec, EuiccPackageResultDataSigned as ResultDataCodec } from '../asn1/euicc-package.js';
import { bytesEqual, toHex } from '../asn1/hex.js';
import { signedBytes } from '../asn1/schema.js';
import type { AsyncVerifier, PublicKeyInput, VerifyResult } from '../crypto/ecdsa.js';
import { ResultRejectedError } from './errors.js';
import { signatureInput } from './package-signing.js';

export interface ExpectedResult {
  readonly eimId: string;
  readonly counterValue: number;
  readonly eimTransactionId?: Uint8Array;
  readonly associationToken?: number;
}

export type VerifiedResult =
  | { readonly kind: 'result'; readonly data: EuiccPackageResultDataSigned; readonly signatureEncoding: 'raw' | 'der' }
  | { readonly kind: 'error'; readonly data: EuiccPackageErrorDataSigned; readonly signatureEncoding: 'raw' | 'der' };

/** The eimTransactionId and counterValue a result claims, read before verification to find its operation. */
export function resultCorrelation(result: EuiccPackageResult): { eimId: string; counterValue?: number; eimTransactionId?: Uint8Array } {
  if ('euiccPackageResultSigned' in result) return result.euiccPackageResultSigned.euiccPackageResultDataSigned;
  if ('euiccPackageErrorSigned' in result) return result.euiccPackageErrorSigned.euiccPackageErrorDataSigned;
  return result.euiccPackageErrorUnsigned;
}

/** What a signed result carries: its data, the signature, and the exact bytes the signature covers. */
function signedParts(result: EuiccPackageResult, associationToken: number | undefined) {
  if ('euiccPackageErrorUnsigned' in result) {
    throw new ResultRejectedError('unsigned-error', 'the eUICC answered with an unsigned error, which cannot be authenticated');
  }
  const [data, signature, bytes, kind] =
    'euiccPackageResultSigned' in result
      ? ([result.euiccPackageResultSigned.euiccPackageResultDataSigned, result.euiccPackageResultSigned.euiccSignEPR, signedBytes(ResultDataCodec, result.euiccPackageResultSigned.euiccPackageResultDataSigned), 'result'] as const)
      : ([result.euiccPackageErrorSigned.euiccPackageErrorDataSigned, result.euiccPackageErrorSigned.euiccSignEPE, signedBytes(ErrorDataCodec, result.euiccPackageErrorSigned.euiccPackageErrorDataSigned), 'error'] as const);
  return { data, signature, input: signatureInput(bytes, associationToken), kind };
}

function checked(parts: ReturnType<typeof signedParts>, verdict: VerifyResult, expected: ExpectedResult): VerifiedResult {
  const { data, kind } = parts;
  if (!verdict.valid) throw new ResultRejectedError('bad-signature', 'the eUICC signature does not verify over the received bytes');
  if (data.eimId !== expected.eimId) throw new ResultRejectedError('eim-id-mismatch', `result is for eIM "${data.eimId}"`);
  if (data.counterValue !== expected.counterValue) {
    throw new ResultRejectedError('counter-mismatch', `result echoes counterValue ${data.counterValue}, the package had ${expected.counterValue}`);
  }
  if (expected.eimTransactionId !== undefined && data.eimTransactionId !== undefined && !bytesEqual(data.eimTransactionId, expected.eimTransactionId)) {
    throw new ResultRejectedError('unknown-operation', `eimTransactionId ${toHex(data.eimTransactionId)} is not the package's`);
  }
  const signatureEncoding = verdict.encoding === 'der' ? 'der' : 'raw';
  return kind === 'result'
    ? { kind, data: data as EuiccPackageResultDataSigned, signatureEncoding }
    : { kind, data: data as EuiccPackageErrorDataSigned, signatureEncoding };
}

/** Verifies a signed result with `verify` (the core's: a CryptoPool worker, or this thread) and checks its echoes. */
export async function verifyEuiccPackageResultWith(
  verify: AsyncVerifier,
  result: EuiccPackageResult,
  expected: ExpectedResult,
  euiccKey: PublicKeyInput,
): Promise<VerifiedResult> {
  const parts = signedParts(result, expected.associationToken);
  return checked(parts, await verify(euiccKey, parts.input, parts.signature), expected);
}
