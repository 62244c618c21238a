/**
 * The SGP.22 v2.5 types SGP.32 v1.2 uses (RSPDefinitions and the SGP32- prefixed variants of
 * SGP32Definitions), one import point for the SGP.32 message schemas. Split by concern:
 * rsp-profile.ts (ProfileInfo, list request/response, metadata, policy rules), rsp-euicc-info.ts
 * (EUICCInfo1/2, DeviceInfo, CtxParams1), rsp-notification.ts (PendingNotification and its parts),
 * rsp-relay.ts (download objects the eIM relays: ServerSigned1, SmdpSigned2, opaque eUICC responses).
 */
export * from './rsp-profile.js';
export * from './rsp-euicc-info.js';
export * from './rsp-notification.js';
export * from './rsp-relay.js';
