/**
 * A virtual IoT eUICC, the ESep / ES10b side of SGP.32 v1.2 (§2.11, §5.9) with the SGP.22 v2.5 profile and
 * notification model: it holds profiles, eIM configuration entries with their replay counters and
 * association tokens, notifications and stored eUICC Package Results, executes signed eUICC Packages
 * (package.ts), answers the unsigned ES10b functions (AddInitialEim, GetEimConfigurationData, GetCerts,
 * EuiccMemoryReset, notification list handling), and models rollback and the fallback mechanism.
 *
 * Strict where real cards are strict: every signature is checked over the received bytes, counters only go
 * up, state changes follow the start conditions of notes (g). Its state is plain JSON (state.ts).
 */
import { createPrivateKey, type KeyObject } from 'node:crypto';
import { EimConfigurationData } from '../../asn1/eim-configuration.js';
import { EuiccPackageResult, EuiccPackageResultDataSigned } from '../../asn1/euicc-package.js';
import { fromHex, toHex } from '../../asn1/hex.js';
import type { ProfileDownloadTriggerRequest } from '../../asn1/ipa-euicc-data.js';
import { eidCheckDigitsValid } from '../../asn1/identifiers.js';
import { NotificationMetadata, PendingNotification, type EUICCInfo1, type EUICCInfo2 } from '../../asn1/rsp.js';
import type { Infer } from '../../asn1/schema.js';
import { concat } from '../../asn1/tlv.js';
import { signEcdsa } from '../../crypto/ecdsa.js';
import { privateKeyToPem } from '../../crypto/keys.js';
import { InvalidArgumentError } from '../../errors.js';
import type { TestPki } from '../pki.js';
import { loseConnectivity } from './connectivity.js';
import { associationTokenTlv } from './esep.js';
import { addInitialEim, euiccMemoryReset, getCerts, getEimConfigurationData } from './es10b.js';
import { loadEuiccPackage } from './package.js';
import { runProfileDownload, type ProfileDownloadOutcome } from './profile-download.js';
import {
  checkState,
  loadState,
  saveState,
  type EuiccState,
  type PolicyRule,
  type ProfileClassName,
  type ProfileRecord,
  type StoredNotification,
} from './state.js';

export { associationTokenTlv, MAX_COUNTER_VALUE, MAX_EIMS } from './esep.js';

export type NotificationOperation = StoredNotification['operation'];

export interface ProfileInit {
  iccid: string;
  aid?: string;
  state?: 'enabled' | 'disabled';
  profileClass?: ProfileClassName;
  nickname?: string;
  serviceProviderName?: string;
  profileName?: string;
  policyRules?: PolicyRule[];
  fallbackAttribute?: boolean;
  fallbackAllowed?: boolean;
  notificationAddress?: string;
}

export interface VirtualEuiccOptions {
  eid: string;
  euiccPrivateKey: KeyObject | string;
  /** DER */
  euiccCertificate: Uint8Array;
  eumCertificate: Uint8Array;
  /** SubjectKeyIdentifier of the CI. */
  ciPKId: Uint8Array;
  profiles?: ProfileInit[];
  eims?: EimConfigurationData[];
  defaultSmdpAddress?: string;
  rootSmdsAddress?: string;
}

export interface NotificationEntry {
  seqNumber: number;
  operation: NotificationOperation;
  iccid: string;
  /** PendingNotification DER. */
  der: Uint8Array;
}

export type ConnectivityLossOutcome = 'rollback' | 'fallback' | 'none';

const OPERATION_BIT = { install: 'notificationInstall', enable: 'notificationEnable', disable: 'notificationDisable', delete: 'notificationDelete' } as const;


export class VirtualEuicc {
  /** Live state; package.ts and profile-download.ts mutate it through the methods below. */
  readonly state: EuiccState;
  /** Typed view of state.eims (serialised back on toState). */
  eims: EimConfigurationData[];
  readonly #key: KeyObject;

  private constructor(state: EuiccState) {
    this.state = state;
    this.eims = state.eims.map((j) => EimConfigurationData.fromJson(j));
    this.#key = createPrivateKey(state.euiccPrivateKeyPem);
  }

