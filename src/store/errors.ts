/**
 * Errors of the store layer. A failed precondition (compare-and-set, unique key) is a ConflictError; changing
 * a record that does not exist is a NotFoundError; anything the storage engine itself fails on is a StoreError.
 * Lookups never throw for a missing record: they return undefined.
 */
import { EimError } from '../errors.js';

/** A precondition of a commit failed (stale expected value, duplicate unique key): nothing was written. */
export class ConflictError extends EimError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('EIM_ERR_CONFLICT', message, options);
  }
}

/** A commit tried to change (or refer to) a record that does not exist: nothing was written. */
export class NotFoundError extends EimError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('EIM_ERR_NOT_FOUND', message, options);
  }
}

/** The storage engine failed, is closed, or its schema is not one this code can use. */
export class StoreError extends EimError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('EIM_ERR_STORE', message, options);
  }
}
