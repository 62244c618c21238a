/**
 * Errors of the eIM domain. A result that cannot be trusted or matched is not applied: the caller gets a
 * ResultRejectedError naming why, and the audit log records the same reason.
 */
import { EimError, InvalidArgumentError } from '../errors.js';

export type RejectReason =
  | 'unknown-euicc'
  | 'unknown-operation'
  | 'eid-mismatch'
  | 'eim-id-mismatch'
  | 'counter-mismatch'
  | 'no-euicc-key'
  | 'bad-signature'
  | 'already-applied'
  | 'unsigned-error'
  | 'not-addressed-to-us';

const CODE_OF: Record<RejectReason, 'EIM_ERR_RESULT_MISMATCH' | 'EIM_ERR_SIGNATURE' | 'EIM_ERR_REPLAY' | 'EIM_ERR_NOT_FOUND'> = {
  'unknown-euicc': 'EIM_ERR_NOT_FOUND',
  'unknown-operation': 'EIM_ERR_RESULT_MISMATCH',
  'eid-mismatch': 'EIM_ERR_RESULT_MISMATCH',
  'eim-id-mismatch': 'EIM_ERR_RESULT_MISMATCH',
  'counter-mismatch': 'EIM_ERR_RESULT_MISMATCH',
  'no-euicc-key': 'EIM_ERR_SIGNATURE',
  'bad-signature': 'EIM_ERR_SIGNATURE',
  'already-applied': 'EIM_ERR_REPLAY',
  'unsigned-error': 'EIM_ERR_SIGNATURE',
  'not-addressed-to-us': 'EIM_ERR_RESULT_MISMATCH',
};

/** A result, error or notification from a device that changed nothing. */
export class ResultRejectedError extends EimError {
  readonly reason: RejectReason;

  constructor(reason: RejectReason, message: string) {
    super(CODE_OF[reason], `${reason}: ${message}`);
    this.reason = reason;
  }
}

/** An operator asked for something the eUICC would refuse by construction (e.g. two enables in one package). */
export class PackageRuleError extends InvalidArgumentError {}
