/**
 * Transport-free ESipa (SGP.32 v1.2 §5.14, §6.3 ASN.1 binding): one IPA->eIM message in, the eIM->IPA answer
 * out, whatever carried it (LwM2M object 3443, HTTP POST /gsma/rsp2/asn1, CoAP POST /gsma/rsp2/asn1).
 * It decodes, dispatches to the eIM core and encodes; correlation is by ASN.1 content (EID,
 * eimTransactionId), never by the transport's connection or token.
 */
import { pino, type Logger } from 'pino';
import { DecodeError } from '../asn1/errors.js';
import {
  EsipaMessageFromIpaToEim,
  GetEimPackageResponse,
  type ProvideEimPackageResult,
  ProvideEimPackageResultResponse,
  TransferEimPackageRequest,
  type TransferEimPackageResponse,
} from '../asn1/esipa.js';
import { hexPreview } from '../asn1/hex.js';
import { eidCheckDigitsValid } from '../asn1/identifiers.js';
import { decode } from '../asn1/schema.js';
import { encodeTlv } from '../asn1/tlv.js';
import type { EimCore } from '../eim/eim-core.js';
import { ResultRejectedError } from '../eim/errors.js';
import { notificationBytes } from '../eim/notifications.js';
import { EimError } from '../errors.js';
import { type DownloadRelay, relayUnavailable, type RelayRequest } from './download-relay.js';

/** What the transport knows about the sender. */
export interface EsipaContext {
  /** The EID bound to the authenticated transport session (e.g. the LwM2M endpoint's EID). */
  readonly eid?: string;
}

export type EsipaOutcome =
  /** Send these bytes back (HTTP 200 body, CoAP 2.04 payload, /3443/0/2 write). */
  | { readonly kind: 'response'; readonly der: Uint8Array }
  /** Nothing to send back (HandleNotification, an injection-mode response). */
  | { readonly kind: 'empty' }
  /** The message could not be decoded or is not for the eIM (HTTP 400). */
  | { readonly kind: 'rejected'; readonly reason: string };

export interface EsipaHandlerOptions {
  readonly core: EimCore;
  readonly relay?: DownloadRelay;
  readonly logger?: Logger;
}

const NO_PACKAGE = GetEimPackageResponse.encode({ eimPackageError: 'noEimPackageAvailable' });
const EID_NOT_FOUND = GetEimPackageResponse.encode({ eimPackageError: 'eidNotFound' });
const INVALID_EID = GetEimPackageResponse.encode({ eimPackageError: 'invalidEid' });
const EMPTY_RESULT_RESPONSE = ProvideEimPackageResultResponse.encode({ emptyResponse: {} });

export class EsipaHandler {
  readonly #core: EimCore;
  readonly #relay: DownloadRelay | undefined;
  readonly #log: Logger;

  constructor(options: EsipaHandlerOptions) {
    this.#core = options.core;
    this.#relay = options.relay;
    this.#log = (options.logger ?? pino({ level: 'silent' })).child({ component: 'esipa' });
  }

