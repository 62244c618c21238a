/**
 * JSON Schemas shared by the routes: they validate requests, shape responses, and are copied as they are
 * into the OpenAPI document (src/api/openapi.ts), so the document can not drift from what is enforced.
 */
import { errorBodySchema } from '../errors.js';

/** The error body, inlined wherever a route documents an error status. */
export const errorSchema = errorBodySchema;

/** Standard error responses of an authenticated route. */
export function errorResponses(...statuses: number[]): Record<number, unknown> {
  return Object.fromEntries([401, 403, 429, ...statuses].map((s) => [s, errorSchema]));
}

/** A 32-digit EID with valid check digits (format 'eid' is registered with the validator in app.ts). */
export const eidSchema = { type: 'string', pattern: '^[0-9]{32}$', format: 'eid', description: 'EID: 32 digits with ISO 7064 MOD 97-10 check digits' } as const;

export const iccidSchema = { type: 'string', pattern: '^[0-9]{18,19}[0-9Ff]?$', description: 'ICCID (18 to 20 digits, an F filler allowed)' } as const;

export const hexSchema = { type: 'string', pattern: '^([0-9a-fA-F]{2})*$' } as const;

export const dateTimeSchema = { type: 'string', format: 'date-time' } as const;

export const eidParams = { type: 'object', required: ['eid'], properties: { eid: eidSchema } } as const;

export const idParams = { type: 'object', required: ['id'], properties: { id: { type: 'string', minLength: 1, maxLength: 128 } } } as const;

export const pageQueryProperties = {
  cursor: { type: 'string', maxLength: 512, description: 'nextCursor of the previous page' },
  limit: { type: 'integer', minimum: 1, maximum: 1000, default: 100 },
} as const;

/** A page of `item`: `nextCursor` is absent on the last page. */
export function pageSchema(item: unknown): Record<string, unknown> {
  return { type: 'object', required: ['items'], properties: { items: { type: 'array', items: item }, nextCursor: { type: 'string' } } };
}
