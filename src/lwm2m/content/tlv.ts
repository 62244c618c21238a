/**
 * OMA-TLV content format, application/vnd.oma.lwm2m+tlv = 11542 (OMA LwM2M 1.1.1 Core §7.4.3).
 * Type byte: bits 7-6 identifier kind (00 object instance, 01 resource instance, 10 multiple resource,
 * 11 resource with value), bit 5 identifier length (0: 8 bits, 1: 16 bits), bits 4-3 length field size
 * (00: length in bits 2-0, 01/10/11: 8/16/24-bit length follows). TLV values carry no type, so decoding
 * yields raw bytes and `tlvValue` reads them with the resource type from the object model.
 */
import { CoapDecodeError } from '../errors.js';
import { formatPath, isObjectLink, type Lwm2mPath, type Lwm2mValue, type ResourceType } from './values.js';

export interface RawNode {
  readonly path: string;
  readonly raw: Uint8Array;
}

const KIND_INSTANCE = 0;
const KIND_RESOURCE_INSTANCE = 1;
const KIND_MULTIPLE = 2;
const KIND_RESOURCE = 3;

interface Entry {
  readonly kind: number;
  readonly id: number;
  readonly value: Uint8Array;
}

function readEntries(bytes: Uint8Array): Entry[] {
  const entries: Entry[] = [];
  let pos = 0;
  while (pos < bytes.length) {
    const type = bytes[pos++]!;
    const idBytes = type & 0x20 ? 2 : 1;
    const lengthType = (type >> 3) & 3;
    if (pos + idBytes + lengthType > bytes.length) throw new CoapDecodeError('TLV header runs past the payload');
    let id = 0;
    for (let i = 0; i < idBytes; i++) id = (id << 8) | bytes[pos++]!;
    let length = type & 7;
    if (lengthType > 0) {
      length = 0;
      for (let i = 0; i < lengthType; i++) length = (length << 8) | bytes[pos++]!;
    }
    if (pos + length > bytes.length) throw new CoapDecodeError(`TLV value of ${length} bytes runs past the payload`);
    entries.push({ kind: type >> 6, id, value: bytes.subarray(pos, pos + length) });
    pos += length;
  }
  return entries;
}

/** Decodes a TLV payload received for `base` (the request path) into raw leaf nodes with absolute paths. */
export function decodeTlv(bytes: Uint8Array, base: Lwm2mPath): RawNode[] {
  const out: RawNode[] = [];
  const resources = (entries: Entry[], objectId: number, instanceId: number): void => {
    for (const e of entries) {
      if (e.kind === KIND_RESOURCE) out.push({ path: formatPath({ objectId, instanceId, resourceId: e.id }), raw: e.value });
      else if (e.kind === KIND_MULTIPLE) {
        for (const ri of readEntries(e.value)) {
          if (ri.kind !== KIND_RESOURCE_INSTANCE) throw new CoapDecodeError('multiple resource TLV holds something other than resource instances');
          out.push({ path: formatPath({ objectId, instanceId, resourceId: e.id, resourceInstanceId: ri.id }), raw: ri.value });
        }
      } else if (e.kind === KIND_RESOURCE_INSTANCE && base.resourceId !== undefined) {
        out.push({ path: formatPath({ objectId, instanceId, resourceId: base.resourceId, resourceInstanceId: e.id }), raw: e.value });
      } else throw new CoapDecodeError(`unexpected TLV kind ${e.kind} at resource level`);
    }
  };
  const top = readEntries(bytes);
  if (top.every((e) => e.kind === KIND_INSTANCE)) {
    for (const e of top) resources(readEntries(e.value), base.objectId, e.id);
  } else {
    resources(top, base.objectId, base.instanceId ?? 0);
  }
  return out;
}

function header(kind: number, id: number, length: number): number[] {
  const idBytes = id > 255 ? [id >> 8, id & 0xff] : [id];
  let lengthType = 0;
  let lengthBytes: number[] = [];
  if (length >= 8) {
    if (length < 0x100) { lengthType = 1; lengthBytes = [length]; }
    else if (length < 0x10000) { lengthType = 2; lengthBytes = [length >> 8, length & 0xff]; }
    else if (length < 0x1000000) { lengthType = 3; lengthBytes = [length >> 16, (length >> 8) & 0xff, length & 0xff]; }
    else throw new CoapDecodeError('TLV value over 16 MiB');
  }
  const type = (kind << 6) | (id > 255 ? 0x20 : 0) | (lengthType << 3) | (lengthType === 0 ? length : 0);
  return [type, ...idBytes, ...lengthBytes];
}

