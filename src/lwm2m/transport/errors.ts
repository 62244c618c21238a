/**
 * Errors of the DTLS transport (RFC 6347): a session that does not exist or failed, and misuse of the
 * socket contract. Network input never throws: it is dropped and reported through the 'dropped' event.
 */
import { EimError } from '../../errors.js';

/** A DTLS operation failed: no session for the peer, session not established, engine error. */
export class DtlsError extends EimError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('EIM_ERR_DTLS', message, options);
  }
}
