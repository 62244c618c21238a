/**
 * The scheduler's Presence and Downlink ports served by the LwM2M listeners (coap:// and coaps://): presence
 * is kept per endpoint by each server, the 3443 bridge knows which EID an endpoint carries, and delivery is a
 * Write of /3443/0/2 through the bridge of the listener the device registered on.
 */
import { EventEmitter } from 'node:events';
import type { AwakeEvent, Downlink, DeliveryOutcome, Presence, SleepingEvent } from '../scheduler/ports.js';
import type { EsimBridge } from './esim-bridge.js';
import type { Lwm2mServer } from './server.js';

export interface Lwm2mLink {
  readonly server: Lwm2mServer;
  readonly bridge: EsimBridge;
}

export class Lwm2mSchedulerPorts extends EventEmitter implements Presence, Downlink {
  readonly #links: readonly Lwm2mLink[];

  constructor(links: readonly Lwm2mLink[]) {
    super();
    this.#links = links;
    for (const link of links) {
      const awake = (endpoint: string): void => {
        const eid = link.bridge.eidOf(endpoint);
        const until = link.server.presence.state(endpoint)?.awakeUntil;
        if (eid !== undefined && until !== undefined) this.emit('awake', { eid, windowClosesAt: until } satisfies AwakeEvent);
      };
      link.server.on('awake', awake);
      // The EID is known only after the bridge read /3443/0/1: that moment counts as the device waking.
      link.bridge.on('bound', (endpoint: string) => {
        if (link.server.presence.isAwake(endpoint)) awake(endpoint);
      });
      link.server.on('sleeping', (endpoint: string) => {
        const eid = link.bridge.eidOf(endpoint);
        if (eid !== undefined) this.emit('sleeping', { eid } satisfies SleepingEvent);
      });
    }
  }

  #find(eid: string): { link: Lwm2mLink; endpoint: string } | undefined {
    for (const link of this.#links) {
      const endpoint = link.bridge.endpointOf(eid);
      if (endpoint !== undefined && link.server.registrations.getByEndpoint(endpoint) !== undefined) return { link, endpoint };
    }
    return undefined;
  }

  isAwake(eid: string): boolean {
    const f = this.#find(eid);
    return f !== undefined && f.link.server.presence.isAwake(f.endpoint);
  }

  windowClosesAt(eid: string): number | undefined {
    const f = this.#find(eid);
    if (f === undefined || !f.link.server.presence.isAwake(f.endpoint)) return undefined;
    return f.link.server.presence.state(f.endpoint)?.awakeUntil;
  }

  nextExpectedUplink(eid: string): number | undefined {
    const f = this.#find(eid);
    return f === undefined ? undefined : f.link.server.presence.state(f.endpoint)?.nextExpectedUplink;
  }

  async deliver(eid: string, der: Uint8Array): Promise<DeliveryOutcome> {
    const f = this.#find(eid);
    if (f === undefined) return 'asleep';
    const outcome = await f.link.bridge.deliver(eid, der);
    return outcome.delivered ? 'delivered' : 'failed';
  }
}
