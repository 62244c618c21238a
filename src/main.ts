/**
 * The composition root: builds the whole server from the configuration (the only place concrete classes
 * meet) and runs it until SIGTERM/SIGINT. `npm start` runs this file; tests call `startServer` directly.
 *
 * Listeners: LwM2M over coap:// and coaps:// (DTLS, per-device PSK from the store), ESipa over HTTP
 * (POST /gsma/rsp2/asn1), and the REST API. Shutdown stops accepting work, lets the scheduler finish what is
 * under way, closes the listeners and then the database.
 */
import dgram from 'node:dgram';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { rootCertificates } from 'node:tls';
import type { AddressInfo } from 'node:net';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { pino, type Logger } from 'pino';
import { buildApp, REDACT_PATHS } from './api/app.js';
import type { DeviceDirectory, DeviceView } from './api/device-directory.js';
import { EventBus } from './api/events.js';
import { createInitialAdminToken } from './api/tokens.js';
import { OutboxPruner } from './api/outbox-pruner.js';
import { WebhookDispatcher } from './api/webhook-dispatcher.js';
import { loadConfig, type EimConfig } from './config/config.js';
import { CryptoPool } from './crypto/crypto-pool.js';
import { dataPath, loadIdentity, loadTrustedCis } from './config/identity.js';
import { EimCore } from './eim/eim-core.js';
import type { EimEvent } from './eim/events.js';
import { Es9PlusDownloadRelay } from './esipa/download-es9plus-relay.js';
import { NotificationForwarder } from './esipa/download-notification-forwarder.js';
import { Es9PlusClient } from './esipa/es9plus-client.js';
import { EsipaHandler } from './esipa/esipa-handler.js';
import { createEsipaHttpServer } from './esipa/http-binding.js';
import { EsimBridge, type EsipaPort } from './lwm2m/esim-bridge.js';
import { Lwm2mSchedulerPorts, type Lwm2mLink } from './lwm2m/scheduler-ports.js';
import { Lwm2mServer } from './lwm2m/server.js';
import { DtlsServer } from './lwm2m/transport/dtls-server.js';
import { systemClock } from './scheduler/clock.js';
import { Scheduler } from './scheduler/scheduler.js';
import { SqliteApiStore } from './store/sqlite/sqlite-api-store.js';
import { SqliteCampaignStore } from './store/sqlite/sqlite-campaign-store.js';
import { SqliteStore } from './store/sqlite/sqlite-store.js';

/**
 * Commits arriving within this many ms share one SQLite transaction. Devices wake one by one, so without a
 * window each package would pay its own WAL write; 2 ms is far inside any awake window.
 */
const GROUP_COMMIT_WINDOW_MS = 2;

export interface RunningServer {
  readonly config: EimConfig;
  /** Bound ports (useful when the configuration asked for port 0). */
  readonly ports: { coap?: number; coaps?: number; esipaHttp?: number; api?: number };
  /** Where the first admin API token was written, on a first start. */
  readonly adminTokenFile?: string;
  readonly core: EimCore;
  close(): Promise<void>;
}

function listenHttp(server: import('node:http').Server, host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve((server.address() as AddressInfo).port));
  });
}

function bindUdp(host: string, port: number): Promise<dgram.Socket> {
  return new Promise((resolve, reject) => {
    // A large receive buffer: a wake storm must not overflow it (a dropped datagram costs a retransmission).
    const socket = dgram.createSocket({ type: host.includes(':') ? 'udp6' : 'udp4', recvBufferSize: 4 * 1024 * 1024 });
    socket.once('error', reject);
    socket.bind(port, host, () => {
      socket.off('error', reject);
      resolve(socket);
    });
  });
}

