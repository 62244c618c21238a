/**
 * The IPA of a simulated device, without transport (SGP.32 v1.2 §3.1.1 eIM Package Retrieval and
 * Injection, §6.3 ESipa ASN.1 binding): it wraps one virtual eUICC, builds the IPA -> eIM messages and
 * processes the eIM -> IPA ones. A transport (the LwM2M client's object 3443, or HTTP/CoAP) moves the bytes.
 *
 * Retrieval: `pollRequest()` gives the GetEimPackageRequest (with notifyStateChange + stateChangeCause when
 * the profile state changed without the eIM); `handleEimMessage(GetEimPackageResponse)` runs the package and
 * returns the ProvideEimPackageResult; `handleEimMessage(ProvideEimPackageResultResponse)` applies the
 * eimAcknowledgements (ES10b.RemoveNotificationFromList) and returns undefined.
 * Injection: `handleEimMessage(TransferEimPackageRequest)` returns the TransferEimPackageResponse, either
 * with the result (`injectionReply: 'direct'`) or `eimPackageReceived` with the ProvideEimPackageResult
 * queued in the outbox (`'deferred'`; always so for a profile download trigger, which has no arm there).
 *
 * Messages the device sends on its own (deferred and duplicated results, released delayed results, the
 * result re-issued by a rollback) wait in the outbox: `takeOutbox()`. Outbox and delayed results live in
 * RAM (a reboot loses them, as on a device); what must survive is on the eUICC (stored results,
 * notifications), which the eIM can fetch again with an IpaEuiccDataRequest.
 * Malformed eIM messages are answered in-protocol (invalidPackageFormat) or ignored; only bytes that are
 * not an eIM -> IPA eIM-package message at all (tag other than BF4F / BF50 / BF4E) throw a DecodeError.
 * Indirect profile download (the ES9+' relay over ESipa) is not here yet: `ipaFeatures` advertises only
 * directRspServerCommunication; a later issue adds an ipa-download.ts beside this file.
 */
import { EuiccPackageResult, EuiccPackageResultDataSigned } from '../asn1/euicc-package.js';
import { GetEimPackageRequest, GetEimPackageResponse, ProvideEimPackageResultResponse, StateChangeCause, TransferEimPackageRequest } from '../asn1/esipa.js';
import { ProfileDownloadTriggerResult, type IpaCapabilities } from '../asn1/ipa-euicc-data.js';
import type { DeviceInfo } from '../asn1/rsp.js';
import { decode } from '../asn1/schema.js';
import { childrenOf, encodeTlv, readSingle } from '../asn1/tlv.js';
import { DecodeError } from '../asn1/errors.js';
import { integerOctets } from '../asn1/identifiers.js';
import type { ConnectivityLossOutcome, VirtualEuicc } from './euicc/euicc.js';
import { corruptOneByte, FaultPlan, otherEid, type ArmedFault } from './faults.js';
import { buildIpaEuiccDataResponse } from './ipa-euicc-data.js';

export type InjectionReply = 'direct' | 'deferred';

export interface IpaOptions {
  /** The eIM this IPA talks to (its association token goes into data responses); default: the first entry. */
  eimId?: string;
  injectionReply?: InjectionReply;
  capabilities?: IpaCapabilities;
  deviceInfo?: DeviceInfo;
  /** Last registered PLMN (3 bytes) for GetEimPackageRequest.rPLMN. */
  rPLMN?: Uint8Array;
  faults?: FaultPlan;
  /** Make the next direct profile downloads fail with profileDownloadError. */
  failDownloads?: boolean;
}

/** What a processed eIM package produced, before framing into an ESipa message. */
type Outcome =
  | { kind: 'epr'; epr: Uint8Array; notifications: Uint8Array[] }
  | { kind: 'data'; der: Uint8Array }
  | { kind: 'download'; der: Uint8Array }
  | { kind: 'error'; code: number };

const DEFAULT_CAPABILITIES: IpaCapabilities = {
  ipaFeatures: ['directRspServerCommunication'],
  ipaSupportedProtocols: ['ipaRetrieveCoaps', 'ipaInjectCoaps', 'ipaProprietary'],
};
const DEFAULT_DEVICE_INFO: DeviceInfo = { tac: Uint8Array.of(0x35, 0x29, 0x06, 0x11), deviceCapabilities: { eutranEpcSupportedRelease: Uint8Array.of(15, 0, 0) } };

const TAG_GET_EIM_PACKAGE = 0xbf4f;
const TAG_PROVIDE_RESULT = 0xbf50;
const TAG_TRANSFER = 0xbf4e;

export class Ipa {
  readonly euicc: VirtualEuicc;
  readonly faults: FaultPlan;
  readonly options: IpaOptions;
  #outbox: Uint8Array[] = [];
  #delayed: Uint8Array[] = [];

  constructor(euicc: VirtualEuicc, options: IpaOptions = {}) {
    this.euicc = euicc;
    this.options = options;
    this.faults = options.faults ?? new FaultPlan();
  }

