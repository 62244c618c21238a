/**
 * How errors become HTTP replies (house style B4): domain errors carry an EimError code and no status; this
 * table maps each code to a status. Fastify's own errors (validation, content type, body size) keep their
 * FST_ERR_* code and status. Anything else is our bug: a 500 with a generic message, the stack logged.
 * Every reply body is `{ error, message, details? }` with `error` the stable code.
 */
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { EimError, InvalidArgumentError, type EimErrorCode } from '../errors.js';

export const STATUS_OF_CODE: Readonly<Record<EimErrorCode, number>> = {
  EIM_ERR_INVALID_ARGUMENT: 400,
  EIM_ERR_DECODE: 400,
  EIM_ERR_ENCODE: 500,
  EIM_ERR_SIGNATURE: 422,
  EIM_ERR_CERTIFICATE: 422,
  EIM_ERR_KEY: 500,
  EIM_ERR_CONFIG: 500,
  EIM_ERR_NOT_FOUND: 404,
  EIM_ERR_CONFLICT: 409,
  EIM_ERR_COUNTER: 409,
  EIM_ERR_RESULT_MISMATCH: 409,
  EIM_ERR_REPLAY: 409,
  EIM_ERR_STORE: 503,
  EIM_ERR_DTLS: 502,
  EIM_ERR_TRANSPORT: 502,
  EIM_ERR_TIMEOUT: 504,
  EIM_ERR_DEVICE_SLEEPING: 409,
  EIM_ERR_LWM2M: 502,
  EIM_ERR_UNAUTHORIZED: 401,
  EIM_ERR_FORBIDDEN: 403,
  EIM_ERR_RATE_LIMITED: 429,
  EIM_ERR_ACTIVATION_CODE: 400,
  EIM_ERR_SMDP: 502,
  EIM_ERR_INTERNAL: 500,
};

/** The body of every error reply. */
export interface ErrorBody {
  error: string;
  message: string;
  details?: unknown;
}

/** JSON Schema of ErrorBody, for route response schemas and the OpenAPI document. */
export const errorBodySchema = {
  type: 'object',
  required: ['error', 'message'],
  properties: {
    error: { type: 'string', description: 'Stable code: EIM_ERR_* or a fastify FST_ERR_* code.' },
    message: { type: 'string' },
    details: {},
  },
} as const;

/** An EimError thrown by the API itself with extra details for the client (e.g. per-field problems). */
export class ApiError extends EimError {
  readonly details: unknown;

  constructor(code: EimErrorCode, message: string, details?: unknown) {
    super(code, message);
    this.details = details;
  }
}

/** Status and body for any thrown value. `internal` is true when the error is ours and must be logged. */
export function errorReply(error: unknown): { status: number; body: ErrorBody; internal: boolean } {
  if (error instanceof EimError) {
    const status = STATUS_OF_CODE[error.code] ?? 500;
    const body: ErrorBody = { error: error.code, message: status >= 500 && error.code === 'EIM_ERR_INTERNAL' ? 'internal error' : error.message };
    if (error instanceof ApiError && error.details !== undefined) body.details = error.details;
    else if (error instanceof InvalidArgumentError) body.details = { argument: error.argument };
    return { status, body, internal: status >= 500 };
  }
  const fe = error as Partial<FastifyError>;
  if (fe.validation !== undefined) {
    return {
      status: 400,
      body: {
        error: 'FST_ERR_VALIDATION',
        message: fe.message ?? 'invalid request',
        details: fe.validation.map((v) => ({ in: fe.validationContext, path: v.instancePath, keyword: v.keyword, message: v.message, params: v.params })),
      },
      internal: false,
    };
  }
  if (typeof fe.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 500 && typeof fe.code === 'string') {
    return { status: fe.statusCode, body: { error: fe.code, message: fe.message ?? 'bad request' }, internal: false };
  }
  return { status: 500, body: { error: 'EIM_ERR_INTERNAL', message: 'internal error' }, internal: true };
}

/** The fastify error handler: replies with errorReply and logs our own failures with their stack. */
export function handleError(error: unknown, request: FastifyRequest, reply: FastifyReply): void {
  const { status, body, internal } = errorReply(error);
  if (internal) request.log.error({ err: error }, 'request failed');
  else request.log.info({ code: body.error, statusCode: status }, body.message);
  if (status === 429 && error instanceof ApiError && typeof (error.details as { retryAfterSeconds?: number })?.retryAfterSeconds === 'number') {
    reply.header('retry-after', String((error.details as { retryAfterSeconds: number }).retryAfterSeconds));
  }
  void reply.code(status).type('application/json; charset=utf-8').send(body);
}
