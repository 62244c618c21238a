/**
 * JSON Schema of an OperationRequest (src/eim/operation-request.ts): one branch per kind, told apart by the
 * `kind` constant (SGP.32 v1.2 §2.11: PSMOs, eCOs, IpaEuiccDataRequest, ProfileDownloadTriggerRequest). The
 * domain's parseOperationRequest still checks what a schema can not (ICCID digits, activation codes).
 * Branches do not forbid extra fields: with fastify's removeAdditional a failing oneOf branch would strip
 * fields the matching one needs.
 */
import { dateTimeSchema, hexSchema, iccidSchema } from './common.js';

const eimEntry = {
  type: 'object',
  required: ['eimId'],
  properties: {
    eimId: { type: 'string', minLength: 1, maxLength: 128 },
    eimFqdn: { type: 'string' },
    eimIdType: { type: 'string', enum: ['oid', 'fqdn', 'proprietary'] },
    counterValue: { type: 'integer', minimum: 0, maximum: 0x7fffff },
    associationToken: { type: 'integer', minimum: -1, maximum: 0x7fffffff },
    publicKeySpki: hexSchema,
    certificate: hexSchema,
    trustedTlsPublicKeySpki: hexSchema,
    trustedTlsCertificate: hexSchema,
    supportedProtocols: { type: 'array', items: { type: 'string' } },
    euiccCiPKId: hexSchema,
    indirectProfileDownload: { type: 'boolean' },
  },
} as const;

function kind(name: string, description: string, properties: Record<string, unknown> = {}, required: string[] = []): Record<string, unknown> {
  return { type: 'object', title: name, description, required: ['kind', ...required], properties: { kind: { const: name }, ...properties } };
}

export const operationRequestBranches = [
  kind('enable', 'Enable a profile (PSMO enable)', { iccid: iccidSchema, rollback: { type: 'boolean' } }, ['iccid']),
  kind('disable', 'Disable a profile (PSMO disable)', { iccid: iccidSchema }, ['iccid']),
  kind('delete', 'Delete a profile (PSMO delete)', { iccid: iccidSchema }, ['iccid']),
  kind('list-profiles', 'Read the profile list (PSMO listProfileInfo); at most one search criterion', {
    iccid: iccidSchema,
    isdpAid: hexSchema,
    profileClass: { type: 'string', enum: ['test', 'provisioning', 'operational'] },
    tagList: hexSchema,
  }),
  kind('get-rat', 'Read the Rules Authorisation Table (PSMO getRAT)'),
  kind('set-fallback', 'Set the fallback attribute (PSMO setFallbackAttribute)', { iccid: iccidSchema }, ['iccid']),
  kind('unset-fallback', 'Unset the fallback attribute (PSMO unsetFallbackAttribute)'),
  kind('immediate-enable', 'Configure immediate enable (PSMO configureImmediateEnable)', {
    enable: { type: 'boolean' },
    smdpOid: { type: 'string' },
    smdpAddress: { type: 'string' },
  }),
  kind('default-dp', 'Set the default SM-DP+ address (PSMO setDefaultDpAddress)', { address: { type: 'string', minLength: 1, maxLength: 255 } }, ['address']),
  kind('add-eim', 'Add an eIM (eCO addEim)', { eim: eimEntry }, ['eim']),
  kind('update-eim', 'Update an eIM (eCO updateEim)', { eim: eimEntry }, ['eim']),
  kind('delete-eim', 'Delete an eIM (eCO deleteEim)', { eimId: { type: 'string', minLength: 1, maxLength: 128 } }, ['eimId']),
  kind('list-eim', 'List the eIMs (eCO listEim)'),
  kind('euicc-data', 'Request eUICC data (IpaEuiccDataRequest)', {
    tagList: hexSchema,
    notificationSeqNumber: { type: 'integer', minimum: 0 },
    euiccCiPKId: hexSchema,
  }),
  kind('download', 'Trigger a profile download (ProfileDownloadTriggerRequest): one of activationCode, defaultSmdp, smdsAddress', {
    activationCode: { type: 'string', maxLength: 255 },
    defaultSmdp: { type: 'boolean' },
    smdsAddress: { type: 'string' },
  }),
];

/** Scheduling fields accepted beside the request in the body of POST /v1/euiccs/{eid}/operations. */
export const schedulingProperties = {
  notBefore: { ...dateTimeSchema, description: 'Not sent before this time' },
  expiresAt: { ...dateTimeSchema, description: 'Expires unsent after this time' },
} as const;

export const operationRequestSchema = {
  type: 'object',
  required: ['kind'],
  properties: { kind: { type: 'string', enum: operationRequestBranches.map((b) => (b.properties as { kind: { const: string } }).kind.const) }, ...schedulingProperties },
  oneOf: operationRequestBranches,
} as const;
