/**
 * The persistent state of a virtual eUICC (SGP.32 v1.2 §2.11 eIM configuration, SGP.22 §2.4 profiles and
 * notifications) as plain JSON, so a simulated device can "reboot": `saveState` writes it atomically,
 * `loadState` reads and checks it. The eUICC private key is a TEST key and is stored in clear on purpose
 * (it comes from the simulator's test PKI); nothing here is meant for real key material.
 */
import { readFile, rename, writeFile } from 'node:fs/promises';
import { InvalidArgumentError } from '../../errors.js';

export type ProfileStateName = 'enabled' | 'disabled';
export type ProfileClassName = 'test' | 'provisioning' | 'operational';
export type PolicyRule = 'ppr1' | 'ppr2';

export interface ProfileRecord {
  iccid: string;
  /** ISD-P AID, hex. */
  aid: string;
  state: ProfileStateName;
  profileClass: ProfileClassName;
  nickname?: string;
  serviceProviderName?: string;
  profileName?: string;
  /** ppr1: disabling not allowed; ppr2: deletion not allowed. */
  policyRules: PolicyRule[];
  fallbackAttribute: boolean;
  /** Whether the profile may carry the fallback attribute (SGP.32 fallbackAllowed); default true. */
  fallbackAllowed?: boolean;
  /** Where the profile's notifications go (the SM-DP+ it came from). */
  notificationAddress: string;
}

export interface StoredNotification {
  seqNumber: number;
  operation: 'install' | 'enable' | 'disable' | 'delete';
  iccid: string;
  /** The PendingNotification DER, hex. */
  der: string;
}

export interface StoredPackageResult {
  seqNumber: number;
  eimId: string;
  /** The EuiccPackageResult (BF51) DER, hex. */
  der: string;
}

/** An enable with rollbackFlag whose new profile has not yet proven connectivity (ProfileRollback). */
export interface PendingRollback {
  previousIccid: string | undefined;
  enabledIccid: string;
  eimId: string;
  counterValue: number;
  /** hex */
  eimTransactionId?: string;
  /** seqNumber of the EPR that reported the enable (replaced by the rollback EPR). */
  resultSeqNumber: number;
}

export interface ImmediateEnableConfig {
  immediateEnableFlag: boolean;
  defaultSmdpOid?: string;
  defaultSmdpAddress?: string;
}

export interface EuiccState {
  version: 1;
  eid: string;
  /** PKCS#8 PEM of the eUICC test key. */
  euiccPrivateKeyPem: string;
  /** DER hex. */
  euiccCertificate: string;
  eumCertificate: string;
  /** SubjectKeyIdentifier of the CI the certificates chain to, hex. */
  ciPKId: string;
  profiles: ProfileRecord[];
  immediateEnable: ImmediateEnableConfig;
  defaultSmdpAddress?: string;
  rootSmdsAddress: string;
  /** EimConfigurationData values in the codec's JSON form (counterValue holds the last accepted counter). */
  eims: unknown[];
  /** Next seqNumber; one counter for notifications and package results. */
  nextSeqNumber: number;
  notifications: StoredNotification[];
  packageResults: StoredPackageResult[];
  pendingRollback?: PendingRollback;
  /** Set when the profile state changed without an eIM (fallback, reset, ...); reported by the next poll. */
  pendingStateChange?: string;
  /** Counter for generated association tokens and synthetic profiles. */
  nextAssociationToken: number;
  nextProfileIndex: number;
}

/** Writes the state as JSON through a temporary file and a rename, so a crash never leaves half a file. */
export async function saveState(state: EuiccState, file: string): Promise<void> {
  const tmp = `${file}.${process.pid}.tmp`;
  await writeFile(tmp, `${JSON.stringify(state, null, 1)}\n`, { mode: 0o600 });
  await rename(tmp, file);
}

export async function loadState(file: string): Promise<EuiccState> {
  const parsed: unknown = JSON.parse(await readFile(file, 'utf8'));
  return checkState(parsed, file);
}

/** Minimal shape check: enough to refuse a file that is not an eUICC state, not a full schema validation. */
export function checkState(value: unknown, argument = 'state'): EuiccState {
  const s = value as Partial<EuiccState> | null;
  if (s === null || typeof s !== 'object' || s.version !== 1) throw new InvalidArgumentError(argument, 'not a version 1 virtual eUICC state');
  for (const key of ['eid', 'euiccPrivateKeyPem', 'euiccCertificate', 'eumCertificate', 'ciPKId', 'rootSmdsAddress'] as const) {
    if (typeof s[key] !== 'string') throw new InvalidArgumentError(argument, `${key} is missing`);
  }
  for (const key of ['profiles', 'eims', 'notifications', 'packageResults'] as const) {
    if (!Array.isArray(s[key])) throw new InvalidArgumentError(argument, `${key} is not a list`);
  }
  if (!Number.isSafeInteger(s.nextSeqNumber)) throw new InvalidArgumentError(argument, 'nextSeqNumber is missing');
  return s as EuiccState;
}
