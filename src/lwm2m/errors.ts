/**
 * Errors of the LwM2M layer (OMA LwM2M 1.1.1 Core/Transport over CoAP, RFC 7252). Subclasses of the
 * project's EimError; what a device answers (4.04, 4.05 …) is data in the response, not an exception.
 */
import { EimError } from '../errors.js';

/** A CoAP datagram or a payload in an LwM2M content format could not be decoded. */
export class CoapDecodeError extends EimError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('EIM_ERR_DECODE', message, options);
  }
}

/** A confirmable request got no answer within its retransmission budget. */
export class RequestTimeoutError extends EimError {
  constructor(message: string) {
    super('EIM_ERR_TIMEOUT', message);
  }
}

/** A request was cancelled because the registration it belongs to went away or the server stopped. */
export class RequestCancelledError extends EimError {
  constructor(message: string) {
    super('EIM_ERR_LWM2M', message);
  }
}

/** Something broke an LwM2M rule (unknown registration, wrong object model, …). */
export class Lwm2mError extends EimError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('EIM_ERR_LWM2M', message, options);
  }
}
