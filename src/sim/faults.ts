/**
 * Faults a simulated device can inject into its IPA -> eIM results (issue 4, "Injected faults"), so the
 * eIM's handling of lost, repeated, late, damaged and wrong answers can be tested (SGP.32 v1.2 §3.1.1:
 * results may arrive late, twice, or not at all). Each armed fault applies to exactly one result, in the
 * order armed.
 *
 * - dropResult: the result is lost in transit (it stays stored on the eUICC until acknowledged).
 * - duplicateResult: the result is delivered, and the same bytes are queued to be delivered again.
 * - delayResult: the result is held back until `Ipa.releaseDelayed()` (e.g. "days later").
 * - corruptByte: one byte of the result is flipped (by default the last byte of the eUICC signature).
 * - wrongCounter: the EuiccPackageResult reports counterValue + 1, validly re-signed by the eUICC.
 * - wrongEid: ProvideEimPackageResult names another (well-formed) EID.
 * - resetCard: the card resets after executing the package and before the IPA reads the result: nothing
 *   is delivered, the result stays stored, the next poll carries stateChangeCause reset.
 */
import { eidWithCheckDigits } from '../asn1/identifiers.js';
import { InvalidArgumentError } from '../errors.js';

export const FAULT_KINDS = ['dropResult', 'duplicateResult', 'delayResult', 'corruptByte', 'wrongCounter', 'wrongEid', 'resetCard'] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

export interface ArmedFault {
  readonly kind: FaultKind;
  /** corruptByte: index into the delivered message (negative counts from the end). */
  readonly offset?: number;
}

export class FaultPlan {
  #armed: ArmedFault[] = [];

  /** Arms `kind` for the next `times` results. */
  arm(kind: FaultKind, options: { times?: number; offset?: number } = {}): this {
    if (!FAULT_KINDS.includes(kind)) throw new InvalidArgumentError('kind', `unknown fault ${String(kind)}; expected one of ${FAULT_KINDS.join(', ')}`);
    const times = options.times ?? 1;
    if (!Number.isSafeInteger(times) || times < 1) throw new InvalidArgumentError('times', 'expected a positive integer');
    for (let i = 0; i < times; i++) this.#armed.push(options.offset === undefined ? { kind } : { kind, offset: options.offset });
    return this;
  }

  /** The fault for the next result, removed from the plan; undefined when none is armed. */
  take(): ArmedFault | undefined {
    return this.#armed.shift();
  }

  get pending(): readonly ArmedFault[] {
    return [...this.#armed];
  }

  clear(): void {
    this.#armed = [];
  }
}

/** A copy of `bytes` with the byte at `offset` (negative: from the end) inverted. */
export function corruptOneByte(bytes: Uint8Array, offset = -1): Uint8Array {
  const i = offset < 0 ? bytes.length + offset : offset;
  if (i < 0 || i >= bytes.length) throw new InvalidArgumentError('offset', `outside the ${bytes.length}-byte message`);
  const out = bytes.slice();
  out[i] = out[i]! ^ 0xff;
  return out;
}

/** Another well-formed EID: same prefix, digit 29 changed, check digits recomputed. */
export function otherEid(eid: string): string {
  const d = (Number(eid[29]) + 1) % 10;
  return eidWithCheckDigits(`${eid.slice(0, 29)}${d}`);
}
