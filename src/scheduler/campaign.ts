/**
 * The campaign model: one operation template (an OperationRequest, SGP.32 v1.2 §2.11 eIM package content)
 * over a target set of eUICCs, released at a rate, within an optional daily window, capped in flight, canary
 * first, paused when too many fail. Input checking lives here (the REST schema mirrors it); the lifecycle
 * lives in campaign-runner.ts.
 */
import { assertEid } from '../asn1/identifiers.js';
import { parseOperationRequest } from '../eim/operation-request.js';
import { InvalidArgumentError } from '../errors.js';
import type { CampaignRecord, CampaignState, DailyWindow, OperationCounts } from '../store/campaign-store.js';
import type { Json } from '../store/records.js';
import type { Page } from '../store/store.js';
import { assertDailyWindow } from './daily-window.js';

/** Which eUICCs: an explicit EID list, every eUICC with a label, or a listEuiccs filter (frozen at creation). */
export type CampaignTarget =
  | { readonly eids: readonly string[] }
  | { readonly label: string }
  | { readonly filter: { readonly label?: string; readonly profile?: { readonly iccid: string; readonly state?: 'enabled' | 'disabled' | 'unknown' }; readonly lastContactBefore?: number; readonly lastContactAfter?: number } };

export interface CampaignInput {
  readonly name?: string;
  /** The operation every device gets (e.g. { kind: 'enable', iccid }). */
  readonly request: unknown;
  readonly target: CampaignTarget;
  /** Epoch ms; default now. */
  readonly startAt?: number;
  readonly window?: DailyWindow;
  /** Operations released per second (> 0). */
  readonly rate: number;
  /** Released operations not yet finished, at most (>= 1). */
  readonly maxInFlight: number;
  /** 0..1, default 0 (no canary). At least one device when > 0. */
  readonly canaryShare?: number;
  /** 0..1, default 1 (never pause on failures). */
  readonly failureThreshold?: number;
  /** Finished operations before the threshold applies (default 10). */
  readonly minResultsForThreshold?: number;
  /** Each operation expires this long after release. */
  readonly deviceExpiryMs?: number;
}

export const MAX_CAMPAIGN_DEVICES = 1_000_000;

/** Checks a CampaignInput; InvalidArgumentError names the first bad field. Returns the normalised template. */
export function checkCampaignInput(input: CampaignInput): { request: Json } {
  if (typeof input !== 'object' || input === null) throw new InvalidArgumentError('campaign', 'expected an object');
  if (input.name !== undefined && (typeof input.name !== 'string' || input.name.length > 200)) throw new InvalidArgumentError('name', 'expected a string of at most 200 characters');
  const request = parseOperationRequest(input.request) as unknown as Json;
  const t = input.target as Record<string, unknown> | undefined;
  if (typeof t !== 'object' || t === null) throw new InvalidArgumentError('target', 'expected { eids }, { label } or { filter }');
  const arms = ['eids', 'label', 'filter'].filter((k) => t[k] !== undefined);
  if (arms.length !== 1) throw new InvalidArgumentError('target', 'give exactly one of eids, label, filter');
  if (Array.isArray(t.eids)) {
    if (t.eids.length === 0 || t.eids.length > MAX_CAMPAIGN_DEVICES) throw new InvalidArgumentError('target.eids', `expected 1..${MAX_CAMPAIGN_DEVICES} EIDs`);
    t.eids.forEach((eid, i) => {
      if (typeof eid !== 'string') throw new InvalidArgumentError(`target.eids[${i}]`, 'expected an EID string');
      assertEid(eid, `target.eids[${i}]`);
    });
  } else if (t.eids !== undefined) throw new InvalidArgumentError('target.eids', 'expected an array of EIDs');
  if (t.label !== undefined && (typeof t.label !== 'string' || t.label.length === 0)) throw new InvalidArgumentError('target.label', 'expected a non-empty string');
  if (t.filter !== undefined && (typeof t.filter !== 'object' || t.filter === null)) throw new InvalidArgumentError('target.filter', 'expected an object');
  if (input.startAt !== undefined && !Number.isSafeInteger(input.startAt)) throw new InvalidArgumentError('startAt', 'expected epoch milliseconds');
  if (input.window !== undefined) assertDailyWindow(input.window);
  if (!(typeof input.rate === 'number' && input.rate > 0 && input.rate <= 100_000)) throw new InvalidArgumentError('rate', 'expected operations per second in (0, 100000]');
  if (!(Number.isSafeInteger(input.maxInFlight) && input.maxInFlight >= 1)) throw new InvalidArgumentError('maxInFlight', 'expected an integer >= 1');
  share(input.canaryShare, 'canaryShare');
  share(input.failureThreshold, 'failureThreshold');
  if (input.minResultsForThreshold !== undefined && !(Number.isSafeInteger(input.minResultsForThreshold) && input.minResultsForThreshold >= 1)) {
    throw new InvalidArgumentError('minResultsForThreshold', 'expected an integer >= 1');
  }
  if (input.deviceExpiryMs !== undefined && !(Number.isSafeInteger(input.deviceExpiryMs) && input.deviceExpiryMs > 0)) throw new InvalidArgumentError('deviceExpiryMs', 'expected a positive integer');
  return { request };
}

function share(v: unknown, name: string): void {
  if (v !== undefined && !(typeof v === 'number' && v >= 0 && v <= 1)) throw new InvalidArgumentError(name, 'expected a number in [0, 1]');
}

export interface CampaignProgress {
  readonly total: number;
  /** Devices released (an operation submitted) or skipped. */
  readonly released: number;
  readonly skipped: number;
  /** Released operations still queued or sent. */
  readonly inFlight: number;
  readonly byState: OperationCounts;
  readonly canary: { readonly total: number; readonly byState: OperationCounts };
  /** (failed + expired) / finished, over all results; 0 before any. */
  readonly failureRate: number;
}

export interface CampaignEta {
  /** When the last device is expected to finish (epoch ms); absent when paused or not computable. */
  readonly at?: number;
  /** Unfinished devices whose next wake-up is unknown (not counted in `at`). */
  readonly unknownWakeups: number;
}

export interface CampaignView extends CampaignRecord {
  readonly progress: CampaignProgress;
  readonly eta: CampaignEta;
}

/** What the REST layer needs of campaigns (CampaignRunner implements it). */
export interface CampaignService {
  /** Resolves the target, freezes the device list and schedules the campaign. */
  create(input: CampaignInput, actor?: string): Promise<CampaignView>;
  /** Campaigns newest first (records only; progress via get). */
  list(filter?: { state?: CampaignState; cursor?: string; limit?: number }): Promise<Page<CampaignRecord>>;
  /** The campaign with progress and ETA, or undefined. */
  get(id: string): Promise<CampaignView | undefined>;
  /** NotFoundError when unknown; ConflictError unless scheduled or running. */
  pause(id: string, actor?: string): Promise<CampaignView>;
  /** NotFoundError when unknown; ConflictError unless paused. */
  resume(id: string, actor?: string): Promise<CampaignView>;
  /** Stops releasing and cancels operations not yet sent. NotFoundError; ConflictError once completed or cancelled. */
  cancel(id: string, actor?: string): Promise<CampaignView>;
}
