/**
 * The eIM as relay for an indirect profile download (SGP.32 v1.2 §3.2.3.2 "ES9+'", §5.14.1-.3, .7, .8):
 * each ESipa relay function from the IPA becomes the matching ES9+ call to the SM-DP+ of the download
 * operation (eIM in the LPA role), and the answer is mapped back. The SGP.22 signed objects travel
 * byte-exact both ways: requests carry the IPA's opaque TLVs, and answers are assembled from the SM-DP+'s
 * DER octets (never decoded and re-encoded).
 *
 * The eIM's own checks: the eimTransactionId must name a sent download operation of this eUICC
 * (invalidEimTransactionId), serverSigned1.serverAddress must be the activation code's SM-DP+
 * (smdpAddressMismatch), the SM-DP+ OID in serverCertificate must be the activation code's
 * (smdpOidMismatch). It supplies matchingId / ctxParams1 when the IPA asks the eIM to
 * (eimDownloadDataHandling / eimCtxParams1Generation), captures the eUICC and EUM certificates from
 * AuthenticateClient when it did not know them, ends the operation on every failure with the spec's reason,
 * and completes it from the ProfileInstallationResult. Notifications are forwarded by the durable outbox
 * (download-notification-forwarder.ts).
 */
import { pino, type Logger } from 'pino';
import { CtxParams1, type DeviceInfo, EUICCInfo1, type PendingNotification, ServerSigned1, StoreMetadataRequest } from '../asn1/rsp.js';
import { sig5f37 } from '../asn1/rsp-download.js';
import { decode, type Received } from '../asn1/schema.js';
import { childrenOf, encodeTlv, readSingle } from '../asn1/tlv.js';
import { registeredIdOf } from '../crypto/certificate.js';
import { parseActivationCode, type ActivationCode } from '../eim/activation-code.js';
import type { EimCore } from '../eim/eim-core.js';
import type { NotificationRecord } from '../store/records.js';
import type { Store } from '../store/store.js';
import { authenticateClientError, cancelReasonOf, cancelSessionError, describeEs9Failure, getBoundProfilePackageError, initiateAuthenticationError } from './download-errors.js';
import type { NotificationForwarder } from './download-notification-forwarder.js';
import { type DownloadRelay, relayErrors, type RelayRequest } from './download-relay.js';
import { DownloadOutcomes } from './download-outcomes.js';
import { DownloadSessions } from './download-sessions.js';
import { type Es9PlusClient, memberBytes } from './es9plus-client.js';
import type { EsipaContext } from './esipa-handler.js';

export interface Es9PlusDownloadRelayOptions {
  readonly core: EimCore;
  readonly store: Store;
  readonly client: Es9PlusClient;
  readonly forwarder?: NotificationForwarder;
  readonly sessions?: DownloadSessions;
  /** DeviceInfo the eIM puts in ctxParams1 it generates (the eIM does not learn the device's own). */
  readonly deviceInfo?: DeviceInfo;
  readonly now?: () => number;
  readonly logger?: Logger;
}

const DEFAULT_DEVICE_INFO: DeviceInfo = { tac: Uint8Array.of(0x35, 0x29, 0x06, 0x11), deviceCapabilities: {} };

const { initiateAuthentication: ia, authenticateClient: ac, getBoundProfilePackage: gb, cancelSession: cs } = relayErrors;


/** The contents of a primitive TLV (5F37 signature, 04 identifier) given with its tag. */
function valueOf(tlvBytes: Uint8Array, tag: number): Uint8Array | undefined {
  try {
    const t = readSingle(tlvBytes);
    return t.tag === tag ? t.value : undefined;
  } catch {
    return undefined;
  }
}

function sameAddress(a: string, b: string): boolean {
  return a.toLowerCase() === b.toLowerCase();
}

export class Es9PlusDownloadRelay implements DownloadRelay {
  readonly sessions: DownloadSessions;
  readonly #core: EimCore;
  readonly #store: Store;
  readonly #client: Es9PlusClient;
  readonly #forwarder: NotificationForwarder | undefined;
  readonly #deviceInfo: DeviceInfo;
  readonly #now: () => number;
  readonly #outcomes: DownloadOutcomes;
  readonly #log: Logger;