  static create(options: VirtualEuiccOptions): VirtualEuicc {
    if (!eidCheckDigitsValid(options.eid)) throw new InvalidArgumentError('eid', 'expected 32 digits with valid check digits');
    const key = typeof options.euiccPrivateKey === 'string' ? createPrivateKey(options.euiccPrivateKey) : options.euiccPrivateKey;
    const state: EuiccState = {
      version: 1,
      eid: options.eid,
      euiccPrivateKeyPem: privateKeyToPem(key),
      euiccCertificate: toHex(options.euiccCertificate),
      eumCertificate: toHex(options.eumCertificate),
      ciPKId: toHex(options.ciPKId),
      profiles: [],
      immediateEnable: { immediateEnableFlag: false },
      rootSmdsAddress: options.rootSmdsAddress ?? 'lpa.ds.gsma.com',
      eims: (options.eims ?? []).map((e) => EimConfigurationData.toJson(e)),
      nextSeqNumber: 1,
      notifications: [],
      packageResults: [],
      nextAssociationToken: 1,
      nextProfileIndex: 1,
    };
    if (options.defaultSmdpAddress !== undefined) state.defaultSmdpAddress = options.defaultSmdpAddress;
    const card = new VirtualEuicc(state);
    for (const p of options.profiles ?? []) card.addProfile(p);
    if (card.state.profiles.filter((p) => p.state === 'enabled').length > 1) throw new InvalidArgumentError('profiles', 'at most one profile can be enabled');
    return card;
  }

  /** A card for `eid` with the eUICC identity issued by the test PKI. */
  static fromPki(pki: TestPki, eid: string, options: Omit<VirtualEuiccOptions, 'eid' | 'euiccPrivateKey' | 'euiccCertificate' | 'eumCertificate' | 'ciPKId'> = {}): VirtualEuicc {
    const id = pki.euiccs.get(eid);
    if (id === undefined) throw new InvalidArgumentError('eid', `the test PKI has no eUICC certificate for ${eid}`);
    return VirtualEuicc.create({
      ...options,
      eid,
      euiccPrivateKey: id.privateKey,
      euiccCertificate: id.certificate,
      eumCertificate: pki.eum.certificate,
      ciPKId: pki.ci.subjectKeyIdentifier,
    });
  }

  static fromState(state: EuiccState): VirtualEuicc {
    return new VirtualEuicc(structuredClone(checkState(state)));
  }

  static async load(file: string): Promise<VirtualEuicc> {
    return new VirtualEuicc(await loadState(file));
  }

  /** A deep copy of the state (JSON-serialisable). */
  toState(): EuiccState {
    this.state.eims = this.eims.map((e) => EimConfigurationData.toJson(e));
    return structuredClone(this.state);
  }

  save(file: string): Promise<void> {
    return saveState(this.toState(), file);
  }

  get eid(): string {
    return this.state.eid;
  }

  get euiccCertificate(): Uint8Array {
    return fromHex(this.state.euiccCertificate);
  }

  get eumCertificate(): Uint8Array {
    return fromHex(this.state.eumCertificate);
  }

  get ciPKId(): Uint8Array {
    return fromHex(this.state.ciPKId);
  }

  // ---- profiles ----

  addProfile(init: ProfileInit): ProfileRecord {
    if (this.profile(init.iccid) !== undefined) throw new InvalidArgumentError('iccid', `profile ${init.iccid} already exists`);
    const index = this.state.nextProfileIndex++;
    const p: ProfileRecord = {
      iccid: init.iccid,
      aid: init.aid ?? `A0000005591010FFFFFFFF890000${(0x1000 + 0x100 * index).toString(16).padStart(4, '0').slice(-4).toUpperCase()}`,
      state: init.state ?? 'disabled',
      profileClass: init.profileClass ?? 'operational',
      policyRules: [...(init.policyRules ?? [])],
      fallbackAttribute: init.fallbackAttribute ?? false,
      notificationAddress: init.notificationAddress ?? this.state.defaultSmdpAddress ?? 'smdp.example.com',
    };
    if (init.nickname !== undefined) p.nickname = init.nickname;
    if (init.serviceProviderName !== undefined) p.serviceProviderName = init.serviceProviderName;
    if (init.profileName !== undefined) p.profileName = init.profileName;
    if (init.fallbackAllowed !== undefined) p.fallbackAllowed = init.fallbackAllowed;
    if (p.fallbackAttribute) for (const other of this.state.profiles) other.fallbackAttribute = false;
    this.state.profiles.push(p);
    return p;
  }