function entry(kind: number, id: number, value: Uint8Array): Uint8Array {
  return Buffer.concat([Uint8Array.from(header(kind, id, value.length)), value]);
}

/** Encodes a typed value as TLV value bytes (integers in the shortest of 1, 2, 4, 8 bytes). */
export function tlvBytes(value: Lwm2mValue, type: ResourceType): Uint8Array {
  switch (type) {
    case 'Integer':
    case 'Unsigned Integer':
    case 'Time': {
      const v = BigInt(value as number | bigint);
      for (const size of [1, 2, 4, 8]) {
        const bits = BigInt(size * 8);
        const min = -(1n << (bits - 1n));
        const max = (1n << (bits - 1n)) - 1n;
        if (v >= min && v <= max) {
          const buf = Buffer.alloc(size);
          if (size === 8) buf.writeBigInt64BE(v);
          else buf.writeIntBE(Number(v), 0, size);
          return buf;
        }
      }
      throw new CoapDecodeError(`integer ${v} does not fit 64 bits`);
    }
    case 'Float': {
      const buf = Buffer.alloc(8);
      buf.writeDoubleBE(value as number);
      return buf;
    }
    case 'Boolean':
      return Uint8Array.of(value ? 1 : 0);
    case 'Objlnk': {
      if (!isObjectLink(value)) throw new CoapDecodeError('Objlnk value expected');
      return Uint8Array.of(value.objectId >> 8, value.objectId & 0xff, value.instanceId >> 8, value.instanceId & 0xff);
    }
    case 'Opaque':
      return value as Uint8Array;
    default:
      return Buffer.from(String(value), 'utf8');
  }
}

/** Reads TLV value bytes with the type from the object model. */
export function tlvValue(raw: Uint8Array, type: ResourceType): Lwm2mValue {
  const buf = Buffer.from(raw.buffer, raw.byteOffset, raw.length);
  switch (type) {
    case 'Integer':
    case 'Unsigned Integer':
    case 'Time':
      if (raw.length === 8) {
        const v = buf.readBigInt64BE(0);
        return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
      }
      if (raw.length === 1 || raw.length === 2 || raw.length === 4) return buf.readIntBE(0, raw.length);
      throw new CoapDecodeError(`integer TLV of ${raw.length} bytes`);
    case 'Float':
      if (raw.length === 4) return buf.readFloatBE(0);
      if (raw.length === 8) return buf.readDoubleBE(0);
      throw new CoapDecodeError(`float TLV of ${raw.length} bytes`);
    case 'Boolean':
      if (raw.length !== 1 || raw[0]! > 1) throw new CoapDecodeError('boolean TLV must be one byte 0 or 1');
      return raw[0] === 1;
    case 'Objlnk':
      if (raw.length !== 4) throw new CoapDecodeError('Objlnk TLV must be 4 bytes');
      return { objectId: buf.readUInt16BE(0), instanceId: buf.readUInt16BE(2) };
    case 'Opaque':
    case 'none':
      return Uint8Array.from(raw);
    default:
      return buf.toString('utf8');
  }
}

/**
 * Encodes one resource (single, or multiple when `instances` is given) as a resource-level TLV,
 * the payload of a Write to /o/i/r or an item of a Write to /o/i.
 */
export function encodeTlvResource(resourceId: number, value: Lwm2mValue | ReadonlyMap<number, Lwm2mValue>, type: ResourceType): Uint8Array {
  if (value instanceof Map) {
    const inner = Buffer.concat([...value].map(([id, v]) => entry(KIND_RESOURCE_INSTANCE, id, tlvBytes(v, type))));
    return entry(KIND_MULTIPLE, resourceId, inner);
  }
  return entry(KIND_RESOURCE, resourceId, tlvBytes(value as Lwm2mValue, type));
}

/** Wraps resource TLVs into an object-instance TLV. */
export function encodeTlvInstance(instanceId: number, resources: readonly Uint8Array[]): Uint8Array {
  return entry(KIND_INSTANCE, instanceId, Buffer.concat(resources));
}
