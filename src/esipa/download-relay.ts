/**
 * The seam for indirect profile download (SGP.32 v1.2 §3.2.3.2, ES9+'): the ESipa relay functions
 * (InitiateAuthentication, AuthenticateClient, GetBoundProfilePackage, CancelSession) are handed to a relay
 * that talks to the SM-DP+; the handler itself stays transport- and SM-DP+-free.
 */
import {
  AuthenticateClientErrorEsipa,
  AuthenticateClientResponseEsipa,
  CancelSessionErrorEsipa,
  CancelSessionResponseEsipa,
  type EsipaMessageFromIpaToEim,
  GetBoundProfilePackageErrorEsipa,
  GetBoundProfilePackageResponseEsipa,
  InitiateAuthenticationErrorEsipa,
  InitiateAuthenticationResponseEsipa,
} from '../asn1/esipa.js';
import type { PendingNotification } from '../asn1/rsp.js';
import type { Received } from '../asn1/schema.js';
import type { NotificationRecord } from '../store/records.js';
import type { EsipaContext } from './esipa-handler.js';

export type RelayRequest = Extract<
  EsipaMessageFromIpaToEim,
  { initiateAuthenticationRequestEsipa: unknown } | { authenticateClientRequestEsipa: unknown } | { getBoundProfilePackageRequestEsipa: unknown } | { cancelSessionRequestEsipa: unknown }
>;

export interface DownloadRelay {
  /** Answers one relay function with the DER of its ESipa response (an error arm when the SM-DP+ fails). */
  handle(request: RelayRequest, context: EsipaContext): Promise<Uint8Array>;
  /** The EID a notification belongs to when the transport does not say (e.g. by its download session). */
  eidOfNotification(n: Received<PendingNotification>): string | undefined;
  /**
   * Called after the core stored a notification (`stored`, its verdict in `verified`; for a duplicate the copy
   * stored first) or refused it (undefined): forwards it to its notificationAddress, and a PIR ends its download.
   */
  notificationReceived(eid: string, n: Received<PendingNotification>, stored: NotificationRecord | undefined): Promise<void>;
}

/** The error arm of each relay function's ESipa response (what the IPA hears when a download step fails). */
export const relayErrors = {
  initiateAuthentication: (code: keyof typeof InitiateAuthenticationErrorEsipa): Uint8Array =>
    InitiateAuthenticationResponseEsipa.encode({ initiateAuthenticationErrorEsipa: code }),
  authenticateClient: (code: keyof typeof AuthenticateClientErrorEsipa): Uint8Array => AuthenticateClientResponseEsipa.encode({ authenticateClientErrorEsipa: code }),
  getBoundProfilePackage: (code: keyof typeof GetBoundProfilePackageErrorEsipa): Uint8Array =>
    GetBoundProfilePackageResponseEsipa.encode({ getBoundProfilePackageErrorEsipa: code }),
  cancelSession: (code: keyof typeof CancelSessionErrorEsipa): Uint8Array => CancelSessionResponseEsipa.encode({ cancelSessionError: code }),
} as const;

/** The undefinedError answer to a relay request, for an eIM without a download relay. */
export function relayUnavailable(request: RelayRequest): Uint8Array {
  if ('initiateAuthenticationRequestEsipa' in request) return relayErrors.initiateAuthentication('undefinedError');
  if ('authenticateClientRequestEsipa' in request) return relayErrors.authenticateClient('undefinedError');
  if ('getBoundProfilePackageRequestEsipa' in request) return relayErrors.getBoundProfilePackage('undefinedError');
  return relayErrors.cancelSession('undefinedError');
}
