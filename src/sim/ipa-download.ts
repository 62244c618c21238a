/**
 * The IPA's side of an indirect profile download (SGP.32 v1.2 §3.2.3.2): with a ProfileDownloadTriggerRequest
 * from the eIM, it runs ES10b on the virtual eUICC and reaches the SM-DP+ only through the eIM's ESipa relay
 * functions: InitiateAuthentication -> AuthenticateClient -> GetBoundProfilePackage -> (LoadBoundProfilePackage
 * on the card) -> HandleNotification with the ProfileInstallationResult; or CancelSession when told to give
 * up. Transport-free: `send` moves one ESipa message to the eIM and returns its answer.
 * The eUICC's signed objects are put into the ESipa messages as the card produced them (opaque TLVs).
 */
import {
  AuthenticateClientResponseEsipa,
  CancelSessionResponseEsipa,
  EsipaMessageFromIpaToEim,
  GetBoundProfilePackageResponseEsipa,
  InitiateAuthenticationResponseEsipa,
} from '../asn1/esipa.js';
import type { ProfileDownloadTriggerRequest } from '../asn1/ipa-euicc-data.js';
import type { CANCEL_SESSION_REASON } from '../asn1/rsp-download.js';
import { type CtxParams1, type DeviceInfo, ServerSigned1, SmdpSigned2 } from '../asn1/rsp.js';
import { decode, signedBytes } from '../asn1/schema.js';
import { encodeTlv } from '../asn1/tlv.js';
import type { VirtualEuicc } from './euicc/euicc.js';
import { authenticateServer, cancelSession, type Es10bTrust, getEuiccChallenge, loadBoundProfilePackage, prepareDownload } from './euicc/indirect-download.js';
import { parseActivationCode } from './euicc/profile-download.js';
import type { ProfileRecord } from './euicc/state.js';

export interface IndirectDownloadOptions {
  readonly euicc: VirtualEuicc;
  /** Sends one IPA -> eIM ESipa message; resolves with the eIM's answer (undefined when it has no body). */
  readonly send: (der: Uint8Array) => Promise<Uint8Array | undefined>;
  readonly trust: Es10bTrust;
  readonly deviceInfo?: DeviceInfo;
  /** Give the smdpAddress in InitiateAuthentication (default true; false leaves it to the eIM). */
  readonly sendSmdpAddress?: boolean;
  /** After AuthenticateClient, cancel the session with this reason instead of downloading. */
  readonly cancelWith?: keyof typeof CANCEL_SESSION_REASON;
}

export type IndirectDownloadStep = 'initiateAuthentication' | 'authenticateClient' | 'getBoundProfilePackage' | 'cancelSession' | 'trigger';

export type IndirectDownloadResult =
  | { readonly outcome: 'installed' | 'install-failed'; readonly pir: Uint8Array; readonly profile?: ProfileRecord; readonly bppSize: number }
  | { readonly outcome: 'cancelled'; readonly answer: string | number }
  /** The eIM answered an ESipa error arm (its code name) or nothing usable. */
  | { readonly outcome: 'error'; readonly step: IndirectDownloadStep; readonly error: string | number };

const DEVICE_INFO: DeviceInfo = { tac: Uint8Array.of(0x35, 0x29, 0x06, 0x11), deviceCapabilities: { eutranEpcSupportedRelease: Uint8Array.of(15, 0, 0) } };