  get eimId(): string | undefined {
    return this.options.eimId ?? this.euicc.eims[0]?.eimId;
  }

  /** GetEimPackageRequest for a poll; carries (and clears) a pending state change. */
  pollRequest(): Uint8Array {
    const req: GetEimPackageRequest = { eidValue: this.euicc.eid };
    const cause = this.euicc.takeStateChange();
    if (cause !== undefined) {
      req.notifyStateChange = true;
      req.stateChangeCause = Object.hasOwn(StateChangeCause, cause) ? (cause as keyof typeof StateChangeCause) : 'undefined';
    }
    if (this.options.rPLMN !== undefined) req.rPLMN = this.options.rPLMN;
    return GetEimPackageRequest.encode(req);
  }

  /** Processes one eIM -> IPA message; returns the IPA's answer, or undefined when there is none. */
  handleEimMessage(der: Uint8Array): Uint8Array | undefined {
    const tag = peekTag(der);
    if (tag === TAG_GET_EIM_PACKAGE) return this.#onGetEimPackageResponse(der);
    if (tag === TAG_PROVIDE_RESULT) {
      let res: ProvideEimPackageResultResponse;
      try {
        res = decode(ProvideEimPackageResultResponse, der);
      } catch {
        return undefined; // nothing to answer; unacknowledged items are simply delivered again later
      }
      // Any answer from the eIM proves the enabled profile has connectivity.
      this.euicc.confirmConnectivity();
      if ('eimAcknowledgements' in res) this.acknowledge(res.eimAcknowledgements);
      return undefined;
    }
    if (tag === TAG_TRANSFER) return this.#onTransfer(der);
    throw new DecodeError(`not an eIM -> IPA eIM package message (tag ${tag?.toString(16) ?? 'none'})`, 0);
  }

  /** ES10b.RemoveNotificationFromList for each acknowledged seqNumber (notifications and stored results). */
  acknowledge(seqNumbers: readonly number[]): void {
    for (const seq of seqNumbers) this.euicc.removeNotificationFromList(seq);
  }

  /** Messages the IPA wants to send on its own, oldest first; the outbox is emptied. */
  takeOutbox(): Uint8Array[] {
    const out = this.#outbox;
    this.#outbox = [];
    return out;
  }

  /** Moves results held back by delayResult into the outbox; returns how many. */
  releaseDelayed(): number {
    const n = this.#delayed.length;
    this.#outbox.push(...this.#delayed);
    this.#delayed = [];
    return n;
  }

  /** The device lost connectivity: rollback or fallback on the card; a rollback result is queued for delivery. */
  loseConnectivity(): ConnectivityLossOutcome {
    const before = new Set(this.euicc.storedPackageResults().map((r) => r.seqNumber));
    const outcome = this.euicc.loseConnectivity();
    if (outcome === 'rollback') {
      const fresh = this.euicc.storedPackageResults().filter((r) => !before.has(r.seqNumber));
      for (const r of fresh) this.#outbox.push(this.#frameProvide({ kind: 'epr', epr: r.der, notifications: [] }, this.euicc.eid));
    }
    return outcome;
  }

  // ---- retrieval ----

