/**
 * Onboarding of a simulated fleet (issue 4 "eim sim fleet"): EIDs in the `eim sim pki` numbering, eUICC
 * identities from a test PKI (in memory, or the directory `eim sim pki --out DIR` wrote and the eIM trusts),
 * factory provisioning of each virtual eUICC with the eIM's AddInitialEimRequest (SGP.32 v1.2 §5.9.x
 * ES10b.AddInitialEim), card states kept on disk and loaded only when a device needs its card, and
 * registration of each EID, DTLS PSK and certificates with the eIM's REST API (POST /v1/euiccs/import,
 * rows shaped as POST /v1/euiccs). The eIM is reached only over the wire (HTTP here, CoAP/DTLS later).
 */
import { randomBytes, X509Certificate, createPrivateKey } from 'node:crypto';
import { mkdir, readFile, writeFile, access } from 'node:fs/promises';
import { join } from 'node:path';
import { AddInitialEimResponse } from '../asn1/eim-configuration.js';
import { fromHex, toHex } from '../asn1/hex.js';
import { eidWithCheckDigits } from '../asn1/identifiers.js';
import { decode } from '../asn1/schema.js';
import { subjectKeyIdentifier } from '../crypto/keys.js';
import { EimError, InvalidArgumentError } from '../errors.js';
import { VirtualEuicc, type ProfileInit } from './euicc/euicc.js';
import { luhnCheckDigit } from './euicc/profile-download.js';
import type { TestPki } from './pki.js';

/** The EIDs `eim sim pki --eids N` generates, from `offset`. */
export function fleetEids(count: number, offset = 0): string[] {
  if (!Number.isSafeInteger(count) || count < 1 || !Number.isSafeInteger(offset) || offset < 0 || count + offset > 1e10) {
    throw new InvalidArgumentError('count', 'expected a positive device count and a non-negative offset');
  }
  return Array.from({ length: count }, (_, i) => eidWithCheckDigits(`89049032000000000000${String(offset + i).padStart(10, '0')}`));
}

/** One eUICC identity: certificate DER and private key PEM (a test key). */
export interface EuiccIdentity {
  readonly certificate: Uint8Array;
  readonly privateKeyPem: string;
}

/** Where eUICC identities come from. */
export interface PkiSource {
  readonly eumCertificate: Uint8Array;
  readonly ciPKId: Uint8Array;
  identity(eid: string): Promise<EuiccIdentity>;
}

export function memoryPki(pki: TestPki): PkiSource {
  return {
    eumCertificate: pki.eum.certificate,
    ciPKId: pki.ci.subjectKeyIdentifier,
    async identity(eid) {
      const id = pki.euiccs.get(eid);
      if (id === undefined) throw new InvalidArgumentError('eid', `the test PKI has no eUICC certificate for ${eid}`);
      return { certificate: id.certificate, privateKeyPem: id.privateKeyPem };
    },
  };
}

/** The directory written by `eim sim pki --out DIR`: ci.der, eum.der, euicc-<EID>.der and -key.pem. */
export async function directoryPki(dir: string): Promise<PkiSource> {
  const ci = await readFile(join(dir, 'ci.der')).catch(() => undefined);
  const eum = await readFile(join(dir, 'eum.der')).catch(() => undefined);
  if (ci === undefined || eum === undefined) throw new EimError('EIM_ERR_CONFIG', `${dir} has no ci.der / eum.der; create it with eim sim pki --out ${dir} --eids N`);
  const ciPKId = subjectKeyIdentifier(new X509Certificate(ci).publicKey);
  return {
    eumCertificate: new Uint8Array(eum),
    ciPKId,
    async identity(eid) {
      try {
        const certificate = new Uint8Array(await readFile(join(dir, `euicc-${eid}.der`)));
        const privateKeyPem = await readFile(join(dir, `euicc-${eid}-key.pem`), 'utf8');
        return { certificate, privateKeyPem };
      } catch (cause) {
        throw new EimError('EIM_ERR_CONFIG', `${dir} has no eUICC certificate for ${eid}; create the PKI with enough EIDs (eim sim pki --eids N)`, { cause });
      }
    },
  };
}

/** A device as onboarded: what the fleet and the eIM's registry must agree on. */
export interface OnboardedDevice {
  readonly eid: string;
  readonly endpoint: string;
  readonly pskIdentity: string;
  /** hex */
  readonly psk: string;
  readonly associationToken?: number;
  registered?: boolean;
}

/** One ICCID per device (89 88 2 ..., Luhn check digit), for the operational profile each card starts with. */
export function fleetIccid(eid: string): string {
  const body = `8988200${eid.slice(20, 30)}00`.slice(0, 18);
  return body + luhnCheckDigit(body);
}


/** Card states on disk (mode 0600: they hold test keys), loaded on demand. */
export class CardStore {
  readonly dir: string;

  constructor(dir: string) {
    this.dir = dir;
  }

  file(eid: string): string {
    return join(this.dir, 'cards', `${eid}.json`);
  }

  async has(eid: string): Promise<boolean> {
    return access(this.file(eid)).then(() => true, () => false);
  }

