/**
 * `eim sim fleet`: runs N simulated devices (virtual eUICC + IPA + LwM2M client on object 3443) against an
 * eIM's LwM2M server, after onboarding them: each card is provisioned with the eIM's AddInitialEimRequest and
 * each EID, DTLS PSK and certificate is registered through the eIM's REST API. Prints a live summary.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fromHex } from '../../asn1/hex.js';
import {
  addInitialEimFromJson, CardStore, directoryPki, fetchAddInitialEim, fleetEids, memoryPki, newDevice, provisionCard,
  registerWithApi, type ApiTarget, type OnboardedDevice, type PkiSource,
} from '../../sim/fleet-onboarding.js';
import { Fleet, type FleetStats } from '../../sim/fleet.js';
import { loadDtlsClient } from '../../sim/device-link.js';
import { createTestPki, writeTestPki } from '../../sim/pki.js';
import { DEFAULT_NAT_TIMEOUT_MS, parseDuration, parseSchedule } from '../../sim/sleep.js';
import { type Command, parse, UsageError } from '../command.js';

const USAGE = `
Usage: eim sim fleet --server coap[s]://HOST:PORT --devices N [options]

Onboards N simulated devices and runs them until SIGINT or --duration:
  1. the eIM's AddInitialEimRequest comes from --eim-config FILE (the JSON of "eim config show") or, with
     --api, from GET /v1/eim/configuration;
  2. each virtual eUICC (EIDs numbered as "eim sim pki --eids N" numbers them) gets one operational profile
     and runs ES10b.AddInitialEim; card states are kept in --state DIR (a temp dir otherwise);
  3. with --api, each EID, endpoint (sim-<EID>), DTLS PSK and certificate is registered with the eIM
     (POST /v1/euiccs/import); devices already registered in --state are skipped;
  4. devices register (LwM2M 1.1, b=U, queue mode), then sleep and wake on their schedule.
The eIM must trust the CI of the PKI: use --pki DIR from "eim sim pki --out DIR --eids N" and configure
DIR/ci.der as trusted. Without --pki a fresh PKI is made (written to STATE/pki when --state is given).

Options:
  --server URL          coap://HOST:PORT (NoSec) or coaps://HOST:PORT (DTLS PSK, needs node-dtls-client)
  --devices N           number of devices (1..100000)
  --psm PERIOD[:AWAKE]  PSM: wake every PERIOD, stay awake AWAKE (default 1h:93s); durations: 500ms, 93s, 10m, 1h
  --edrx CYCLE[:WINDOW] eDRX instead: paging every CYCLE for WINDOW (default window 2.56s); registers without Q
  --always-on           never sleep
  --jitter F            schedule jitter as a fraction (default 0.1)
  --nat-timeout DUR     sleeps longer than this come back from a new port, with a new handshake (default 120s)
  --mode M              injection (default) or retrieval (the IPA polls on every wake)
  --delivery D          send (default) or notify: how /3443/0/3 reaches the eIM
  --pki DIR             eUICC certificates and keys from "eim sim pki --out DIR"
  --state DIR           keep card states, PSKs and the device list here (reused on the next run)
  --eim-config FILE     JSON of "eim config show" (AddInitialEimRequest)
  --api URL             the eIM's REST API (with --token): configuration and registration
  --token T             API bearer token (admin role)
  --offset N            first EID index (default 0)
  --concurrency N       registrations in flight (default 64)
  --ramp DUR            spread first registrations over DUR (default 0)
  --duration DUR        stop after DUR (default: until SIGINT)
  --summary-every DUR   live summary period (default 5s)
  --deregister          deregister every device when stopping
  --seed N              schedule seed (default 1)
  -h, --help            show this help
`;

export const simFleetCommand: Command = {
  name: 'sim fleet',
  summary: 'run N simulated devices (eUICC + IPA + LwM2M client) against the eIM, with sleep schedules',
  usage: USAGE,
  async run(args, io) {
    const { values, positionals } = parse(args, {
      server: { type: 'string' }, devices: { type: 'string' }, psm: { type: 'string' }, edrx: { type: 'string' }, 'always-on': { type: 'boolean' },
      jitter: { type: 'string' }, 'nat-timeout': { type: 'string' }, mode: { type: 'string' }, delivery: { type: 'string' }, pki: { type: 'string' },
      state: { type: 'string' }, 'eim-config': { type: 'string' }, api: { type: 'string' }, token: { type: 'string' }, offset: { type: 'string' },
      concurrency: { type: 'string' }, ramp: { type: 'string' }, duration: { type: 'string' }, 'summary-every': { type: 'string' },
      deregister: { type: 'boolean' }, seed: { type: 'string' },
    });
    if (positionals.length > 0) throw new UsageError(`unexpected argument ${positionals[0]}`);
    const server = parseServer(values.server);
    const count = integer(values.devices, 'devices', 1, 100_000);
    const jitter = values.jitter === undefined ? 0.1 : Number(values.jitter);
    if (!(jitter >= 0 && jitter < 1)) throw new UsageError('--jitter must be in [0, 1)');
    const chosen = [values.psm, values.edrx, values['always-on']].filter((v) => v !== undefined && v !== false);
    if (chosen.length > 1) throw new UsageError('give one of --psm, --edrx, --always-on');
    const schedule = values['always-on'] === true ? parseSchedule('on') : values.edrx !== undefined ? parseSchedule(`edrx:${values.edrx}`, jitter) : parseSchedule(`psm:${values.psm ?? '1h:93s'}`, jitter);
    const mode = oneOf(values.mode ?? 'injection', ['injection', 'retrieval'] as const, 'mode');
    const delivery = oneOf(values.delivery ?? 'send', ['send', 'notify'] as const, 'delivery');
    if ((values.api === undefined) !== (values.token === undefined)) throw new UsageError('--api and --token go together');
    if (values.api === undefined && values['eim-config'] === undefined) throw new UsageError('give --eim-config FILE or --api URL --token T (the AddInitialEim data)');
    const api: ApiTarget | undefined = values.api !== undefined ? { url: values.api, token: values.token! } : undefined;
    const duration = values.duration === undefined ? undefined : parseDuration(values.duration);
    const summaryEvery = parseDuration(values['summary-every'] ?? '5s');
    if (server.secure) await loadDtlsClient();

    // ---- onboarding ----
    const stateDir = values.state ?? (await mkdtemp(join(tmpdir(), 'eim-sim-fleet-')));
    const cards = new CardStore(stateDir);
    const eids = fleetEids(count, values.offset === undefined ? 0 : integer(values.offset, 'offset', 0, 1e10));
    let source: PkiSource;
    if (values.pki !== undefined) source = await directoryPki(values.pki);
    else {
      const pki = createTestPki({ eids });
      source = memoryPki(pki);
      io.stderr('eim sim fleet: made a fresh test PKI; the eIM must trust its CI to accept these eUICCs\n');
      if (values.state !== undefined) {
        await writeTestPki(pki, join(stateDir, 'pki'));
        io.stderr(`eim sim fleet: PKI written to ${join(stateDir, 'pki')} (trust ci.der in the eIM)\n`);
      }
    }
    const addInitialEim = values['eim-config'] !== undefined ? addInitialEimFromJson(JSON.parse(readFileSync(values['eim-config'], 'utf8'))) : await fetchAddInitialEim(api!);
    const known = new Map((await cards.readManifest()).map((d) => [d.eid, d]));
    const devices: OnboardedDevice[] = [];
    for (const eid of eids) {
      let d = known.get(eid);
      if (d === undefined || !(await cards.has(eid))) {
        const { card, associationToken } = await provisionCard(source, eid, addInitialEim);
        await cards.save(card);
        d = newDevice(eid, associationToken);
        known.set(eid, d);
      }
      devices.push(d);
    }
    await cards.writeManifest([...known.values()]);
    if (api !== undefined) {
      const failures = await registerWithApi(api, devices.filter((d) => d.registered !== true), source);
      await cards.writeManifest([...known.values()]);
      if (failures.length > 0) io.stderr(`eim sim fleet: ${failures.length} registrations refused, first: ${failures[0]}\n`);
    }
    io.stdout(`onboarded ${devices.length} devices (state in ${stateDir}); connecting to ${values.server}\n`);

    // ---- run ----
    const fleet = new Fleet({
      server: { address: server.host, port: server.port },
      devices: devices.map((d) => ({
        endpoint: d.endpoint,
        eid: d.eid,
        euicc: () => cards.load(d.eid),
        save: (card) => cards.save(card),
        ...(server.secure ? { security: { kind: 'psk' as const, identity: d.pskIdentity, key: fromHex(d.psk) } } : {}),
      })),
      schedule,
      mode,
      delivery,
      natTimeoutMs: values['nat-timeout'] === undefined ? DEFAULT_NAT_TIMEOUT_MS : parseDuration(values['nat-timeout']),
      registerConcurrency: values.concurrency === undefined ? 64 : integer(values.concurrency, 'concurrency', 1, 10_000),
      ...(values.ramp !== undefined ? { rampMs: parseDuration(values.ramp) } : {}),
      seed: values.seed === undefined ? 1 : integer(values.seed, 'seed', 0, 2 ** 31),
    });
    const started = Date.now();
    fleet.start();
    const summary = setInterval(() => io.stdout(`${summaryLine(fleet.stats, Date.now() - started)}\n`), summaryEvery);
    await new Promise<void>((resolve) => {
      const stop = (): void => {
        process.removeListener('SIGINT', stop);
        clearTimeout(timer);
        resolve();
      };
      const timer = duration === undefined ? undefined : setTimeout(stop, duration);
      process.once('SIGINT', stop);
    });
    clearInterval(summary);
    await fleet.stop({ deregister: values.deregister === true });
    io.stdout(`${summaryLine(fleet.stats, Date.now() - started)} (stopped)\n`);
    for (const e of fleet.stats.lastErrors) io.stderr(`  recent error: ${e}\n`);
    if (values.state === undefined) await rm(stateDir, { recursive: true, force: true });
    return 0;
  },
};

export function summaryLine(s: FleetStats, elapsedMs: number): string {
  return `t=${Math.round(elapsedMs / 1000)}s registered ${s.registered}/${s.devices} awake ${s.awake} wakes ${s.wakes} rebinds ${s.rebinds} packages executed ${s.packagesExecuted} results delivered ${s.resultsDelivered} errors ${s.errors}`;
}

function parseServer(url: string | undefined): { secure: boolean; host: string; port: number } {
  if (url === undefined) throw new UsageError('--server coap[s]://HOST:PORT is required');
  const m = /^(coaps?):\/\/(\[[0-9a-fA-F:.]+\]|[^:/]+)(?::([0-9]{1,5}))?\/?$/.exec(url);
  if (m === null) throw new UsageError(`--server must be coap://HOST:PORT or coaps://HOST:PORT, got ${url}`);
  const secure = m[1] === 'coaps';
  const port = m[3] === undefined ? (secure ? 5684 : 5683) : Number(m[3]);
  if (port < 1 || port > 65535) throw new UsageError('--server port must be 1..65535');
  if (m[2]!.startsWith('[')) throw new UsageError('--server: IPv6 addresses are not supported by the simulator yet');
  return { secure, host: m[2]!, port };
}

function integer(text: string | undefined, name: string, min: number, max: number): number {
  const n = Number(text);
  if (text === undefined || !Number.isSafeInteger(n) || n < min || n > max) throw new UsageError(`--${name} must be an integer in ${min}..${max}`);
  return n;
}

function oneOf<T extends string>(value: string, allowed: readonly T[], name: string): T {
  if (!(allowed as readonly string[]).includes(value)) throw new UsageError(`--${name} must be one of ${allowed.join(', ')}`);
  return value as T;
}

