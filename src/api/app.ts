/**
 * The operator's REST API (fastify): `buildApp(deps)` returns the instance without listening (main.ts
 * listens; tests use inject()). Versioned under /v1, JSON in and out, every body, query, params and header
 * validated by the route's JSON Schema, errors as `{ error, message, details? }` (src/api/errors.ts), and
 * the OpenAPI document generated from the same schemas. Auth, roles, rate limiting and the audit of
 * mutating calls are root hooks (plugins/auth.ts), so every route plugin gets them.
 */
import Fastify, { type FastifyInstance } from 'fastify';
import { pino, type Logger } from 'pino';
import { eidCheckDigitsValid } from '../asn1/identifiers.js';
import type { EimCore } from '../eim/eim-core.js';
import type { ApiStore } from '../store/api-store.js';
import type { Store } from '../store/store.js';
import type { DeviceDirectory } from './device-directory.js';
import { handleError } from './errors.js';
import type { EventBus } from './events.js';
import { MetricsRegistry } from './metrics.js';
import { buildOpenApiDocument, collectRoute, renderDocsPage, type CollectedRoute } from './openapi.js';
import { actorOf, type ApiContext } from './context.js';
import { authorize, installAuth, liftAuthorizeRole } from './plugins/auth.js';
import { DEFAULT_RATE_LIMIT, type RateLimitOptions } from './rate-limit.js';
import { campaignRoutes, type CampaignRoutesOptions } from './routes/campaigns.js';
import { deviceRoutes } from './routes/devices.js';
import { euiccRoutes } from './routes/euiccs.js';
import { eventRoutes } from './routes/events.js';
import { healthRoutes } from './routes/health.js';
import { operationRoutes } from './routes/operations.js';
import { eimRoutes } from './routes/eim.js';
import { tokenRoutes } from './routes/tokens.js';
import { webhookRoutes } from './routes/webhooks.js';

export const API_VERSION = '0.1.0';

/** Log paths pino removes: tokens, PSKs, secrets (house style B6). */
export const REDACT_PATHS = [
  'req.headers.authorization',
  'headers.authorization',
  'authorization',
  'psk',
  '*.psk',
  '*.*.psk',
  'token',
  '*.token',
  'secret',
  '*.secret',
];

export interface ApiDeps {
  readonly core: EimCore;
  readonly store: Store;
  readonly apiStore: ApiStore;
  /** The bus main.ts also gives the core as `onEvent`. */
  readonly events: EventBus;
  readonly logger?: Logger;
  /** The LwM2M registration view; without it /v1/devices is empty. */
  readonly devices?: DeviceDirectory;
  readonly now?: () => number;
  /** Per-token token bucket (default 100 burst, 50/s); false turns it off. */
  readonly rateLimit?: RateLimitOptions | false;
  /** The campaign service (src/scheduler); when given, /v1/campaigns routes are registered. */
  readonly campaigns?: Omit<CampaignRoutesOptions, 'authorize' | 'actorOf'>;
  /** Largest JSON body in bytes (default 1 MiB; the import route allows 32 MiB). */
  readonly bodyLimit?: number;
}

export function buildApp(deps: ApiDeps): FastifyInstance {
  const logger = (deps.logger ?? pino({ level: 'silent' })).child({ component: 'api' }, { redact: { paths: REDACT_PATHS, censor: '[redacted]' } });
  const app = Fastify({
    loggerInstance: logger,
    bodyLimit: deps.bodyLimit ?? 1024 * 1024,
    ajv: { customOptions: { formats: { eid: (s: string) => eidCheckDigitsValid(s) } } },
  }) as unknown as FastifyInstance;
  const metrics = new MetricsRegistry();
  const ctx: ApiContext = {
    core: deps.core,
    store: deps.store,
    apiStore: deps.apiStore,
    events: deps.events,
    devices: deps.devices,
    metrics,
    now: deps.now ?? Date.now,
  };

  const routes: CollectedRoute[] = [];
  app.addHook('onRoute', (route) => {
    liftAuthorizeRole(route);
    routes.push(...collectRoute(route));
  });
  app.setErrorHandler(handleError);
  app.setNotFoundHandler((request, reply) => {
    void reply.code(404).send({ error: 'EIM_ERR_NOT_FOUND', message: `no route ${request.method} ${request.url.split('?')[0]}` });
  });
  installMetrics(app, ctx);
  installAuth(app, ctx, deps.rateLimit ?? DEFAULT_RATE_LIMIT);

  void app.register(healthRoutes, { ctx });
  void app.register(euiccRoutes, { ctx });
  void app.register(operationRoutes, { ctx });
  void app.register(deviceRoutes, { ctx });
  void app.register(eventRoutes, { ctx });
  void app.register(webhookRoutes, { ctx });
  void app.register(tokenRoutes, { ctx });
  void app.register(eimRoutes, { ctx });
  if (deps.campaigns !== undefined) {
    void app.register(campaignRoutes, { ...deps.campaigns, authorize, actorOf, prefix: '/v1' });
  }

  let document: Record<string, unknown> | undefined;
  const openApi = (): Record<string, unknown> =>
    (document ??= buildOpenApiDocument(routes, {
      title: 'lwm2m-eim operator API',
      version: API_VERSION,
      description: 'SGP.32 eIM inside an LwM2M server: eUICC registry, operations, devices, events, webhooks, tokens.',
    }));
  app.get('/v1/openapi.json', { schema: { summary: 'This OpenAPI 3.1 document', tags: ['docs'] } }, async () => openApi());
  app.get('/v1/docs', { config: { produces: 'text/html' }, schema: { summary: 'Browsable API documentation (HTML)', tags: ['docs'] } }, async (_request, reply) =>
    reply.type('text/html; charset=utf-8').send(renderDocsPage(openApi())),
  );
  return app;
}

