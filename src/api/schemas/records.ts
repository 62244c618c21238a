/** Response schemas of the API's resources (the shapes made by src/api/views.ts). */
import { OPERATION_STATES } from '../../store/records.js';
import { dateTimeSchema, eidSchema } from './common.js';

export const euiccSchema = {
  type: 'object',
  required: ['eid', 'labels', 'createdAt', 'updatedAt', 'hasCertificates'],
  properties: {
    eid: eidSchema,
    endpoint: { type: 'string' },
    labels: { type: 'array', items: { type: 'string' } },
    createdAt: dateTimeSchema,
    updatedAt: dateTimeSchema,
    lastContactAt: dateTimeSchema,
    hasCertificates: { type: 'boolean', description: 'The eUICC and EUM certificates are known (results can be verified)' },
    defaultSmdpAddress: { type: 'string' },
    resync: { type: 'object', properties: { cause: { type: 'string' }, since: dateTimeSchema } },
    counterValue: { type: 'integer', description: 'Last counterValue used by this eIM (single-eUICC view only)' },
    associationToken: { type: 'integer' },
  },
} as const;

export const profileSchema = {
  type: 'object',
  required: ['iccid', 'state', 'fallbackAttribute', 'policyRules', 'updatedAt'],
  properties: {
    iccid: { type: 'string' },
    aid: { type: 'string' },
    state: { type: 'string', enum: ['enabled', 'disabled', 'unknown'] },
    profileClass: { type: 'string', enum: ['test', 'provisioning', 'operational'] },
    nickname: { type: 'string' },
    serviceProviderName: { type: 'string' },
    profileName: { type: 'string' },
    fallbackAttribute: { type: 'boolean' },
    policyRules: { type: 'array', items: { type: 'string' } },
    lastVerifiedAt: dateTimeSchema,
    updatedAt: dateTimeSchema,
  },
} as const;

export const profileHistorySchema = {
  type: 'object',
  required: ['id', 'iccid', 'at', 'change'],
  properties: { id: { type: 'integer' }, iccid: { type: 'string' }, at: dateTimeSchema, change: { type: 'string' }, operationId: { type: 'string' } },
} as const;


export const operationSchema = {
  type: 'object',
  required: ['id', 'eid', 'kind', 'params', 'state', 'attempts', 'createdAt', 'updatedAt'],
  properties: {
    id: { type: 'string' },
    eid: eidSchema,
    kind: { type: 'string' },
    params: { type: 'object', additionalProperties: true },
    state: { type: 'string', enum: OPERATION_STATES },
    counterValue: { type: 'integer' },
    eimTransactionId: { type: 'string', description: 'hex' },
    attempts: { type: 'integer' },
    createdAt: dateTimeSchema,
    updatedAt: dateTimeSchema,
    sentAt: dateTimeSchema,
    completedAt: dateTimeSchema,
    notBefore: dateTimeSchema,
    expiresAt: dateTimeSchema,
    result: { description: 'What the eUICC answered (JSON)' },
    errorCode: { type: 'string' },
    errorMessage: { type: 'string' },
    campaignId: { type: 'string' },
  },
} as const;

export const tokenSchema = {
  type: 'object',
  required: ['id', 'name', 'role', 'createdAt'],
  properties: {
    id: { type: 'string' },
    name: { type: 'string' },
    role: { type: 'string', enum: ['read', 'operate', 'admin'] },
    createdAt: dateTimeSchema,
    lastUsedAt: dateTimeSchema,
  },
} as const;

export const webhookSchema = {
  type: 'object',
  required: ['id', 'url', 'eventTypes', 'createdAt', 'deliveredEventId', 'attempts'],
  properties: {
    id: { type: 'string' },
    url: { type: 'string' },
    eventTypes: { type: 'array', items: { type: 'string' } },
    createdAt: dateTimeSchema,
    deliveredEventId: { type: 'integer', description: 'Every event up to this id was delivered' },
    attempts: { type: 'integer', description: 'Failed attempts at the next event' },
    nextAttemptAt: dateTimeSchema,
    lastError: { type: 'string' },
  },
} as const;

export const deviceSchema = {
  type: 'object',
  required: ['endpoint', 'queueMode', 'awake'],
  properties: {
    endpoint: { type: 'string' },
    eid: { type: 'string' },
    binding: { type: 'string' },
    queueMode: { type: 'boolean' },
    address: { type: 'string' },
    registeredAt: dateTimeSchema,
    lastUplinkAt: dateTimeSchema,
    awake: { type: 'boolean' },
    nextExpectedUplinkAt: dateTimeSchema,
    dtlsIdentity: { type: 'string' },
    lifetime: { type: 'integer' },
    euicc: euiccSchema,
  },
} as const;
