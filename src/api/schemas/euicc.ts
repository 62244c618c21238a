/** Request schemas of the eUICC registry routes. */
import { dateTimeSchema, eidSchema, hexSchema, pageQueryProperties } from './common.js';

const label = { type: 'string', minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9._:/=-]+$' } as const;
export const labelsSchema = { type: 'array', maxItems: 64, uniqueItems: true, items: label } as const;

/** One eUICC to register (POST /v1/euiccs, one row of an import). */
export const registrationSchema = {
  type: 'object',
  required: ['eid'],
  additionalProperties: false,
  properties: {
    eid: eidSchema,
    endpoint: { type: 'string', minLength: 1, maxLength: 255, description: 'LwM2M endpoint name of the device' },
    labels: labelsSchema,
    pskIdentity: { type: 'string', minLength: 1, maxLength: 128, description: 'DTLS PSK identity (needs endpoint and psk)' },
    psk: { ...hexSchema, minLength: 2, maxLength: 128, description: 'DTLS pre-shared key, hex; never returned or logged' },
    certificateFingerprint: { type: 'string', pattern: '^[0-9a-fA-F]{64}$', description: 'SHA-256 of the device DTLS certificate, hex (needs endpoint)' },
    counterValue: { type: 'integer', minimum: 0, maximum: 0x7fffff, description: 'counterValue the eUICC holds for this eIM' },
    associationToken: { type: 'integer', minimum: 0, maximum: 0x7fffffff },
    euiccCertificate: { ...hexSchema, description: 'eUICC certificate DER, hex (with eumCertificate)' },
    eumCertificate: { ...hexSchema, description: 'EUM certificate DER, hex (with euiccCertificate)' },
  },
} as const;

export const importResultSchema = {
  type: 'object',
  required: ['total', 'registered', 'failed', 'results'],
  properties: {
    total: { type: 'integer' },
    registered: { type: 'integer' },
    failed: { type: 'integer' },
    results: {
      type: 'array',
      items: {
        type: 'object',
        required: ['row', 'ok'],
        properties: {
          row: { type: 'integer', description: 'Array index (JSON) or line number (CSV)' },
          eid: { type: 'string' },
          ok: { type: 'boolean' },
          created: { type: 'boolean' },
          error: { type: 'object', properties: { error: { type: 'string' }, message: { type: 'string' }, details: {} } },
        },
      },
    },
  },
} as const;

export const euiccListQuery = {
  type: 'object',
  additionalProperties: false,
  properties: {
    label,
    iccid: { type: 'string', pattern: '^[0-9]{18,19}[0-9Ff]?$', description: 'eUICCs holding this profile' },
    profileState: { type: 'string', enum: ['enabled', 'disabled', 'unknown'], description: 'with iccid: in this state' },
    endpoint: { type: 'string' },
    lastContactBefore: dateTimeSchema,
    lastContactAfter: dateTimeSchema,
    ...pageQueryProperties,
  },
} as const;
