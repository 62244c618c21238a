/**
 * Errors of the wire format. A DecodeError always says where: the absolute byte offset in the decoded
 * buffer and the path of field names from the message root, so a bad byte from a device can be found.
 */
import { EimError } from '../errors.js';

export class DecodeError extends EimError {
  /** Absolute offset of the offending byte in the buffer given to the decoder. */
  readonly offset: number;
  /** Field names from the outermost type to the failing element, outermost first. */
  readonly path: string[];
  readonly reason: string;

  constructor(reason: string, offset: number, path: string[] = []) {
    super('EIM_ERR_DECODE', DecodeError.format(reason, offset, path));
    this.reason = reason;
    this.offset = offset;
    this.path = path;
  }

  /** Sets the field path once, where the decoder knows it (the leaf that threw does not). */
  atPath(path: readonly string[]): DecodeError {
    if (this.path.length === 0 && path.length > 0) {
      this.path.push(...path);
      this.message = DecodeError.format(this.reason, this.offset, this.path);
    }
    return this;
  }

  private static format(reason: string, offset: number, path: string[]): string {
    return `${reason} at byte ${offset}${path.length > 0 ? ` (${path.join('.')})` : ''}`;
  }
}

/** A value given to an encoder does not fit its ASN.1 type; `path` names the field. */
export class EncodeError extends EimError {
  readonly path: string[];
  readonly reason: string;

  constructor(reason: string, path: string[] = []) {
    super('EIM_ERR_ENCODE', EncodeError.format(reason, path));
    this.reason = reason;
    this.path = path;
  }

  within(segment: string): EncodeError {
    this.path.unshift(segment);
    this.message = EncodeError.format(this.reason, this.path);
    return this;
  }

  private static format(reason: string, path: string[]): string {
    return path.length > 0 ? `${path.join('.')}: ${reason}` : reason;
  }
}