  #onGetEimPackageResponse(der: Uint8Array): Uint8Array | undefined {
    let res: GetEimPackageResponse;
    try {
      res = decode(GetEimPackageResponse, der);
    } catch {
      return this.#frameProvide({ kind: 'error', code: 1 }, this.euicc.eid); // invalidPackageFormat
    }
    this.euicc.confirmConnectivity(); // the poll reached the eIM over the enabled profile
    if ('eimPackageError' in res) return undefined;
    const outcome = this.#run(res, innerTlv(der));
    return outcome === undefined ? undefined : this.#deliver(outcome, (o, eid) => this.#frameProvide(o, eid));
  }

  // ---- injection ----

  #onTransfer(der: Uint8Array): Uint8Array | undefined {
    let req: TransferEimPackageRequest;
    try {
      req = decode(TransferEimPackageRequest, der);
    } catch {
      return transferResponse(encodeTlv(0x02, integerOctets(1))); // eimPackageError invalidPackageFormat
    }
    if ('eimAcknowledgements' in req) {
      this.euicc.confirmConnectivity();
      this.acknowledge(req.eimAcknowledgements);
      return transferResponse(Uint8Array.of(0x05, 0x00));
    }
    this.euicc.confirmConnectivity(); // the eIM reached us over the enabled profile
    const outcome = this.#run(req, innerTlv(der));
    if (outcome === undefined) return undefined;
    const deferred = this.options.injectionReply === 'deferred' || outcome.kind === 'download';
    if (deferred) {
      const msg = this.#deliver(outcome, (o, eid) => this.#frameProvide(o, eid));
      if (msg !== undefined) this.#outbox.push(msg);
      return transferResponse(Uint8Array.of(0x05, 0x00)); // eimPackageReceived
    }
    return this.#deliver(outcome, (o) => this.#frameTransfer(o));
  }

  // ---- common ----

  /** Executes the package; `packageDer` is the received inner TLV (BF51 / BF52 / BF54), byte-exact. */
  #run(pkg: GetEimPackageResponse | TransferEimPackageRequest, packageDer: Uint8Array): Outcome | undefined {
    if ('euiccPackageRequest' in pkg) {
      const from = this.euicc.state.nextSeqNumber;
      let epr: Uint8Array;
      try {
        epr = this.euicc.loadEuiccPackage(packageDer);
      } catch {
        return { kind: 'error', code: 1 };
      }
      const notifications = this.euicc.retrieveNotificationsList({ fromSeqNumber: from }).map((n) => n.der);
      return { kind: 'epr', epr, notifications };
    }
    if ('ipaEuiccDataRequest' in pkg) {
      const device = { eimId: this.eimId, capabilities: this.options.capabilities ?? DEFAULT_CAPABILITIES, deviceInfo: this.options.deviceInfo ?? DEFAULT_DEVICE_INFO };
      return { kind: 'data', der: buildIpaEuiccDataResponse(this.euicc, pkg.ipaEuiccDataRequest, device) };
    }
    if ('profileDownloadTriggerRequest' in pkg) {
      const { result } = this.euicc.profileDownload(pkg.profileDownloadTriggerRequest, { fail: this.options.failDownloads === true });
      return { kind: 'download', der: ProfileDownloadTriggerResult.encode(result) };
    }
    return undefined;
  }

  /** Applies the next armed fault to an outcome and frames it; undefined when nothing is delivered now. */
  #deliver(outcome: Outcome, frame: (o: Outcome, eid: string) => Uint8Array): Uint8Array | undefined {
    const fault: ArmedFault | undefined = this.faults.take();
    let eid = this.euicc.eid;
    let o = outcome;
    switch (fault?.kind) {
      case undefined:
        return frame(o, eid);
      case 'dropResult':
        return undefined;
      case 'resetCard':
        this.euicc.markStateChange('reset');
        return undefined;
      case 'delayResult':
        this.#delayed.push(frame(o, eid));
        return undefined;
      case 'duplicateResult': {
        const msg = frame(o, eid);
        this.#outbox.push(msg);
        return msg;
      }
      case 'wrongEid':
        eid = otherEid(eid);
        return frame(o, eid);
      case 'wrongCounter':
        o = this.#resignWithCounterShift(o, 1);
        return frame(o, eid);
      case 'corruptByte':
        if (fault.offset === undefined && o.kind === 'epr') return frame({ ...o, epr: corruptOneByte(o.epr) }, eid);
        return corruptOneByte(frame(o, eid), fault.offset);
    }
  }

  /** A validly signed result that reports another counterValue (a confused or malicious card). */
  #resignWithCounterShift(o: Outcome, shift: number): Outcome {
    if (o.kind !== 'epr') return o;
    const decoded = decode(EuiccPackageResult, o.epr);
    if (!('euiccPackageResultSigned' in decoded)) return o;
    const data = { ...decoded.euiccPackageResultSigned.euiccPackageResultDataSigned };
    data.counterValue += shift;
    const token = this.euicc.associationTokenOf(data.eimId);
    return { ...o, epr: this.euicc.signPackageResult(data as EuiccPackageResultDataSigned, token, false) };
  }

  #frameProvide(o: Outcome, eid: string): Uint8Array {
    return encodeTlv(TAG_PROVIDE_RESULT, [encodeTlv(0x5a, Buffer.from(eid, 'hex')), eimPackageResultArm(o)]);
  }

  #frameTransfer(o: Outcome): Uint8Array {
    if (o.kind === 'error') return transferResponse(encodeTlv(0x02, integerOctets(o.code)));
    return transferResponse(eimPackageResultArm(o));
  }
}

/** The EimPackageResult CHOICE arm, composed from the eUICC's bytes so signed parts stay byte-exact. */
function eimPackageResultArm(o: Outcome): Uint8Array {
  switch (o.kind) {
    case 'epr':
      return o.notifications.length === 0 ? o.epr : encodeTlv(0x30, [o.epr, encodeTlv(0xa0, o.notifications)]);
    case 'data':
    case 'download':
      return o.der;
    case 'error':
      return encodeTlv(0xa0, [encodeTlv(0x02, integerOctets(o.code))]); // eimPackageResultResponseError
  }
}

function transferResponse(arm: Uint8Array): Uint8Array {
  return encodeTlv(TAG_TRANSFER, arm);
}

function peekTag(der: Uint8Array): number | undefined {
  if (der.length === 0) return undefined;
  if ((der[0]! & 0x1f) !== 0x1f) return der[0];
  return der.length >= 2 ? der[0]! * 256 + der[1]! : undefined;
}

/** The single child TLV of an explicitly tagged CHOICE message (BF4F { BF51 ... }), as received. */
function innerTlv(der: Uint8Array): Uint8Array {
  const kids = childrenOf(readSingle(der));
  if (kids[0] === undefined) throw new DecodeError('empty eIM package message', 0);
  return kids[0].bytes;
}
