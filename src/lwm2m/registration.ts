/**
 * Registration records and the parsing of Register/Update parameters (OMA LwM2M 1.1.1 Core §6.2.1–6.2.2,
 * Transport §6.5 queue mode): `ep`, `lt` (default 86400 s), `lwm2m` (default 1.0), `b` (default U), the
 * 1.1 `Q` flag and the 1.0 `b=UQ` form, and the object links with versions and the root link's `ct`.
 */
import { CoapDecodeError } from './errors.js';
import type { Peer } from './coap/socket.js';
import { parseLinkFormat, type Link } from './content/link-format.js';

/** An immutable registration; a new value replaces it on Update. Small on purpose (100k idle devices). */
export interface Registration {
  readonly id: string;
  readonly endpoint: string;
  /** Seconds. */
  readonly lifetime: number;
  readonly lwm2mVersion: string;
  readonly binding: string;
  readonly queueMode: boolean;
  /** The object links as received (link format text), parsed on demand by `objectLinks`. */
  readonly links: string;
  readonly address: string;
  readonly port: number;
  /**
   * The same address and port as one shared object, so every request and observation towards the device
   * points at it instead of holding a copy (issue 5). Optional: `peerOf` builds one when absent or stale.
   */
  readonly peer?: Peer;
  /** DTLS identity bound at Register (PSK identity as text), undefined over plain CoAP. */
  readonly identity: string | undefined;
  readonly registeredAt: number;
  /** Clock ms of the last Register or Update. */
  readonly lastUpdate: number;
}

export interface RegisterParameters {
  readonly endpoint: string;
  readonly lifetime: number;
  readonly lwm2mVersion: string;
  readonly binding: string;
  readonly queueMode: boolean;
}

export interface UpdateParameters {
  readonly lifetime?: number;
  readonly binding?: string;
  readonly queueMode?: boolean;
}

export const DEFAULT_LIFETIME_S = 86_400;

/**
 * Interns strings that many registrations repeat (object links of one firmware, bindings), so 100,000
 * devices share one copy (issue 5). Bounded: when full it starts over, so junk from misbehaving clients
 * cannot pin memory; strings already handed out stay valid.
 */
export class StringPool {
  readonly #pool = new Map<string, string>();
  readonly #maxEntries: number;
  readonly #maxLength: number;

  constructor(maxEntries = 512, maxLength = 2048) {
    this.#maxEntries = maxEntries;
    this.#maxLength = maxLength;
  }

  get size(): number {
    return this.#pool.size;
  }