  profile(iccid: string): ProfileRecord | undefined {
    return this.state.profiles.find((p) => p.iccid === iccid);
  }

  profileByAid(aidHex: string): ProfileRecord | undefined {
    return this.state.profiles.find((p) => p.aid.toLowerCase() === aidHex.toLowerCase());
  }

  enabledProfile(): ProfileRecord | undefined {
    return this.state.profiles.find((p) => p.state === 'enabled');
  }

  fallbackProfile(): ProfileRecord | undefined {
    return this.state.profiles.find((p) => p.fallbackAttribute);
  }

  // ---- eIM entries ----

  findEim(eimId: string): EimConfigurationData | undefined {
    return this.eims.find((e) => e.eimId === eimId);
  }

  associationTokenOf(eimId: string): number | undefined {
    return this.findEim(eimId)?.associationToken;
  }

  /** A fresh association token (positive, never reused on this card). */
  generateAssociationToken(): number {
    return this.state.nextAssociationToken++;
  }

  // ---- signing, notifications, results ----

  nextSeqNumber(): number {
    return this.state.nextSeqNumber++;
  }

  sign(data: Uint8Array): Uint8Array {
    return signEcdsa(this.#key, data);
  }

  /** Creates, signs and stores an OtherSignedNotification for a profile; returns its seqNumber. */
  notify(operation: Exclude<NotificationOperation, 'install'>, profile: ProfileRecord): number {
    const seqNumber = this.nextSeqNumber();
    const metadata = { seqNumber, profileManagementOperation: [OPERATION_BIT[operation]], notificationAddress: profile.notificationAddress, iccid: profile.iccid };
    const signature = this.sign(NotificationMetadata.encode(metadata));
    const der = PendingNotification.encode({
      otherSignedNotification: { tbsOtherNotification: metadata, euiccNotificationSignature: signature, euiccCertificate: this.euiccCertificate, eumCertificate: this.eumCertificate },
    });
    this.state.notifications.push({ seqNumber, operation, iccid: profile.iccid, der: toHex(der) });
    return seqNumber;
  }

  /** Builds, signs (data || token TLV) and stores an EuiccPackageResult; returns the DER. */
  signPackageResult(data: Infer<typeof EuiccPackageResultDataSigned>, associationToken: number | undefined, store = true): Uint8Array {
    const tbs = EuiccPackageResultDataSigned.encode(data);
    const euiccSignEPR = this.sign(concat([tbs, associationTokenTlv(associationToken)]));
    const der = EuiccPackageResult.encode({ euiccPackageResultSigned: { euiccPackageResultDataSigned: data, euiccSignEPR } });
    if (store) this.state.packageResults.push({ seqNumber: data.seqNumber, eimId: data.eimId, der: toHex(der) });
    return der;
  }

  /** ES10b.RetrieveNotificationsList: all pending notifications, or those matching the criteria. */
  retrieveNotificationsList(criteria: { seqNumber?: number; operation?: NotificationOperation; fromSeqNumber?: number } = {}): NotificationEntry[] {
    return this.state.notifications
      .filter((n) => criteria.seqNumber === undefined || n.seqNumber === criteria.seqNumber)
      .filter((n) => criteria.operation === undefined || n.operation === criteria.operation)
      .filter((n) => criteria.fromSeqNumber === undefined || n.seqNumber >= criteria.fromSeqNumber)
      .map((n) => ({ seqNumber: n.seqNumber, operation: n.operation, iccid: n.iccid, der: fromHex(n.der) }));
  }

  /** Stored (unacknowledged) eUICC Package Results, optionally the one with `seqNumber`. */
  storedPackageResults(seqNumber?: number): { seqNumber: number; der: Uint8Array }[] {
    return this.state.packageResults.filter((r) => seqNumber === undefined || r.seqNumber === seqNumber).map((r) => ({ seqNumber: r.seqNumber, der: fromHex(r.der) }));
  }

  /**
   * ES10b.RemoveNotificationFromList by seqNumber; also removes a stored package result with that seqNumber
   * (one counter numbers both, so an eimAcknowledgements entry names exactly one of them). False if unknown.
   */
  removeNotificationFromList(seqNumber: number): boolean {
    const before = this.state.notifications.length + this.state.packageResults.length;
    this.state.notifications = this.state.notifications.filter((n) => n.seqNumber !== seqNumber);
    this.state.packageResults = this.state.packageResults.filter((r) => r.seqNumber !== seqNumber);
    return this.state.notifications.length + this.state.packageResults.length < before;
  }

  // ---- ES10b functions ----

  /** ES10b.LoadEuiccPackage: EuiccPackageRequest DER in, EuiccPackageResult DER out (package.ts). */
  loadEuiccPackage(der: Uint8Array): Uint8Array {
    return loadEuiccPackage(this, der);
  }

  /** ES10b.AddInitialEim (BF57): unsigned, only while no eIM is associated (es10b.ts). */
  addInitialEim(der: Uint8Array): Uint8Array {
    return addInitialEim(this, der);
  }

  /** ES10b.GetEimConfigurationData (BF55), all entries or the one named by searchCriteria. */
  getEimConfigurationData(der?: Uint8Array): Uint8Array {
    return getEimConfigurationData(this, der);
  }

  /** ES10b.GetCerts (BF56): the EUM and eUICC certificates for our CI, or invalidCiPKId. */
  getCerts(der?: Uint8Array): Uint8Array {
    return getCerts(this, der);
  }

  /** ES10b.EuiccMemoryReset (BF64). */
  euiccMemoryReset(der: Uint8Array): Uint8Array {
    return euiccMemoryReset(this, der);
  }

  /** Direct profile download as the eIM observes it (profile-download.ts). */
  profileDownload(request: ProfileDownloadTriggerRequest, options: { fail?: boolean } = {}): ProfileDownloadOutcome {
    return runProfileDownload(this, request, options);
  }

  euiccInfo1(): EUICCInfo1 {
    return { svn: Uint8Array.of(2, 5, 0), euiccCiPKIdListForVerification: [this.ciPKId], euiccCiPKIdListForSigning: [this.ciPKId] };
  }

  euiccInfo2(): EUICCInfo2 {
    return {
      profileVersion: Uint8Array.of(2, 3, 1),
      svn: Uint8Array.of(2, 5, 0),
      euiccFirmwareVer: Uint8Array.of(1, 0, 0),
      extCardResource: fromHex('810100820300100083020800'),
      uiccCapability: ['usimSupport', 'isimSupport', 'akaMilenage', 'javacard', 'iotminimal'],
      rspCapability: ['additionalProfile', 'testProfileSupport'],
      euiccCiPKIdListForVerification: [this.ciPKId],
      euiccCiPKIdListForSigning: [this.ciPKId],
      euiccCategory: 'basicEuicc',
      ppVersion: Uint8Array.of(0, 0, 1),
      sasAcreditationNumber: 'SIM-EIM-SIMULATOR',
      ipaMode: 'ipad',
      iotSpecificInfo: { iotVersion: [Uint8Array.of(1, 2, 0)], fallbackSupported: true },
    };
  }

  // ---- connectivity: rollback and fallback ----

  /** The device lost connectivity on the enabled profile: rollback or fallback (connectivity.ts). */
  loseConnectivity(): ConnectivityLossOutcome {
    return loseConnectivity(this);
  }

  /** The new profile reached the eIM: an enable with rollbackFlag can no longer be rolled back. */
  confirmConnectivity(): void {
    delete this.state.pendingRollback;
  }

  get rollbackPending(): boolean {
    return this.state.pendingRollback !== undefined;
  }

  /** The pending stateChangeCause (fallback, reset, ...) without clearing it. */
  get pendingStateChange(): string | undefined {
    return this.state.pendingStateChange;
  }

  /** Returns and clears the pending stateChangeCause. */
  takeStateChange(): string | undefined {
    const c = this.state.pendingStateChange;
    delete this.state.pendingStateChange;
    return c;
  }

  /** Records a state change the eIM did not order (used by the IPA for a card reset). */
  markStateChange(cause: string): void {
    this.state.pendingStateChange = cause;
  }
}
