/**
 * The unsigned ES10b functions of the virtual eUICC (SGP.32 v1.2 §5.9; notes appendix B): AddInitialEim
 * (BF57, only while no eIM is associated), GetEimConfigurationData (BF55), GetCerts (BF56) and
 * EuiccMemoryReset (BF64). DER in, DER out, as the IPA calls them.
 */
import {
  AddInitialEimRequest,
  AddInitialEimResponse,
  EuiccMemoryResetRequest,
  EuiccMemoryResetResponse,
  GetCertsRequest,
  GetCertsResponse,
  GetEimConfigurationDataRequest,
  GetEimConfigurationDataResponse,
  type EimConfigurationData,
} from '../../asn1/eim-configuration.js';
import { bytesEqual } from '../../asn1/hex.js';
import { decode, type Infer } from '../../asn1/schema.js';
import type { VirtualEuicc } from './euicc.js';
import { MAX_COUNTER_VALUE, MAX_EIMS } from './esep.js';
import type { ProfileClassName } from './state.js';

/** ES10b.AddInitialEim (BF57): unsigned, only while no eIM is associated. */
export function addInitialEim(card: VirtualEuicc, der: Uint8Array): Uint8Array {
  const req = decode(AddInitialEimRequest, der);
  const refuse = (code: 'associatedEimAlreadyExists' | 'commandError' | 'counterValueOutOfRange' | 'ciPKUnknown' | 'insufficientMemory'): Uint8Array =>
    AddInitialEimResponse.encode({ addInitialEimError: code });
  if (card.eims.length > 0) return refuse('associatedEimAlreadyExists');
  const list = req.eimConfigurationDataList;
  if (list.length === 0 || new Set(list.map((e) => e.eimId)).size !== list.length) return refuse('commandError');
  if (list.length > MAX_EIMS) return refuse('insufficientMemory');
  for (const e of list) {
    if (e.eimPublicKeyData === undefined) return refuse('commandError');
    if ((e.counterValue ?? 0) > MAX_COUNTER_VALUE || (e.counterValue ?? 0) < 0) return refuse('counterValueOutOfRange');
    if (e.euiccCiPKId !== undefined && !bytesEqual(e.euiccCiPKId, card.ciPKId)) return refuse('ciPKUnknown');
  }
  const items: ({ associationToken: number } | { addOk: true })[] = [];
  for (const e of list) {
    const entry: EimConfigurationData = { ...e, counterValue: e.counterValue ?? 0 };
    if (e.associationToken === -1) {
      entry.associationToken = card.generateAssociationToken();
      items.push({ associationToken: entry.associationToken });
    } else {
      items.push({ addOk: true });
    }
    card.eims.push(entry);
  }
  return AddInitialEimResponse.encode({ addInitialEimOk: items });
}

/** ES10b.GetEimConfigurationData (BF55), all entries or the one named by searchCriteria. */
export function getEimConfigurationData(card: VirtualEuicc, der?: Uint8Array): Uint8Array {
  const req = der === undefined ? {} : decode(GetEimConfigurationDataRequest, der);
  const wanted = req.searchCriteria?.eimId;
  const list = card.eims.filter((e) => wanted === undefined || e.eimId === wanted);
  return GetEimConfigurationDataResponse.encode({ eimConfigurationDataList: list });
}

/** ES10b.GetCerts (BF56): the EUM and eUICC certificates for our CI, or invalidCiPKId. */
export function getCerts(card: VirtualEuicc, der?: Uint8Array): Uint8Array {
  const req = der === undefined ? {} : decode(GetCertsRequest, der);
  if (req.euiccCiPKId !== undefined && !bytesEqual(req.euiccCiPKId, card.ciPKId)) return GetCertsResponse.encode({ getCertsError: 'invalidCiPKId' });
  return GetCertsResponse.encode({ certs: { eumCertificate: card.eumCertificate, euiccCertificate: card.euiccCertificate } });
}

/**
 * ES10b.EuiccMemoryReset (BF64). Deleting profiles this way produces no notifications (as in SGP.22
 * eUICCMemoryReset); the next poll reports stateChangeCause reset when a profile went away.
 */
export function euiccMemoryReset(card: VirtualEuicc, der: Uint8Array): Uint8Array {
  const { resetOptions } = decode(EuiccMemoryResetRequest, der);
  const opts = new Set(resetOptions);
  const classes = new Set<ProfileClassName>();
  if (opts.has('deleteOperationalProfiles')) classes.add('operational');
  if (opts.has('deleteFieldLoadedTestProfiles') || opts.has('deletePreLoadedTestProfiles')) classes.add('test');
  if (opts.has('deleteProvisioningProfiles')) classes.add('provisioning');
  const before = card.state.profiles.length;
  card.state.profiles = card.state.profiles.filter((p) => !classes.has(p.profileClass));
  let changed = card.state.profiles.length < before;
  if (changed) {
    card.state.pendingStateChange = 'reset';
    if (card.state.pendingRollback !== undefined && card.profile(card.state.pendingRollback.enabledIccid) === undefined) delete card.state.pendingRollback;
  }
  if (opts.has('resetDefaultSmdpAddress') && card.state.defaultSmdpAddress !== undefined) {
    delete card.state.defaultSmdpAddress;
    changed = true;
  }
  const res: Infer<typeof EuiccMemoryResetResponse> = { resetResult: 'ok' };
  if (opts.has('resetEimConfigData')) {
    res.resetEimResult = card.eims.length > 0 ? 'ok' : 'nothingToDelete';
    card.eims = [];
  }
  if (opts.has('resetImmediateEnableConfig')) {
    card.state.immediateEnable = { immediateEnableFlag: false };
    res.resetImmediateEnableConfigResult = 'ok';
  }
  if (!changed && res.resetEimResult !== 'ok' && res.resetImmediateEnableConfigResult === undefined) res.resetResult = 'nothingToDelete';
  return EuiccMemoryResetResponse.encode(res);
}
