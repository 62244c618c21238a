/**
 * The IPA's answer to an IpaEuiccDataRequest (SGP.32 v1.2 §2.11.3, §5.14; notes (b)): it gathers each
 * requested IpaEuiccData member from the eUICC (RetrieveNotificationsList, the stored eUICC Package Results,
 * GetEUICCInfo1/2, GetCerts, the eIM's association token) or from the device (ipaCapabilities, deviceInfo).
 * A tag outside the IpaEuiccData members -> incorrectTagList; a CI the card does not know -> euiccCiPKIdNotFound.
 */
import { EuiccPackageResult } from '../asn1/euicc-package.js';
import { bytesEqual } from '../asn1/hex.js';
import { IpaEuiccDataResponse, type IpaCapabilities, type IpaEuiccData, type IpaEuiccDataRequest } from '../asn1/ipa-euicc-data.js';
import { PendingNotification, type DeviceInfo } from '../asn1/rsp.js';
import { decode } from '../asn1/schema.js';
import type { VirtualEuicc } from './euicc/euicc.js';
import { parseTagList } from './euicc/package.js';

/** IpaEuiccData member tags (the only ones an IPA accepts in tagList). */
export const IPA_EUICC_DATA_TAGS = [0xa0, 0x81, 0xa2, 0xbf20, 0xbf22, 0x83, 0x84, 0xa5, 0xa6, 0x87, 0xa8, 0xa9] as const;

export interface IpaDeviceData {
  readonly eimId: string | undefined;
  readonly capabilities: IpaCapabilities;
  readonly deviceInfo: DeviceInfo;
}

const OPERATION_OF_BIT = { notificationInstall: 'install', notificationEnable: 'enable', notificationDisable: 'disable', notificationDelete: 'delete' } as const;

export function buildIpaEuiccDataResponse(card: VirtualEuicc, request: IpaEuiccDataRequest, device: IpaDeviceData): Uint8Array {
  const error = (code: 'incorrectTagList' | 'euiccCiPKIdNotFound'): Uint8Array => {
    const e: { eimTransactionId?: Uint8Array; ipaEuiccDataErrorCode: typeof code } = { ipaEuiccDataErrorCode: code };
    if (request.eimTransactionId !== undefined) e.eimTransactionId = request.eimTransactionId;
    return IpaEuiccDataResponse.encode({ ipaEuiccDataResponseError: e });
  };
  const tags = parseTagList(request.tagList);
  if (tags === undefined || tags.length === 0 || tags.some((t) => !(IPA_EUICC_DATA_TAGS as readonly number[]).includes(t))) return error('incorrectTagList');
  if (request.euiccCiPKIdentifierToBeUsed !== undefined && !bytesEqual(request.euiccCiPKIdentifierToBeUsed, card.ciPKId)) return error('euiccCiPKIdNotFound');
  const want = new Set(tags);
  const data: IpaEuiccData = {};
  if (want.has(0xa0)) {
    const sc = request.searchCriteriaNotification;
    let list = card.retrieveNotificationsList();
    if (sc !== undefined && 'seqNumber' in sc) list = list.filter((n) => n.seqNumber === sc.seqNumber);
    if (sc !== undefined && 'profileManagementOperation' in sc) {
      const ops = new Set(sc.profileManagementOperation.map((b) => OPERATION_OF_BIT[b as keyof typeof OPERATION_OF_BIT]));
      list = list.filter((n) => ops.has(n.operation));
    }
    data.notificationsList = list.map((n) => decode(PendingNotification, n.der));
  }
  if (want.has(0x81) && card.state.defaultSmdpAddress !== undefined) data.defaultSmdpAddress = card.state.defaultSmdpAddress;
  if (want.has(0xa2)) {
    const sc = request.searchCriteriaEuiccPackageResult;
    data.euiccPackageResultList = card.storedPackageResults(sc?.seqNumber).map((r) => decode(EuiccPackageResult, r.der));
  }
  if (want.has(0xbf20)) data.euiccInfo1 = card.euiccInfo1();
  if (want.has(0xbf22)) data.euiccInfo2 = card.euiccInfo2();
  if (want.has(0x83)) data.rootSmdsAddress = card.state.rootSmdsAddress;
  if (want.has(0x84) && device.eimId !== undefined) {
    const token = card.associationTokenOf(device.eimId);
    if (token !== undefined) data.associationToken = token;
  }
  if (want.has(0xa5)) data.eumCertificate = card.eumCertificate;
  if (want.has(0xa6)) data.euiccCertificate = card.euiccCertificate;
  if (request.eimTransactionId !== undefined) data.eimTransactionId = request.eimTransactionId;
  if (want.has(0xa8)) data.ipaCapabilities = device.capabilities;
  if (want.has(0xa9)) data.deviceInfo = device.deviceInfo;
  return IpaEuiccDataResponse.encode({ ipaEuiccData: data });
}