/** HTTP latency histogram, counters fed by events, and gauges read from the stores and the device port. */
function installMetrics(app: FastifyInstance, ctx: ApiContext): void {
  const { metrics } = ctx;
  const latency = metrics.histogram('eim_http_request_duration_seconds', 'REST API request latency', [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5]);
  app.addHook('onResponse', async (request, reply) => {
    latency.observe({ method: request.method, route: request.routeOptions.url ?? 'unmatched', status_code: String(reply.statusCode) }, reply.elapsedTime / 1000);
  });
  const packages = metrics.counter('eim_packages_sent_total', 'eIM packages handed to devices (operation state changes to sent)');
  const results = metrics.counter('eim_operations_completed_total', 'Operations reaching a final state, by state');
  const notifications = metrics.counter('eim_notifications_received_total', 'Notifications received from eUICCs, by kind');
  const rejected = metrics.counter('eim_results_rejected_total', 'Results or notifications refused (signature, counter, replay...)');
  const events = metrics.counter('eim_events_total', 'Events written to the outbox, by type');
  const unsubscribe = ctx.events.subscribe((e) => {
    events.inc({ type: e.type });
    const data = (e.data ?? {}) as Record<string, unknown>;
    if (e.type === 'operation.changed') {
      if (data.state === 'sent') packages.inc();
      else if (data.state !== 'queued') results.inc({ state: String(data.state) });
    } else if (e.type === 'notification.received') notifications.inc({ kind: String(data.kind) });
    else if (e.type === 'result.rejected') rejected.inc();
  });
  app.addHook('onClose', async () => unsubscribe());
  // Both gauges come from one count over the whole operations table: one scrape reads it once, not twice.
  const operationCounts = perScrape(() => ctx.apiStore.operationCountsByState());
  metrics.gauge({
    name: 'eim_operations',
    help: 'Operations by state',
    collect: async () => Object.entries(await operationCounts()).map(([state, value]) => ({ labels: { state }, value })),
  });
  metrics.gauge({
    name: 'eim_queue_depth',
    help: 'Operations queued and not yet sent',
    collect: async () => [{ value: (await operationCounts()).queued ?? 0 }],
  });
  const devices = ctx.devices;
  if (devices !== undefined) {
    // Three gauges below read these figures; a scrape computes them once.
    const stats = perScrape((): { registered: number; awake: number; dtlsHandshakes?: number } => {
      if (devices.stats !== undefined) return devices.stats();
      const all = devices.list();
      return { registered: all.length, awake: all.filter((d) => d.awake).length };
    });
    metrics.gauge({ name: 'eim_lwm2m_registrations', help: 'Registered LwM2M devices', collect: async () => [{ value: stats().registered }] });
    metrics.gauge({ name: 'eim_lwm2m_awake_devices', help: 'Devices awake now', collect: async () => [{ value: stats().awake }] });
    metrics.gauge({
      name: 'eim_dtls_handshakes_total',
      help: 'Completed DTLS handshakes since start',
      type: 'counter',
      collect: async () => {
        const n = stats().dtlsHandshakes;
        return n === undefined ? [] : [{ value: n }];
      },
    });
  }
}

/** `read`'s value, computed at most once a second: the gauges of one /metrics scrape share it. */
function perScrape<T>(read: () => T): () => T {
  let last: { at: number; value: T } | undefined;
  return () => {
    const now = Date.now();
    if (last === undefined || now - last.at > 1000) last = { at: now, value: read() };
    return last.value;
  };
}
