/**
 * The scheduler as main.ts wires it: the injection-mode Dispatcher (SGP.32 v1.2 §3.1.1.2, LwM2M queue
 * mode), the OperationReaper (expiry, reconciliation) and the CampaignRunner, started and stopped together,
 * with one event entry point to feed from the core's (and the reaper's) event sink. In retrieval-only
 * deployments (devices poll with GetEimPackage) leave `injection` out: only expiry, reconciliation and
 * campaign pacing run.
 */
import type { Logger } from 'pino';
import type { EimCore } from '../eim/eim-core.js';
import type { EimEvent } from '../eim/events.js';
import type { CampaignStore } from '../store/campaign-store.js';
import type { Store } from '../store/store.js';
import { type CampaignEvent, CampaignRunner } from './campaign-runner.js';
import { Dispatcher, type DispatcherOptions } from './dispatcher.js';
import { OperationReaper, type OperationReaperOptions } from './operation-reaper.js';
import type { Clock, Downlink, Presence, TransferSource } from './ports.js';

export interface SchedulerOptions {
  readonly core: EimCore;
  readonly store: Store;
  readonly campaigns: CampaignStore;
  readonly clock: Clock;
  readonly presence?: Presence;
  /** Injection mode: where transfers come from (EsipaHandler) and how they reach devices. */
  readonly injection?: { readonly source: TransferSource; readonly downlink: Downlink } & Pick<DispatcherOptions, 'maxConcurrent' | 'resultTimeoutMs' | 'retryBaseMs' | 'retryMaxMs'>;
  readonly reaper?: Pick<OperationReaperOptions, 'sweepIntervalMs' | 'reconcileAfterMs' | 'batchSize' | 'pagesPerSweep'>;
  readonly campaignPollIntervalMs?: number;
  /** Operation events the reaper produces (feed them to the same fan-out as the core's). */
  readonly onOperationEvent?: (e: EimEvent) => void;
  readonly onCampaignEvent?: (e: CampaignEvent) => void;
  readonly logger?: Logger;
}

export class Scheduler {
  readonly dispatcher: Dispatcher | undefined;
  readonly reaper: OperationReaper;
  readonly campaigns: CampaignRunner;

  constructor(o: SchedulerOptions) {
    if (o.injection !== undefined && o.presence === undefined) throw new RangeError('injection mode needs a Presence');
    const { source, downlink, ...tuning } = o.injection ?? ({} as NonNullable<SchedulerOptions['injection']>);
    this.dispatcher =
      o.injection !== undefined ? new Dispatcher({ source, downlink, presence: o.presence!, clock: o.clock, ...tuning, ...(o.logger !== undefined ? { logger: o.logger } : {}) }) : undefined;
    this.reaper = new OperationReaper({
      store: o.store,
      clock: o.clock,
      ...o.reaper,
      ...(o.onOperationEvent !== undefined ? { onEvent: o.onOperationEvent } : {}),
      ...(o.logger !== undefined ? { logger: o.logger } : {}),
    });
    this.campaigns = new CampaignRunner({
      core: o.core,
      store: o.store,
      campaigns: o.campaigns,
      clock: o.clock,
      ...(o.presence !== undefined ? { presence: o.presence } : {}),
      ...(o.onCampaignEvent !== undefined ? { onEvent: o.onCampaignEvent } : {}),
      ...(o.campaignPollIntervalMs !== undefined ? { pollIntervalMs: o.campaignPollIntervalMs } : {}),
      ...(o.logger !== undefined ? { logger: o.logger } : {}),
    });
  }

  /** Feed every EimEvent here (from the core's onEvent fan-out, the reaper's included). */
  onEvent(e: EimEvent): void {
    this.dispatcher?.onEvent(e);
    this.campaigns.onOperationEvent(e);
  }

  start(): void {
    this.dispatcher?.start();
    this.reaper.start();
    this.campaigns.start();
  }

  /** Stops taking new work and waits for what is under way (graceful shutdown). */
  async stop(): Promise<void> {
    await this.campaigns.stop();
    await this.reaper.stop();
    await this.dispatcher?.stop();
  }
}