export async function startServer(config: EimConfig, options: { logger?: Logger } = {}): Promise<RunningServer> {
  const logger = options.logger ?? pino({ level: config.log.level, redact: { paths: [...REDACT_PATHS, 'psk', '*.psk', 'token', '*.token'], censor: '[redacted]' } });
  const log = logger.child({ component: 'main' });
  mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });
  const store = SqliteStore.open({ path: dataPath(config, config.database), logger, groupCommitWindowMs: GROUP_COMMIT_WINDOW_MS });
  const closers: (() => Promise<void> | void)[] = [() => store.close()];
  try {
    // Signing and verification on worker threads keep the event loop free for the devices' awake windows.
    const pool = config.eim.cryptoThreads > 0 ? new CryptoPool({ threads: config.eim.cryptoThreads }) : undefined;
    if (pool !== undefined) closers.push(() => pool.close());
    const { identity, generatedKeyFile } = await loadIdentity(config, pool !== undefined ? { pool } : {});
    if (generatedKeyFile !== undefined) log.warn({ keyFile: generatedKeyFile }, 'no eIM key configured: generated a development key (configure eim.keyFile in production)');
    const apiStore = new SqliteApiStore(store.database);
    const campaignStore = new SqliteCampaignStore(store);
    const bus = new EventBus({ apiStore, logger });
    // The scheduler is built after the core but must see the core's events: a late-bound reference.
    const scheduling: { scheduler?: Scheduler } = {};
    // Domain events are written to the outbox in the same commit as their change; here they are announced.
    await bus.start();
    const onEvent = (e: EimEvent): void => {
      bus.sink(e);
      scheduling.scheduler?.onEvent(e);
    };
    const core = new EimCore({
      store,
      identity,
      trustedCis: loadTrustedCis(config),
      logger,
      onEvent,
      maxAttempts: config.eim.maxAttempts,
      relaxNameConstraints: config.eim.relaxNameConstraints,
      ...(pool !== undefined ? { cryptoPool: pool } : {}),
    });
    // The eIM as ES9+ client: relay for indirect downloads, and forwarder of notifications to SM-DP+s.
    const rootOf = (file: string): string | Uint8Array => {
      const raw = readFileSync(file);
      return raw.includes('-----BEGIN') ? raw.toString('utf8') : new Uint8Array(raw);
    };
    const ca = config.smdp.tlsRootFiles.length > 0 ? config.smdp.tlsRootFiles.map(rootOf) : [...rootCertificates];
    const es9 = new Es9PlusClient({ ca, timeoutMs: config.smdp.timeoutMs, logger });
    const forwarder = new NotificationForwarder({ store, client: es9, logger });
    const relay = new Es9PlusDownloadRelay({ core, store, client: es9, forwarder, logger });
    forwarder.start();
    closers.unshift(async () => {
      await forwarder.stop();
      es9.close();
    });
    const esipa = new EsipaHandler({ core, relay, logger });
    const port: EsipaPort = {
      async handleIpaMessage(eid, message) {
        const outcome = await esipa.handle(message, eid === '' ? {} : { eid });
        return outcome.kind === 'response' ? outcome.der : undefined;
      },
    };

    // ---- LwM2M listeners ----
    const links: Lwm2mLink[] = [];
    const ports: RunningServer['ports'] = {};
    const awakeTimeMs = config.lwm2m.awakeWindowSeconds * 1000;
    const expectedEid = (endpoint: string): string | undefined => store.getByEndpoint(endpoint)?.eid;
    const coapOptions = { reassembly: { maxBodySize: config.lwm2m.maxBodyBytes } };
    if (config.lwm2m.coap.enabled) {
      const socket = await bindUdp(config.lwm2m.coap.host, config.lwm2m.coap.port);
      const server = new Lwm2mServer({ socket, logger, awakeTimeMs, coap: coapOptions });
      links.push({ server, bridge: new EsimBridge({ server, esipa: port, logger, expectedEid }) });
      ports.coap = socket.address().port;
      closers.unshift(() => {
        server.close();
        socket.close();
      });
    }
    let dtls: DtlsServer | undefined;
    let dtlsHandshakes = 0;
    if (config.lwm2m.coaps.enabled) {
      dtls = new DtlsServer({
        host: config.lwm2m.coaps.host,
        port: config.lwm2m.coaps.port,
        // Synchronous, inside the handshake: the SQLite SecurityStore answers without I/O waits.
        pskLookup: (id) => store.getByPskIdentity(id)?.psk,
        logger,
      });
      ports.coaps = (await dtls.listen()).port;
      dtls.on('session', () => dtlsHandshakes++);
      const byIdentity = (id: string | Uint8Array | undefined) => (id === undefined ? undefined : store.getByPskIdentity(typeof id === 'string' ? id : Buffer.from(id).toString('utf8')));
      const server = new Lwm2mServer({
        socket: dtls.socket,
        logger,
        awakeTimeMs,
        coap: coapOptions,
        // The authenticated identity is bound to its endpoint name: one device cannot register as another.
        authorize: (endpoint, info) => byIdentity(info?.pskIdentity)?.endpoint === endpoint,
      });
      links.push({ server, bridge: new EsimBridge({ server, esipa: port, logger, expectedEid }) });
      const d = dtls;
      closers.unshift(async () => {
        server.close();
        await d.close();
      });
    }
    for (const { server } of links) {
      server.on('registered', (r: { endpoint: string; address: string }) => bus.publish({ type: 'device.registered', endpoint: r.endpoint, at: Date.now() }));
      server.on('deregistered', (r: { endpoint: string }, reason: string) => bus.publish({ type: 'device.deregistered', endpoint: r.endpoint, reason, at: Date.now() }));
    }
    const lwm2m = new Lwm2mSchedulerPorts(links);

    // ---- scheduler ----
    const scheduler = new Scheduler({
      core,
      store,
      campaigns: campaignStore,
      clock: systemClock,
      presence: lwm2m,
      injection: { source: esipa, downlink: lwm2m },
      onOperationEvent: onEvent,
      onCampaignEvent: (e) => bus.publish({ ...e }),
      logger,
    });
    scheduling.scheduler = scheduler;
    scheduler.start();
    closers.unshift(() => scheduler.stop());

    // The core writes events whether or not the API runs: the outbox is pruned either way.
    const pruner = new OutboxPruner({ apiStore, retentionMs: config.events.retentionHours * 3_600_000, logger });
    pruner.start();
    closers.unshift(() => pruner.stop());

    // ---- HTTP listeners ----
    if (config.http.esipa.enabled) {
      const http = createEsipaHttpServer({ handler: esipa, logger, maxBodyBytes: config.lwm2m.maxBodyBytes });
      ports.esipaHttp = await listenHttp(http, config.http.esipa.host, config.http.esipa.port);
      closers.unshift(() => new Promise<void>((r) => http.close(() => r())));
    }
    let adminTokenFile: string | undefined;
    if (config.http.api.enabled) {
      const devices = deviceDirectory(links, dtls !== undefined ? () => dtlsHandshakes : undefined);
      const app = buildApp({ core, store, apiStore, events: bus, logger, devices, campaigns: { campaigns: scheduler.campaigns } });
      await app.listen({ host: config.http.api.host, port: config.http.api.port });
      ports.api = (app.server.address() as AddressInfo).port;
      closers.unshift(() => app.close());
      const webhooks = new WebhookDispatcher({ apiStore, bus, logger });
      webhooks.start();
      closers.unshift(() => webhooks.stop());
      const token = await createInitialAdminToken(apiStore);
      if (token !== undefined) {
        adminTokenFile = dataPath(config, 'admin-token');
        writeFileSync(adminTokenFile, `${token}\n`, { mode: 0o600 });
        log.warn({ file: adminTokenFile }, 'first start: an admin API token was written to this file (mode 0600)');
      }
    }
    log.info({ ports, eimId: identity.eimId }, 'eIM server started');
    let closed: Promise<void> | undefined;
    return {
      config,
      ports,
      core,
      ...(adminTokenFile !== undefined ? { adminTokenFile } : {}),
      close() {
        closed ??= (async () => {
          for (const c of closers) await c();
          log.info('eIM server stopped');
        })();
        return closed;
      },
    };
  } catch (e) {
    for (const c of closers) await Promise.resolve(c()).catch(() => undefined);
    throw e;
  }
}

