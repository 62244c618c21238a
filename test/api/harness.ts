/**
 * Test harness for the REST API: the eIM core harness (temp-file SqliteStore, test PKI, controllable clock)
 * plus the SQLite ApiStore on the same connection, an EventBus wired as the core's onEvent, the app built
 * with buildApp (never listening), and one token per role.
 */
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import type { Logger } from 'pino';
import { buildApp, type ApiDeps } from '../../src/api/app.js';
import type { DeviceDirectory } from '../../src/api/device-directory.js';
import { EventBus } from '../../src/api/events.js';
import { createApiToken } from '../../src/api/tokens.js';
import type { ApiRole } from '../../src/store/api-store.js';
import { SqliteApiStore } from '../../src/store/sqlite/sqlite-api-store.js';
import { harness, type Harness } from '../eim/harness.js';

export interface ApiHarness extends Harness {
  readonly app: FastifyInstance;
  readonly apiStore: SqliteApiStore;
  readonly bus: EventBus;
  readonly tokens: Record<ApiRole, string>;
  call(method: 'GET' | 'POST' | 'PUT' | 'DELETE', url: string, options?: { role?: ApiRole | 'none'; token?: string; body?: unknown; headers?: Record<string, string>; payload?: string }): Promise<LightMyRequestResponse>;
}

export async function apiHarness(
  options: { register?: boolean; devices?: DeviceDirectory; logger?: Logger; rateLimit?: ApiDeps['rateLimit']; dbPath?: string } = {},
): Promise<ApiHarness> {
  // The core needs the sink before the bus (whose store is the core harness's) exists.
  const late: { bus?: EventBus } = {};
  const h = await harness({ register: options.register ?? false, onEvent: (e) => late.bus?.sink(e), ...(options.dbPath !== undefined ? { dbPath: options.dbPath } : {}) });
  const apiStore = new SqliteApiStore(h.store.database);
  const bus = new EventBus({ apiStore, ...(options.logger !== undefined ? { logger: options.logger } : {}) });
  late.bus = bus;
  const app = buildApp({
    core: h.core,
    store: h.store,
    apiStore,
    events: bus,
    now: () => h.clock.now,
    rateLimit: options.rateLimit ?? false,
    ...(options.devices !== undefined ? { devices: options.devices } : {}),
    ...(options.logger !== undefined ? { logger: options.logger } : {}),
  });
  const tokens = {
    admin: (await createApiToken(apiStore, { name: 'test-admin', role: 'admin' })).token,
    operate: (await createApiToken(apiStore, { name: 'test-operate', role: 'operate' })).token,
    read: (await createApiToken(apiStore, { name: 'test-read', role: 'read' })).token,
  };
  return {
    ...h,
    app,
    apiStore,
    bus,
    tokens,
    call(method, url, o = {}) {
      const role = o.role ?? 'admin';
      const headers: Record<string, string> = { ...(o.headers ?? {}) };
      const token = o.token ?? (role === 'none' ? undefined : tokens[role]);
      if (token !== undefined) headers.authorization = `Bearer ${token}`;
      return app.inject({ method, url, headers, ...(o.body !== undefined ? { payload: o.body as object } : {}), ...(o.payload !== undefined ? { payload: o.payload } : {}) });
    },
    async close() {
      await app.close();
      await bus.flush();
      await h.close();
    },
  };
}