  /** Handles one message; never throws for anything a device sends. */
  async handle(message: Uint8Array, context: EsipaContext = {}): Promise<EsipaOutcome> {
    let msg;
    try {
      msg = decode(EsipaMessageFromIpaToEim, message);
    } catch (e) {
      if (!(e instanceof DecodeError)) throw e;
      this.#log.warn({ eid: context.eid, err: e.message, bytes: hexPreview(message) }, 'undecodable ESipa message dropped');
      return { kind: 'rejected', reason: e.message };
    }
    try {
      if ('getEimPackageRequest' in msg) return await this.#getEimPackage(msg.getEimPackageRequest);
      if ('provideEimPackageResult' in msg) return await this.#provideResult(msg.provideEimPackageResult, context, true);
      if ('handleNotificationEsipa' in msg) {
        const h = msg.handleNotificationEsipa;
        if ('provideEimPackageResult' in h) {
          await this.#provideResult(h.provideEimPackageResult, context, false);
          return { kind: 'empty' };
        }
        const eid = context.eid ?? (this.#relay !== undefined ? this.#relay.eidOfNotification(h.pendingNotification) : undefined);
        if (eid === undefined) {
          this.#log.warn('notification without a known EID dropped');
          return { kind: 'empty' };
        }
        const stored = await this.#core.applyNotification(eid, h.pendingNotification, notificationBytes(h.pendingNotification)).catch((e: unknown) => this.#refused(eid, e));
        if (this.#relay !== undefined) await this.#relay.notificationReceived(eid, h.pendingNotification, stored);
        return { kind: 'empty' };
      }
      if ('transferEimPackageResponse' in msg) return await this.#transferResponse(msg.transferEimPackageResponse, context);
      if (this.#relay !== undefined) return { kind: 'response', der: await this.#relay.handle(msg as RelayRequest, context) };
      return { kind: 'response', der: relayUnavailable(msg as RelayRequest) };
    } catch (e) {
      // Our own failure (store down...) must not reach the transport as a crash: log it and answer nothing.
      this.#log.error({ eid: context.eid, err: e }, 'ESipa handling failed');
      return { kind: 'rejected', reason: e instanceof EimError ? e.message : 'internal error' };
    }
  }

  /**
   * Injection mode (TransferEimPackage, §3.1.1.2): the next TransferEimPackageRequest for a device that is
   * reachable now: pending acknowledgements first, then the next package; undefined when there is nothing.
   */
  async nextTransfer(eid: string): Promise<Uint8Array | undefined> {
    const acks = await this.#core.takeAcknowledgements(eid);
    if (acks.length > 0) return TransferEimPackageRequest.encode({ eimAcknowledgements: acks });
    const pkg = await this.#core.nextPackage(eid);
    return pkg === undefined ? undefined : encodeTlv(0xbf4e, pkg.der);
  }

  async #getEimPackage(req: { eidValue: string; notifyStateChange?: true; stateChangeCause?: string | number }): Promise<EsipaOutcome> {
    const eid = req.eidValue;
    if (!eidCheckDigitsValid(eid)) return { kind: 'response', der: INVALID_EID };
    try {
      if (req.notifyStateChange === true) await this.#core.reportStateChange(eid, String(req.stateChangeCause ?? 'undefined'));
      else await this.#core.touch(eid);
      const pkg = await this.#core.nextPackage(eid);
      // BF4F wraps the package's own TLV: the stored signed bytes go out untouched.
      return { kind: 'response', der: pkg === undefined ? NO_PACKAGE : encodeTlv(0xbf4f, pkg.der) };
    } catch (e) {
      if (e instanceof EimError && e.code === 'EIM_ERR_NOT_FOUND') return { kind: 'response', der: EID_NOT_FOUND };
      throw e;
    }
  }

  async #provideResult(p: ProvideEimPackageResult, context: EsipaContext, respond: boolean): Promise<EsipaOutcome> {
    const eid = p.eidValue ?? context.eid;
    if (eid === undefined) return { kind: 'response', der: ProvideEimPackageResultResponse.encode({ provideEimPackageResultError: 'missingEid' }) };
    if (context.eid !== undefined && p.eidValue !== undefined && p.eidValue !== context.eid) {
      // One device must not report for another.
      this.#log.warn({ eid: context.eid, claimed: p.eidValue }, 'result for another EID refused');
      return { kind: 'response', der: ProvideEimPackageResultResponse.encode({ provideEimPackageResultError: 'invalidEid' }) };
    }
    await this.#core.applyEimPackageResult(eid, p.eimPackageResult).catch((e: unknown) => this.#refused(eid, e));
    if (!respond) return { kind: 'empty' };
    const acks = await this.#core.takeAcknowledgements(eid);
    return { kind: 'response', der: acks.length > 0 ? ProvideEimPackageResultResponse.encode({ eimAcknowledgements: acks }) : EMPTY_RESULT_RESPONSE };
  }

  async #transferResponse(r: TransferEimPackageResponse, context: EsipaContext): Promise<EsipaOutcome> {
    const eid = context.eid;
    if (eid === undefined) return { kind: 'rejected', reason: 'TransferEimPackageResponse on a transport without an EID' };
    if ('eimPackageReceived' in r) return { kind: 'empty' };
    if ('eimPackageError' in r) {
      await this.#core.applyEimPackageResult(eid, { eimPackageResultResponseError: { eimPackageResultErrorCode: r.eimPackageError } }).catch((e: unknown) => this.#refused(eid, e));
      return { kind: 'empty' };
    }
    await this.#core.applyEimPackageResult(eid, r).catch((e: unknown) => this.#refused(eid, e));
    return { kind: 'empty' };
  }

  /** A refusal (already audited by the core) is logged and yields nothing; any other failure propagates. */
  #refused(eid: string, e: unknown): undefined {
    if (e instanceof ResultRejectedError) {
      this.#log.info({ eid, reason: e.reason }, 'result refused');
      return undefined;
    }
    throw e;
  }
}