/** The API's view of LwM2M registrations, joined with the EID each bridge bound. */
function deviceDirectory(links: readonly Lwm2mLink[], handshakes: (() => number) | undefined): DeviceDirectory {
  const view = (link: Lwm2mLink, endpoint: string): DeviceView | undefined => {
    const r = link.server.registrations.getByEndpoint(endpoint);
    if (r === undefined) return undefined;
    const p = link.server.presence.state(endpoint);
    const eid = link.bridge.eidOf(endpoint);
    return {
      endpoint,
      ...(eid !== undefined ? { eid } : {}),
      binding: r.binding,
      queueMode: r.queueMode,
      address: `${r.address}:${r.port}`,
      registeredAt: r.registeredAt,
      lifetime: r.lifetime,
      awake: link.server.presence.isAwake(endpoint),
      ...(p !== undefined ? { lastUplinkAt: p.lastUplink } : {}),
      ...(p?.nextExpectedUplink !== undefined ? { nextExpectedUplinkAt: p.nextExpectedUplink } : {}),
      ...(r.identity !== undefined ? { dtlsIdentity: r.identity } : {}),
    };
  };
  const all = (): DeviceView[] =>
    links.flatMap((l) => [...l.server.registrations.all()].map((r) => view(l, r.endpoint)).filter((v): v is DeviceView => v !== undefined)).sort((a, b) => (a.endpoint < b.endpoint ? -1 : 1));
  return {
    get(endpointOrEid) {
      for (const l of links) {
        const v = view(l, endpointOrEid) ?? view(l, l.bridge.endpointOf(endpointOrEid) ?? '');
        if (v !== undefined) return v;
      }
      return undefined;
    },
    list(filter) {
      return all().filter((v) => filter?.awake === undefined || v.awake === filter.awake);
    },
    stats() {
      const list = all();
      return { registered: list.length, awake: list.filter((v) => v.awake).length, ...(handshakes !== undefined ? { dtlsHandshakes: handshakes() } : {}) };
    },
  };
}

async function run(): Promise<void> {
  const { values } = parseArgs({ args: process.argv.slice(2), options: { config: { type: 'string' } }, strict: true });
  const config = loadConfig(values.config !== undefined ? { file: values.config } : {});
  const server = await startServer(config);
  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    process.stderr.write(`${signal}: stopping\n`);
    void server.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  run().catch((e: unknown) => {
    process.stderr.write(`eim: ${(e as Error).message}\n`);
    process.exit(1);
  });
}