  /** The pooled copy equal to `text` (the first one seen), or `text` itself when it is too long to pool. */
  intern(text: string): string {
    if (text.length > this.#maxLength) return flat(text);
    const pooled = this.#pool.get(text);
    if (pooled !== undefined) return pooled;
    if (this.#pool.size >= this.#maxEntries) this.#pool.clear();
    const copy = flat(text);
    this.#pool.set(copy, copy);
    return copy;
  }
}

/**
 * A copy of `text` that holds only its own characters. Substrings of 13+ characters are views that keep
 * the whole parent alive (the Uri-Query "ep=..." or the decoded payload), which a long-lived record must not.
 */
export function flat(text: string): string {
  if (text.length < 13) return text;
  const copy = Buffer.from(text, 'utf8').toString('utf8');
  return copy === text ? copy : text; // a lone surrogate does not survive UTF-8: keep the original then
}

/** Shared by every registration of this process: links and bindings repeat across a fleet. */
const sharedTexts = new StringPool();
/** The versions the Register check admits ("1.0" .. "1.9"), one string each. */
const LWM2M_VERSIONS = Array.from({ length: 10 }, (_, i) => `1.${i}`);

function queryMap(query: readonly string[]): Map<string, string | true> {
  const m = new Map<string, string | true>();
  for (const q of query) {
    const eq = q.indexOf('=');
    if (eq < 0) m.set(q, true);
    else m.set(q.slice(0, eq), q.slice(eq + 1));
  }
  return m;
}

function lifetimeOf(value: string | true | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (value === true || !/^\d{1,10}$/.test(value) || Number(value) < 1) throw new CoapDecodeError('lt must be a positive integer');
  return Number(value);
}

function bindingOf(value: string | true | undefined): string | undefined {
  if (value === undefined) return undefined;
  if (value === true || !/^[UMHTSNQ]{1,6}$/.test(value)) throw new CoapDecodeError(`bad binding "${String(value).slice(0, 16)}"`);
  return value;
}

/** Register query: ep is mandatory; 1.0 signals queue mode with b=UQ, 1.1+ with a bare Q. */
export function parseRegisterQuery(query: readonly string[]): RegisterParameters {
  const q = queryMap(query);
  const ep = q.get('ep');
  if (typeof ep !== 'string' || ep.length === 0 || ep.length > 255) throw new CoapDecodeError('ep is missing or too long');
  const version = q.get('lwm2m');
  const lwm2mVersion = typeof version === 'string' ? version : '1.0';
  if (!/^1\.[0-9]$/.test(lwm2mVersion)) throw new CoapDecodeError(`unsupported LwM2M version "${lwm2mVersion.slice(0, 8)}"`);
  const rawBinding = bindingOf(q.get('b')) ?? 'U';
  const queueMode = q.get('Q') === true || rawBinding.includes('Q');
  return {
    endpoint: flat(ep),
    lifetime: lifetimeOf(q.get('lt')) ?? DEFAULT_LIFETIME_S,
    lwm2mVersion: LWM2M_VERSIONS[Number(lwm2mVersion[2])]!,
    binding: sharedTexts.intern(rawBinding.replace('Q', '') || 'U'),
    queueMode,
  };
}

export function parseUpdateQuery(query: readonly string[]): UpdateParameters {
  const q = queryMap(query);
  const lifetime = lifetimeOf(q.get('lt'));
  const b = bindingOf(q.get('b'));
  const out: { lifetime?: number; binding?: string; queueMode?: boolean } = {};
  if (lifetime !== undefined) out.lifetime = lifetime;
  if (b !== undefined) {
    out.binding = sharedTexts.intern(b.replace('Q', '') || 'U');
    if (b.includes('Q')) out.queueMode = true;
  }
  if (q.get('Q') === true) out.queueMode = true;
  return out;
}

/** Validates an object-link payload (throws CoapDecodeError) and returns it as text, shared with equal ones. */
export function checkObjectLinks(payload: Uint8Array): string {
  if (payload.length > 8192) throw new CoapDecodeError('object links over 8 KiB');
  const text = Buffer.from(payload).toString('utf8');
  const links = parseLinkFormat(text);
  for (const l of links) {
    if (!/^(\/[A-Za-z0-9._~-]*)+$/.test(l.target)) throw new CoapDecodeError(`bad link target "${l.target.slice(0, 32)}"`);
  }
  return sharedTexts.intern(text);
}

export interface ObjectLinks {
  readonly links: readonly Link[];
  /** Object id -> announced version (default "1.0" when absent). */
  readonly objectVersions: ReadonlyMap<number, string>;
  /** Content formats from the root link's ct attribute, if given. */
  readonly contentFormats: readonly number[];
  /** Instances announced per object. */
  readonly instances: ReadonlyMap<number, readonly number[]>;
}

export function objectLinks(registration: Pick<Registration, 'links'>): ObjectLinks {
  const links = registration.links ? parseLinkFormat(registration.links) : [];
  const objectVersions = new Map<number, string>();
  const instances = new Map<number, number[]>();
  let contentFormats: number[] = [];
  for (const l of links) {
    if (l.attributes.get('rt') === 'oma.lwm2m') {
      const ct = l.attributes.get('ct');
      if (typeof ct === 'string') contentFormats = ct.split(/[\s,]+/).filter(Boolean).map(Number).filter(Number.isInteger);
      continue;
    }
    const m = /^\/(\d+)(?:\/(\d+))?$/.exec(l.target);
    if (!m) continue;
    const oid = Number(m[1]);
    const ver = l.attributes.get('ver');
    if (!objectVersions.has(oid) || typeof ver === 'string') objectVersions.set(oid, typeof ver === 'string' ? ver : '1.0');
    if (m[2] !== undefined) instances.set(oid, [...(instances.get(oid) ?? []), Number(m[2])]);
  }
  return { links, objectVersions, contentFormats, instances };
}

/** Where the device is: the registration's shared peer object when it matches its address and port. */
export function peerOf(registration: Registration): Peer {
  const peer = registration.peer;
  if (peer !== undefined && peer.address === registration.address && peer.port === registration.port) return peer;
  return { address: registration.address, port: registration.port };
}

/**
 * A Map key for a peer that costs no string: address and port packed into one number for a dotted IPv4
 * address in canonical form (no leading zeros), else the text "address|port". Two peers get the same key
 * exactly when their address strings and ports are equal, as with `peerKey`.
 */
export function peerId(peer: Peer): number | string {
  const a = peer.address;
  let value = 0;
  let octet = -1;
  let dots = 0;
  let digits = 0;
  for (let i = 0; i < a.length; i++) {
    const c = a.charCodeAt(i);
    if (c === 46) {
      if (digits === 0 || dots === 3) return `${a}|${peer.port}`;
      value = value * 256 + octet;
      dots++;
      octet = -1;
      digits = 0;
    } else if (c >= 48 && c <= 57) {
      if (digits > 0 && octet === 0) return `${a}|${peer.port}`; // leading zero: not canonical
      octet = digits === 0 ? c - 48 : octet * 10 + (c - 48);
      if (++digits > 3 || octet > 255) return `${a}|${peer.port}`;
    } else return `${a}|${peer.port}`;
  }
  if (dots !== 3 || digits === 0 || !Number.isInteger(peer.port) || peer.port < 0 || peer.port > 65535) return `${a}|${peer.port}`;
  return (value * 256 + octet) * 65536 + peer.port;
}