export async function runIndirectDownload(trigger: ProfileDownloadTriggerRequest, o: IndirectDownloadOptions): Promise<IndirectDownloadResult> {
  const card = o.euicc;
  const data = trigger.profileDownloadData;
  const code = data !== undefined && 'activationCode' in data ? parseActivationCode(data.activationCode) : undefined;
  const smdpAddress = code?.smdpAddress ?? (data !== undefined && 'contactDefaultSmdp' in data ? card.state.defaultSmdpAddress : undefined);
  if (smdpAddress === undefined) return { outcome: 'error', step: 'trigger', error: 'no SM-DP+ address' };
  const ask = async (step: IndirectDownloadStep, message: Uint8Array): Promise<Uint8Array | IndirectDownloadResult> => {
    const answer = await o.send(message);
    return answer ?? { outcome: 'error', step, error: 'no answer' };
  };

  // 1. InitiateAuthentication
  const euiccChallenge = getEuiccChallenge(card);
  const a1 = await ask(
    'initiateAuthentication',
    EsipaMessageFromIpaToEim.encode({
      initiateAuthenticationRequestEsipa: {
        euiccChallenge,
        ...(o.sendSmdpAddress === false ? {} : { smdpAddress }),
        euiccInfo1: card.euiccInfo1(),
        ...(trigger.eimTransactionId !== undefined ? { eimTransactionId: trigger.eimTransactionId } : {}),
      },
    }),
  );
  if (!(a1 instanceof Uint8Array)) return a1;
  const r1 = decode(InitiateAuthenticationResponseEsipa, a1);
  if ('initiateAuthenticationErrorEsipa' in r1) return { outcome: 'error', step: 'initiateAuthentication', error: r1.initiateAuthenticationErrorEsipa };
  const ok1 = r1.initiateAuthenticationOkEsipa;
  const transactionId = ok1.transactionId ?? ok1.serverSigned1.transactionId;
  const ctxParams1: CtxParams1 = ok1.ctxParams1 ?? {
    ctxParamsForCommonAuthentication: { ...(ok1.matchingId ?? code?.matchingId ? { matchingId: ok1.matchingId ?? code?.matchingId } : {}), deviceInfo: o.deviceInfo ?? DEVICE_INFO },
  };

  // 2. AuthenticateServer on the card, AuthenticateClient through the eIM
  const asr = authenticateServer(
    card,
    { serverSigned1: signedBytes(ServerSigned1, ok1.serverSigned1), serverSignature1: ok1.serverSignature1, euiccCiPKIdToBeUsed: ok1.euiccCiPKIdentifierToBeUsed, serverCertificate: ok1.serverCertificate, ctxParams1 },
    o.trust,
  );
  const a2 = await ask('authenticateClient', EsipaMessageFromIpaToEim.encode({ authenticateClientRequestEsipa: { transactionId, authenticateServerResponse: asr } }));
  if (!(a2 instanceof Uint8Array)) return a2;
  const r2 = decode(AuthenticateClientResponseEsipa, a2);
  if ('authenticateClientErrorEsipa' in r2) return { outcome: 'error', step: 'authenticateClient', error: r2.authenticateClientErrorEsipa };
  if (!('authenticateClientOkDPEsipa' in r2)) return { outcome: 'error', step: 'authenticateClient', error: 'SM-DS answer to a download' };
  const ok2 = r2.authenticateClientOkDPEsipa;

  if (o.cancelWith !== undefined) {
    const csr = cancelSession(card, transactionId, o.cancelWith);
    const a = await ask('cancelSession', EsipaMessageFromIpaToEim.encode({ cancelSessionRequestEsipa: { transactionId, cancelSessionResponse: csr } }));
    if (!(a instanceof Uint8Array)) return a;
    const r = decode(CancelSessionResponseEsipa, a);
    return { outcome: 'cancelled', answer: 'cancelSessionOk' in r ? 'cancelSessionOk' : r.cancelSessionError };
  }

  // 3. PrepareDownload on the card, GetBoundProfilePackage through the eIM
  const pdr = prepareDownload(
    card,
    { smdpSigned2: signedBytes(SmdpSigned2, ok2.smdpSigned2), smdpSignature2: ok2.smdpSignature2, smdpCertificate: ok2.smdpCertificate, ...(ok2.hashCc !== undefined ? { hashCc: ok2.hashCc } : {}) },
    o.trust,
  );
  const a3 = await ask('getBoundProfilePackage', EsipaMessageFromIpaToEim.encode({ getBoundProfilePackageRequestEsipa: { transactionId, prepareDownloadResponse: pdr } }));
  if (!(a3 instanceof Uint8Array)) return a3;
  const r3 = decode(GetBoundProfilePackageResponseEsipa, a3);
  if ('getBoundProfilePackageErrorEsipa' in r3) return { outcome: 'error', step: 'getBoundProfilePackage', error: r3.getBoundProfilePackageErrorEsipa };
  const bpp = r3.getBoundProfilePackageOkEsipa.boundProfilePackage;

  // 4. LoadBoundProfilePackage, then the PIR to the eIM as the card signed it
  const loaded = loadBoundProfilePackage(card, bpp);
  await o.send(encodeTlv(0xbf3d, encodeTlv(0xa0, loaded.pir)));
  return { outcome: loaded.profile !== undefined ? 'installed' : 'install-failed', pir: loaded.pir, ...(loaded.profile !== undefined ? { profile: loaded.profile } : {}), bppSize: bpp.length };
}
