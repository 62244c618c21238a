/**
 * What every route plugin gets: the seams of the eIM, the event bus, the clock, and who is calling.
 * Route options say which role they need with `config: { role }` (default: 'read' for GET/HEAD, 'admin'
 * otherwise) or `config: { public: true }` for unauthenticated routes; the hooks in plugins/auth.ts enforce
 * it for every route, those of src/api/routes/campaigns.ts included.
 */
import type { EimCore } from '../eim/eim-core.js';
import type { ApiRole, ApiStore } from '../store/api-store.js';
import type { Store } from '../store/store.js';
import type { DeviceDirectory } from './device-directory.js';
import type { EventBus } from './events.js';
import type { MetricsRegistry } from './metrics.js';

export interface ApiContext {
  readonly core: EimCore;
  readonly store: Store;
  readonly apiStore: ApiStore;
  readonly events: EventBus;
  readonly devices: DeviceDirectory | undefined;
  readonly metrics: MetricsRegistry;
  readonly now: () => number;
}

/** The authenticated caller of a request. */
export interface Principal {
  readonly tokenId: string;
  readonly name: string;
  readonly role: ApiRole;
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Least role allowed to call the route. */
    role?: ApiRole;
    /** No token needed (only /healthz). */
    public?: boolean;
    /** Media type of a non-JSON 2xx body, for the OpenAPI document (e.g. 'text/event-stream'). */
    produces?: string;
  }
  /** Documentation keys copied into the OpenAPI document; fastify itself ignores them. */
  interface FastifySchema {
    summary?: string;
    description?: string;
    tags?: string[];
  }
  interface FastifyRequest {
    /** Set by the auth hook on every non-public route. */
    principal: Principal | undefined;
  }
}

/** The principal of an authenticated request (the auth hook guarantees one on non-public routes). */
export function principalOf(request: { principal: Principal | undefined }): Principal {
  if (request.principal === undefined) throw new Error('no principal on an authenticated route');
  return request.principal;
}

/** Audit actor for a request: `api:<token name>`. */
export function actorOf(request: { principal: Principal | undefined }): string {
  return `api:${principalOf(request).name}`;
}
