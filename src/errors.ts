/**
 * The one error base of the project. Every error we throw on purpose is an EimError with a stable
 * `code` (listed in docs/errors.md and checked by test/errors.test.ts); layers add subclasses in their
 * own `errors.ts`. Domain errors carry no HTTP status: the API maps codes to statuses.
 */

export const ERROR_CODES = [
  'EIM_ERR_INVALID_ARGUMENT',
  'EIM_ERR_DECODE',
  'EIM_ERR_ENCODE',
  'EIM_ERR_SIGNATURE',
  'EIM_ERR_CERTIFICATE',
  'EIM_ERR_KEY',
  'EIM_ERR_CONFIG',
  'EIM_ERR_NOT_FOUND',
  'EIM_ERR_CONFLICT',
  'EIM_ERR_COUNTER',
  'EIM_ERR_RESULT_MISMATCH',
  'EIM_ERR_REPLAY',
  'EIM_ERR_STORE',
  'EIM_ERR_DTLS',
  'EIM_ERR_TRANSPORT',
  'EIM_ERR_TIMEOUT',
  'EIM_ERR_DEVICE_SLEEPING',
  'EIM_ERR_LWM2M',
  'EIM_ERR_UNAUTHORIZED',
  'EIM_ERR_FORBIDDEN',
  'EIM_ERR_RATE_LIMITED',
  'EIM_ERR_ACTIVATION_CODE',
  'EIM_ERR_SMDP',
  'EIM_ERR_INTERNAL',
] as const;

export type EimErrorCode = (typeof ERROR_CODES)[number];

export class EimError extends Error {
  readonly code: EimErrorCode;

  constructor(code: EimErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/** A caller passed a value that is not acceptable; the message names the argument. */
export class InvalidArgumentError extends EimError {
  readonly argument: string;

  constructor(argument: string, message: string, options?: { cause?: unknown }) {
    super('EIM_ERR_INVALID_ARGUMENT', `${argument}: ${message}`, options);
    this.argument = argument;
  }
}

/** Asserts a byte array, optionally of an exact length or a length range, naming the argument. */
export function assertBytes(value: unknown, argument: string, length?: number | { min: number; max: number }): asserts value is Uint8Array {
  if (!(value instanceof Uint8Array)) throw new InvalidArgumentError(argument, 'expected bytes');
  if (length === undefined) return;
  if (typeof length === 'number') {
    if (value.length !== length) throw new InvalidArgumentError(argument, `expected ${length} bytes, got ${value.length}`);
  } else if (value.length < length.min || value.length > length.max) {
    throw new InvalidArgumentError(argument, `expected ${length.min}..${length.max} bytes, got ${value.length}`);
  }
}