  constructor(options: Es9PlusDownloadRelayOptions) {
    this.#core = options.core;
    this.#store = options.store;
    this.#client = options.client;
    this.#forwarder = options.forwarder;
    this.#deviceInfo = options.deviceInfo ?? DEFAULT_DEVICE_INFO;
    this.#now = options.now ?? Date.now;
    this.sessions = options.sessions ?? new DownloadSessions({ now: this.#now });
    this.#log = (options.logger ?? pino({ level: 'silent' })).child({ component: 'download-relay' });
    this.#outcomes = new DownloadOutcomes({ core: options.core, store: this.#store, sessions: this.sessions, now: this.#now, logger: this.#log });
  }

  async handle(request: RelayRequest, context: EsipaContext): Promise<Uint8Array> {
    if ('initiateAuthenticationRequestEsipa' in request) return this.#initiate(request.initiateAuthenticationRequestEsipa, context);
    if ('authenticateClientRequestEsipa' in request) return this.#authenticate(request.authenticateClientRequestEsipa, context);
    if ('getBoundProfilePackageRequestEsipa' in request) return this.#getBpp(request.getBoundProfilePackageRequestEsipa, context);
    return this.#cancel(request.cancelSessionRequestEsipa, context);
  }

  eidOfNotification(n: Received<PendingNotification>): string | undefined {
    if (!('profileInstallationResult' in n)) return undefined;
    return this.sessions.get(n.profileInstallationResult.profileInstallationResultData.transactionId)?.eid;
  }

  /** After the core stored (or refused) the notification: a PIR of a relayed session ends it on the core's verdict. */
  async notificationReceived(eid: string, n: Received<PendingNotification>, stored: NotificationRecord | undefined): Promise<void> {
    if ('profileInstallationResult' in n) {
      const session = this.sessions.get(n.profileInstallationResult.profileInstallationResultData.transactionId, eid);
      if (session !== undefined) await this.#outcomes.completeFromPir(session, n, stored);
    }
    // Late PIRs and other notifications are forwarded too: the outbox holds whatever the core stored.
    this.#forwarder?.kick();
  }

  // ---- InitiateAuthentication ----

  async #initiate(r: { euiccChallenge: Uint8Array; smdpAddress?: string; euiccInfo1?: EUICCInfo1; eimTransactionId?: Uint8Array }, context: EsipaContext): Promise<Uint8Array> {
    const eid = context.eid;
    if (eid === undefined || r.eimTransactionId === undefined) {
      this.#log.info({ eid }, 'InitiateAuthentication without an EID from the transport or without eimTransactionId');
      return ia('invalidEimTransactionId');
    }
    const op = await this.#store.findOperationByTransactionId(eid, r.eimTransactionId);
    if (op === undefined || op.kind !== 'download' || op.state !== 'sent') return ia('invalidEimTransactionId');
    const params = op.params as { activationCode?: string };
    let code: ActivationCode | undefined;
    if (params.activationCode !== undefined) {
      try {
        code = parseActivationCode(params.activationCode);
      } catch {
        await this.#outcomes.fail(op, 'invalidDpAddress', 'the operation holds a malformed activation code');
        return ia('invalidDpAddress');
      }
    }
    if (code !== undefined && r.smdpAddress !== undefined && !sameAddress(r.smdpAddress, code.smdpAddress)) {
      await this.#outcomes.fail(op, 'smdpAddressMismatch', `the IPA asked for ${r.smdpAddress}, the activation code names ${code.smdpAddress}`);
      return ia('smdpAddressMismatch');
    }
    const smdpAddress = code?.smdpAddress ?? r.smdpAddress;
    if (smdpAddress === undefined) {
      await this.#outcomes.fail(op, 'invalidDpAddress', 'no SM-DP+ address: none in the operation, none from the IPA');
      return ia('invalidDpAddress');
    }
    if (r.euiccInfo1 === undefined) {
      await this.#outcomes.fail(op, 'undefinedError', 'InitiateAuthentication without euiccInfo1');
      return ia('undefinedError');
    }
    const out = await this.#client.initiateAuthentication(smdpAddress, { euiccChallenge: r.euiccChallenge, euiccInfo1: EUICCInfo1.encode(r.euiccInfo1) });
    if (out.kind !== 'ok') {
      const reason = initiateAuthenticationError(out);
      await this.#outcomes.fail(op, reason, describeEs9Failure('initiateAuthentication', out));
      return ia(reason);
    }
    const b = out.body;
    const txHex = typeof b.transactionId === 'string' && /^[0-9A-Fa-f]{2,32}$/.test(b.transactionId) && b.transactionId.length % 2 === 0 ? b.transactionId : undefined;
    const serverSigned1 = memberBytes(b, 'serverSigned1');
    const sig = memberBytes(b, 'serverSignature1');
    const ciPkId = memberBytes(b, 'euiccCiPKIdToBeUsed');
    const serverCertificate = memberBytes(b, 'serverCertificate');
    const serverSignature1 = sig && valueOf(sig, 0x5f37);
    const ciPkIdValue = ciPkId && valueOf(ciPkId, 0x04);
    let signed;
    try {
      signed = serverSigned1 && decode(ServerSigned1, serverSigned1);
      if (serverCertificate !== undefined) readSingle(serverCertificate);
    } catch {
      signed = undefined;
    }
    if (txHex === undefined || signed === undefined || serverSigned1 === undefined || serverSignature1 === undefined || ciPkIdValue === undefined || serverCertificate === undefined) {
      await this.#outcomes.fail(op, 'undefinedError', 'ES9+ initiateAuthentication: incomplete answer from the SM-DP+');
      return ia('undefinedError');
    }
    // Without an activation code (default SM-DP+) the SM-DP+ must still name the address the eIM called.
    if (!sameAddress(signed.serverAddress, smdpAddress)) {
      await this.#outcomes.fail(op, 'smdpAddressMismatch', `serverSigned1 names ${signed.serverAddress}, the ${code !== undefined ? 'activation code' : 'IPA'} ${smdpAddress}`);
      return ia('smdpAddressMismatch');
    }
    if (code?.smdpOid !== undefined && registeredIdOf(serverCertificate) !== code.smdpOid) {
      await this.#outcomes.fail(op, 'smdpOidMismatch', `serverCertificate does not carry the SM-DP+ OID ${code.smdpOid}`);
      return ia('smdpOidMismatch');
    }
    const features = await this.#ipaFeatures(eid);
    const matchingId = code?.matchingId;
    const supplyMatchingId = matchingId !== undefined && (features.includes('eimDownloadDataHandling') || features.includes('eimCtxParams1Generation'));
    const supplyCtx = features.includes('eimCtxParams1Generation');
    const now = this.#now();
    this.sessions.add({
      eid,
      operationId: op.id,
      eimTransactionId: r.eimTransactionId,
      smdpAddress,
      ...(code?.smdpOid !== undefined ? { smdpOid: code.smdpOid } : {}),
      ...(matchingId !== undefined ? { matchingId } : {}),
      transactionId: new Uint8Array(Buffer.from(txHex, 'hex')),
      step: 'initiated',
      createdAt: now,
      updatedAt: now,
    });
    await this.#outcomes.audit(op, 'download-relay', { step: 'initiateAuthentication', smdpAddress, transactionId: txHex.toUpperCase() });
    // Assembled from the received octets: serverSigned1 and serverCertificate go out exactly as the SM-DP+ sent them.
    const ok = encodeTlv(0xa0, [
      encodeTlv(0x80, Buffer.from(txHex, 'hex')),
      serverSigned1,
      sig5f37(serverSignature1),
      encodeTlv(0x04, ciPkIdValue),
      serverCertificate,
      ...(supplyMatchingId ? [encodeTlv(0x0c, new TextEncoder().encode(matchingId))] : []),
      ...(supplyCtx ? [encodeTlv(0xa2, CtxParams1.encode({ ctxParamsForCommonAuthentication: { ...(matchingId !== undefined ? { matchingId } : {}), deviceInfo: this.#deviceInfo } }))] : []),
    ]);
    return encodeTlv(0xbf39, ok);
  }

  async #ipaFeatures(eid: string): Promise<string[]> {
    const caps = (await this.#store.getEuicc(eid))?.ipaCapabilities as { ipaFeatures?: unknown } | undefined;
    return Array.isArray(caps?.ipaFeatures) ? caps.ipaFeatures.filter((f): f is string => typeof f === 'string') : [];
  }

  // ---- AuthenticateClient ----

  async #authenticate(r: { transactionId: Uint8Array; authenticateServerResponse: Uint8Array }, context: EsipaContext): Promise<Uint8Array> {
    const s = this.sessions.get(r.transactionId, context.eid);
    if (s === undefined || s.step !== 'initiated') return ac('invalidTransactionId');
    await this.#captureCertificates(s.eid, r.authenticateServerResponse);
    const out = await this.#client.authenticateClient(s.smdpAddress, s.transactionId, r.authenticateServerResponse);
    if (out.kind !== 'ok') {
      const reason = authenticateClientError(out);
      await this.#outcomes.failSession(s, reason, describeEs9Failure('authenticateClient', out));
      return ac(reason);
    }
    const b = out.body;
    const metadata = memberBytes(b, 'profileMetadata');
    const smdpSigned2 = memberBytes(b, 'smdpSigned2');
    const sig = memberBytes(b, 'smdpSignature2');
    const smdpSignature2 = sig && valueOf(sig, 0x5f37);
    const smdpCertificate = memberBytes(b, 'smdpCertificate');
    const hashCc = memberBytes(b, 'hashCc');
    let wellFormed = smdpSigned2 !== undefined && smdpSignature2 !== undefined && smdpCertificate !== undefined;
    try {
      if (smdpSigned2 !== undefined) readSingle(smdpSigned2);
      if (smdpCertificate !== undefined) readSingle(smdpCertificate);
      if (metadata !== undefined) s.iccid = decode(StoreMetadataRequest, metadata).iccid;
    } catch {
      wellFormed = false;
    }
    if (!wellFormed) {
      await this.#outcomes.failSession(s, 'undefinedError', 'ES9+ authenticateClient: incomplete answer from the SM-DP+');
      return ac('undefinedError');
    }
    s.step = 'authenticated';
    s.updatedAt = this.#now();
    const ok = encodeTlv(0xa0, [
      encodeTlv(0x80, s.transactionId),
      ...(metadata !== undefined ? [metadata] : []),
      smdpSigned2!,
      sig5f37(smdpSignature2!),
      smdpCertificate!,
      ...(hashCc !== undefined ? [encodeTlv(0x04, hashCc)] : []),
    ]);
    return encodeTlv(0xbf3b, ok);
  }

  /** Keeps the eUICC and EUM certificates of AuthenticateServerResponse when the eIM has none yet. */
  async #captureCertificates(eid: string, asr: Uint8Array): Promise<void> {
    try {
      const known = await this.#store.getEuicc(eid);
      if (known?.euiccCertificate !== undefined) return;
      const outer = readSingle(asr);
      const okArm = childrenOf(outer)[0];
      if (okArm === undefined || okArm.tag !== 0xa0) return;
      const certs = childrenOf(okArm).filter((c) => c.tag === 0x30).slice(1);
      if (certs.length !== 2) return;
      await this.#core.registerEuicc({ eid, euiccCertificate: certs[0]!.bytes.slice(), eumCertificate: certs[1]!.bytes.slice() });
      this.#log.info({ eid }, 'eUICC and EUM certificates captured from AuthenticateClient');
    } catch (e) {
      this.#log.warn({ eid, err: (e as Error).message }, 'certificates in AuthenticateClient not usable');
    }
  }

  // ---- GetBoundProfilePackage ----

  async #getBpp(r: { transactionId: Uint8Array; prepareDownloadResponse: Uint8Array }, context: EsipaContext): Promise<Uint8Array> {
    const s = this.sessions.get(r.transactionId, context.eid);
    if (s === undefined || s.step !== 'authenticated') return gb('invalidTransactionId');
    const out = await this.#client.getBoundProfilePackage(s.smdpAddress, s.transactionId, r.prepareDownloadResponse);
    if (out.kind !== 'ok') {
      const reason = getBoundProfilePackageError(out);
      await this.#outcomes.failSession(s, reason, describeEs9Failure('getBoundProfilePackage', out));
      return gb(reason);
    }
    const bpp = memberBytes(out.body, 'boundProfilePackage');
    let tag: number | undefined;
    try {
      tag = bpp && readSingle(bpp).tag;
    } catch {
      tag = undefined;
    }
    if (bpp === undefined || tag !== 0xbf36) {
      await this.#outcomes.failSession(s, 'undefinedError', 'ES9+ getBoundProfilePackage: no BoundProfilePackage in the answer');
      return gb('undefinedError');
    }
    s.step = 'bpp-sent';
    s.updatedAt = this.#now();
    await this.#outcomes.audit(await this.#store.getOperation(s.operationId), 'download-relay', { step: 'getBoundProfilePackage', bppBytes: bpp.length });
    return encodeTlv(0xbf3a, encodeTlv(0xa0, [encodeTlv(0x80, s.transactionId), bpp]));
  }

  // ---- CancelSession ----

  async #cancel(r: { transactionId: Uint8Array; cancelSessionResponse: Uint8Array }, context: EsipaContext): Promise<Uint8Array> {
    const s = this.sessions.get(r.transactionId, context.eid);
    if (s === undefined || s.step === 'ended') return cs('invalidTransactionId');
    const reason = cancelReasonOf(r.cancelSessionResponse);
    const out = await this.#client.cancelSession(s.smdpAddress, s.transactionId, r.cancelSessionResponse);
    // The session is over for the eUICC whatever the SM-DP+ says: the operation ends with the eUICC's reason.
    await this.#outcomes.failSession(s, reason, out.kind === 'ok' ? 'download session cancelled by the eUICC' : `download session cancelled by the eUICC; ${describeEs9Failure('cancelSession', out)}`);
    if (out.kind !== 'ok') return cs(cancelSessionError(out));
    return encodeTlv(0xbf41, encodeTlv(0xa0, new Uint8Array()));
  }
}