  load(eid: string): Promise<VirtualEuicc> {
    return VirtualEuicc.load(this.file(eid));
  }

  async save(card: VirtualEuicc): Promise<void> {
    await mkdir(join(this.dir, 'cards'), { recursive: true });
    await card.save(this.file(card.eid));
  }

  manifestFile(): string {
    return join(this.dir, 'devices.json');
  }

  async readManifest(): Promise<OnboardedDevice[]> {
    try {
      return JSON.parse(await readFile(this.manifestFile(), 'utf8')) as OnboardedDevice[];
    } catch {
      return [];
    }
  }

  async writeManifest(devices: readonly OnboardedDevice[]): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    await writeFile(this.manifestFile(), `${JSON.stringify(devices)}\n`, { mode: 0o600 });
  }
}

/**
 * Factory provisioning of one card: the eUICC identity, one enabled operational profile, then
 * ES10b.AddInitialEim with the eIM's request. Returns the card and the association token it generated.
 */
export async function provisionCard(source: PkiSource, eid: string, addInitialEim: Uint8Array, profiles?: ProfileInit[]): Promise<{ card: VirtualEuicc; associationToken?: number }> {
  const id = await source.identity(eid);
  const card = VirtualEuicc.create({
    eid,
    euiccPrivateKey: createPrivateKey(id.privateKeyPem),
    euiccCertificate: id.certificate,
    eumCertificate: source.eumCertificate,
    ciPKId: source.ciPKId,
    profiles: profiles ?? [{ iccid: fleetIccid(eid), state: 'enabled', profileClass: 'operational' }],
  });
  const answer = decode(AddInitialEimResponse, card.addInitialEim(addInitialEim));
  if (!('addInitialEimOk' in answer)) throw new EimError('EIM_ERR_CONFIG', `AddInitialEim refused by ${eid}: ${String(answer.addInitialEimError)}`);
  const item = answer.addInitialEimOk[0];
  return item !== undefined && 'associationToken' in item ? { card, associationToken: item.associationToken } : { card };
}

export function newDevice(eid: string, associationToken: number | undefined): OnboardedDevice {
  const endpoint = `sim-${eid}`;
  return { eid, endpoint, pskIdentity: endpoint, psk: toHex(randomBytes(16)), ...(associationToken !== undefined ? { associationToken } : {}) };
}

/** The AddInitialEimRequest (BF57) from `eim config show` JSON ({ addInitialEimRequest: hex, ... }). */
export function addInitialEimFromJson(json: unknown): Uint8Array {
  const hex = (json as { addInitialEimRequest?: unknown } | null)?.addInitialEimRequest;
  if (typeof hex !== 'string' || !/^bf57/i.test(hex)) throw new EimError('EIM_ERR_CONFIG', 'expected the JSON of eim config show, with addInitialEimRequest (BF57 hex)');
  return fromHex(hex, 'addInitialEimRequest');
}

export interface ApiTarget {
  readonly url: string;
  readonly token: string;
}

async function call(api: ApiTarget, method: string, path: string, body?: unknown): Promise<unknown> {
  const response = await fetch(new URL(path, api.url), {
    method,
    headers: { authorization: `Bearer ${api.token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await response.text();
  if (!response.ok) throw new EimError('EIM_ERR_TRANSPORT', `${method} ${path} answered ${response.status}: ${text.slice(0, 200)}`);
  return text === '' ? undefined : (JSON.parse(text) as unknown);
}

/** GET /v1/eim/configuration: the same JSON as `eim config show`. */
export async function fetchAddInitialEim(api: ApiTarget): Promise<Uint8Array> {
  return addInitialEimFromJson(await call(api, 'GET', '/v1/eim/configuration'));
}

/**
 * Registers devices with the eIM (POST /v1/euiccs/import in batches; each row as POST /v1/euiccs takes it).
 * Marks each device registered; returns the failed rows' reasons.
 */
export async function registerWithApi(api: ApiTarget, devices: OnboardedDevice[], source: PkiSource, batch = 500): Promise<string[]> {
  const failures: string[] = [];
  const eumHex = toHex(source.eumCertificate);
  for (let i = 0; i < devices.length; i += batch) {
    const slice = devices.slice(i, i + batch);
    const rows = await Promise.all(
      slice.map(async (d) => ({
        eid: d.eid,
        endpoint: d.endpoint,
        pskIdentity: d.pskIdentity,
        psk: d.psk,
        euiccCertificate: toHex((await source.identity(d.eid)).certificate),
        eumCertificate: eumHex,
        labels: ['simulator'],
        ...(d.associationToken !== undefined ? { associationToken: d.associationToken } : {}),
      })),
    );
    const result = (await call(api, 'POST', '/v1/euiccs/import', rows)) as { results?: { row: number; ok: boolean; error?: { message?: string } }[] };
    for (const r of result.results ?? []) {
      const d = slice[r.row];
      if (d === undefined) continue;
      if (r.ok) d.registered = true;
      else failures.push(`${d.eid}: ${r.error?.message ?? 'refused'}`);
    }
  }
  return failures;
}
