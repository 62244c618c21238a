/**
 * SenML for LwM2M (RFC 8428; OMA LwM2M 1.1.1 Core §7.4.4/§7.4.5): application/senml+json = 110 and
 * application/senml+cbor = 112. Names resolve as bn + n to absolute LwM2M paths; values are v (number),
 * vs (string), vb (boolean), vd (opaque: base64url in JSON, a byte string in CBOR), vlo (object link "o:i").
 * cbor-x settings from shared/notes/dependencies.md §4.3: no tag 259 on maps, no records, integer labels
 * kept as Map keys on decode.
 */
import { Decoder, Encoder } from 'cbor-x';
import { CoapDecodeError } from '../errors.js';
import { isObjectLink, parsePath, type Lwm2mNode, type Lwm2mValue } from './values.js';

/** RFC 8428 §6 CBOR labels. */
const L = { bn: -2, bt: -3, n: 0, v: 2, vs: 3, vb: 4, t: 6, vd: 8 } as const;

// useTag259ForMaps is honoured by cbor-x but missing from its typings, hence the variable.
const encoderOptions = { useTag259ForMaps: false, variableMapSize: true, useRecords: false, tagUint8Array: false, mapsAsObjects: false };
const encoder = new Encoder(encoderOptions);
const decoder = new Decoder({ mapsAsObjects: false, useRecords: false });

interface Record {
  bn?: string;
  n?: string;
  v?: number;
  vs?: string;
  vb?: boolean;
  vd?: Uint8Array;
  vlo?: string;
}

function resolve(records: readonly Record[]): Lwm2mNode[] {
  let baseName = '';
  const out: Lwm2mNode[] = [];
  for (const r of records) {
    if (r.bn !== undefined) baseName = r.bn;
    const name = baseName + (r.n ?? '');
    parsePath(name); // validates
    let value: Lwm2mValue;
    if (r.v !== undefined) value = r.v;
    else if (r.vs !== undefined) value = r.vs;
    else if (r.vb !== undefined) value = r.vb;
    else if (r.vd !== undefined) value = r.vd;
    else if (r.vlo !== undefined) {
      const m = /^(\d{1,5}):(\d{1,5})$/.exec(r.vlo);
      if (!m) throw new CoapDecodeError(`bad vlo "${r.vlo.slice(0, 32)}"`);
      value = { objectId: Number(m[1]), instanceId: Number(m[2]) };
    } else continue; // a record without value (e.g. in a Read-Composite request) names a path only
    out.push({ path: name, value });
  }
  return out;
}

function toRecord(node: Lwm2mNode): Record {
  const v = node.value;
  if (typeof v === 'number') return { n: node.path, v };
  if (typeof v === 'bigint') return { n: node.path, v: Number(v) };
  if (typeof v === 'string') return { n: node.path, vs: v };
  if (typeof v === 'boolean') return { n: node.path, vb: v };
  if (v instanceof Uint8Array) return { n: node.path, vd: v };
  if (isObjectLink(v)) return { n: node.path, vlo: `${v.objectId}:${v.instanceId}` };
  throw new CoapDecodeError('unsupported value');
}

export function decodeSenmlJson(payload: Uint8Array): Lwm2mNode[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(payload).toString('utf8'));
  } catch (error) {
    throw new CoapDecodeError('SenML JSON is not JSON', { cause: error });
  }
  if (!Array.isArray(parsed)) throw new CoapDecodeError('SenML JSON is not an array');
  const records = parsed.map((item: unknown): Record => {
    if (typeof item !== 'object' || item === null) throw new CoapDecodeError('SenML record is not an object');
    const o = item as { [k: string]: unknown };
    const r: Record = {};
    if (typeof o.bn === 'string') r.bn = o.bn;
    if (typeof o.n === 'string') r.n = o.n;
    if (typeof o.v === 'number') r.v = o.v;
    if (typeof o.vs === 'string') r.vs = o.vs;
    if (typeof o.vb === 'boolean') r.vb = o.vb;
    if (typeof o.vd === 'string') {
      if (!/^[A-Za-z0-9_-]*={0,2}$/.test(o.vd)) throw new CoapDecodeError('SenML vd is not base64url');
      r.vd = Uint8Array.from(Buffer.from(o.vd, 'base64url'));
    }
    if (typeof o.vlo === 'string') r.vlo = o.vlo;
    return r;
  });
  return resolve(records);
}

export function encodeSenmlJson(nodes: readonly Lwm2mNode[]): Uint8Array {
  const records = nodes.map((n) => {
    const r = toRecord(n);
    return r.vd !== undefined ? { ...r, vd: Buffer.from(r.vd).toString('base64url') } : r;
  });
  return Buffer.from(JSON.stringify(records), 'utf8');
}

export function decodeSenmlCbor(payload: Uint8Array): Lwm2mNode[] {
  let parsed: unknown;
  try {
    // A view, not a copy: cbor-x wants a Buffer, and byte strings are copied out below (vd) anyway.
    parsed = decoder.decode(Buffer.isBuffer(payload) ? payload : Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength));
  } catch (error) {
    throw new CoapDecodeError('SenML CBOR is not CBOR', { cause: error });
  }
  if (!Array.isArray(parsed)) throw new CoapDecodeError('SenML CBOR is not an array');
  const records = parsed.map((item: unknown): Record => {
    if (!(item instanceof Map)) throw new CoapDecodeError('SenML CBOR record is not a map');
    const r: Record = {};
    const bn = item.get(L.bn);
    const n = item.get(L.n);
    const v = item.get(L.v);
    const vs = item.get(L.vs);
    const vb = item.get(L.vb);
    const vd = item.get(L.vd);
    const vlo = item.get('vlo');
    if (typeof bn === 'string') r.bn = bn;
    if (typeof n === 'string') r.n = n;
    if (typeof v === 'number') r.v = v;
    else if (typeof v === 'bigint') r.v = Number(v);
    if (typeof vs === 'string') r.vs = vs;
    if (typeof vb === 'boolean') r.vb = vb;
    if (vd instanceof Uint8Array) r.vd = Uint8Array.from(vd);
    if (typeof vlo === 'string') r.vlo = vlo;
    return r;
  });
  return resolve(records);
}

export function encodeSenmlCbor(nodes: readonly Lwm2mNode[]): Uint8Array {
  const records = nodes.map((node) => {
    const r = toRecord(node);
    const m = new Map<number | string, unknown>();
    m.set(L.n, r.n);
    if (r.v !== undefined) m.set(L.v, r.v);
    if (r.vs !== undefined) m.set(L.vs, r.vs);
    if (r.vb !== undefined) m.set(L.vb, r.vb);
    if (r.vd !== undefined) m.set(L.vd, Buffer.from(r.vd));
    if (r.vlo !== undefined) m.set('vlo', r.vlo);
    return m;
  });
  return Uint8Array.from(encoder.encode(records));
}
