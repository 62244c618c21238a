/**
 * The campaign seam: fleet campaigns (one operation template over many eUICCs) and the frozen list of their
 * target devices, with the release cursor that lets a campaign resume after a restart without skipping or
 * repeating a device. The per-device operations themselves are ordinary operations in the main Store (with
 * their campaignId); `operationCounts` reads them so progress always reflects what the eIM really did.
 *
 * Ownership: records returned are fresh copies owned by the caller; records given are copied.
 */
import type { Json, OperationState } from './records.js';
import type { Page, PageOptions } from './store.js';

/** scheduled: before its start time; running: releasing or waiting for results; paused; then a final state. */
export type CampaignState = 'scheduled' | 'running' | 'paused' | 'completed' | 'cancelled';
/** canary: only the canary devices are released; main: everyone else. */
export type CampaignPhase = 'canary' | 'main';

/** Releases happen only between `start` and `end` local time ('HH:MM', 24 h) in an IANA time zone. */
export interface DailyWindow {
  start: string;
  end: string;
  timeZone: string;
}

export interface CampaignRecord {
  id: string;
  name?: string;
  /** The operation template (an OperationRequest as JSON). */
  request: Json;
  /** The target as given (EID list, label or filter), kept for display; the frozen list is in the devices. */
  target: Json;
  startAt: number;
  window?: DailyWindow;
  /** Operations released per second. */
  rate: number;
  /** Released operations not yet finished (queued or sent), at most. */
  maxInFlight: number;
  /** Share 0..1 of the devices released first, all of which must succeed before the rest starts. */
  canaryShare: number;
  /** Share 0..1 of failed (failed or expired) results above which the campaign pauses. */
  failureThreshold: number;
  /** Finished operations needed before the failure threshold is applied. */
  minResultsForThreshold: number;
  /** Each operation expires this long after its release, when set. */
  deviceExpiryMs?: number;
  state: CampaignState;
  phase: CampaignPhase;
  /** Why the campaign is paused: 'operator', 'canary-failed', 'failure-threshold'. */
  pausedReason?: string;
  /** Number of devices: seq 0..total-1. */
  total: number;
  /** Devices with seq < canaryCount are the canary. */
  canaryCount: number;
  /** Devices with seq < cursor have been released (or skipped). */
  cursor: number;
  /** Finished and failed counts when the operator last resumed: the threshold looks at what came after. */
  baselineFinished: number;
  baselineFailed: number;
  createdBy?: string;
  createdAt: number;
  updatedAt: number;
  completedAt?: number;
}

export type CampaignPatch = Partial<Pick<CampaignRecord, 'state' | 'phase' | 'baselineFinished' | 'baselineFailed' | 'updatedAt' | 'completedAt'>> & {
  /** null clears it. */
  pausedReason?: string | null;
};

/** One target device of a campaign, in release order. */
export interface CampaignDevice {
  campaignId: string;
  seq: number;
  eid: string;
  operationId?: string;
  releasedAt?: number;
  /** Why the device got no operation (e.g. 'euicc-not-found'). */
  skipped?: string;
}

export type OperationCounts = Record<OperationState, number>;

export interface CampaignCounts {
  /** Operations of the campaign by state. */
  all: OperationCounts;
  /** Operations of the canary devices by state. */
  canary: OperationCounts;
  /** Devices skipped at release. */
  skipped: number;
}

export interface CampaignFilter extends PageOptions {
  state?: CampaignState | readonly CampaignState[];
}

export interface CampaignStore {
  /** Inserts a campaign with its device list, in order (seq 0..n-1), atomically. ConflictError when the id exists. */
  create(record: CampaignRecord, eids: readonly string[]): Promise<void>;
  /** The campaign, or undefined. */
  get(id: string): Promise<CampaignRecord | undefined>;
  /** Campaigns, newest first. */
  list(filter?: CampaignFilter): Promise<Page<CampaignRecord>>;
  /**
   * Changes a campaign and returns it. NotFoundError when it does not exist; with `expectedState`,
   * ConflictError unless its state is (one of) it.
   */
  update(id: string, patch: CampaignPatch, options?: { expectedState?: CampaignState | readonly CampaignState[] }): Promise<CampaignRecord>;
  /** Devices with seq >= fromSeq, in seq order; empty past the end or for an unknown campaign. */
  devices(id: string, options: { fromSeq: number; limit: number }): Promise<CampaignDevice[]>;
  /**
   * Records the release of device `seq` (its operation, or why it was skipped) and moves the cursor to
   * seq + 1, atomically. ConflictError unless the cursor is at `seq` (a release is recorded once).
   */
  recordRelease(id: string, seq: number, release: { operationId?: string; skipped?: string; releasedAt: number }): Promise<void>;
  /** Counts of the campaign's operations (from the operation store) and skipped devices. */
  counts(id: string): Promise<CampaignCounts>;
  /** Devices not released yet or whose operation is still queued or sent, in seq order. */
  unfinishedDevices(id: string): Promise<{ seq: number; eid: string; released: boolean }[]>;
}

export function emptyCounts(): OperationCounts {
  return { queued: 0, sent: 0, done: 0, failed: 0, expired: 0, cancelled: 0 };
}
