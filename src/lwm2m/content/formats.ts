/**
 * Content-Format dispatch for LwM2M payloads (OMA LwM2M 1.1.1 Core §7.4, CoAP Content-Formats registry):
 * text/plain 0, link-format 40, opaque 42, cbor 60, SenML JSON 110, SenML CBOR 112, OMA-TLV 11542
 * (and the pre-registration 1542), and LwM2M-CBOR 11544 (LwM2M 1.2), used only where a client announces it.
 */
import { Decoder, Encoder } from 'cbor-x';
import { CoapDecodeError } from '../errors.js';
import { decodeLwm2mCbor, encodeLwm2mCbor } from './lwm2m-cbor.js';
import { decodeSenmlCbor, decodeSenmlJson, encodeSenmlCbor, encodeSenmlJson } from './senml.js';
import { decodeTlv, encodeTlvResource, tlvValue } from './tlv.js';
import { formatPath, isObjectLink, parsePath, type Lwm2mNode, type Lwm2mPath, type Lwm2mValue, type ResourceType } from './values.js';

export const ContentFormat = {
  TEXT: 0,
  LINK_FORMAT: 40,
  OPAQUE: 42,
  CBOR: 60,
  SENML_JSON: 110,
  SENML_CBOR: 112,
  OLD_TLV: 1542,
  TLV: 11542,
  LWM2M_CBOR: 11544,
} as const;

export type TypeLookup = (path: Lwm2mPath) => ResourceType | undefined;

// useTag259ForMaps is honoured by cbor-x but missing from its typings, hence the variable.
const cborEncoderOptions = { useTag259ForMaps: false, variableMapSize: true, useRecords: false, tagUint8Array: false };
const cborEncoder = new Encoder(cborEncoderOptions);
const cborDecoder = new Decoder({ mapsAsObjects: false, useRecords: false });

export class UnsupportedContentFormatError extends CoapDecodeError {
  constructor(format: number) {
    super(`content format ${format} is not supported`);
  }
}

function textValue(text: string, type: ResourceType | undefined): Lwm2mValue {
  switch (type) {
    case 'Integer':
    case 'Unsigned Integer':
    case 'Time': {
      if (!/^-?\d{1,20}$/.test(text)) throw new CoapDecodeError(`"${text.slice(0, 32)}" is not an integer`);
      const n = BigInt(text);
      return n >= BigInt(Number.MIN_SAFE_INTEGER) && n <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(n) : n;
    }
    case 'Float': {
      const n = Number(text);
      if (text.trim() === '' || Number.isNaN(n)) throw new CoapDecodeError(`"${text.slice(0, 32)}" is not a number`);
      return n;
    }
    case 'Boolean':
      if (text !== '0' && text !== '1') throw new CoapDecodeError('boolean text must be 0 or 1');
      return text === '1';
    case 'Opaque':
      return Uint8Array.from(Buffer.from(text, 'base64'));
    case 'Objlnk': {
      const m = /^(\d{1,5}):(\d{1,5})$/.exec(text);
      if (!m) throw new CoapDecodeError('bad object link text');
      return { objectId: Number(m[1]), instanceId: Number(m[2]) };
    }
    default:
      return text;
  }
}

function valueText(value: Lwm2mValue): string {
  if (typeof value === 'boolean') return value ? '1' : '0';
  if (value instanceof Uint8Array) return Buffer.from(value).toString('base64');
  if (isObjectLink(value)) return `${value.objectId}:${value.instanceId}`;
  return String(value);
}

/**
 * Decodes a payload read from (or sent for) `base` into absolute (path, value) nodes. Types come from
 * the object model where the format does not carry them (TLV, text); unknown resources decode as opaque.
 */
export function decodeContent(format: number, payload: Uint8Array, base: Lwm2mPath, typeOf: TypeLookup): Lwm2mNode[] {
  const single = (value: Lwm2mValue): Lwm2mNode[] => {
    if (base.resourceId === undefined) throw new CoapDecodeError(`content format ${format} needs a resource path, got ${formatPath(base)}`);
    return [{ path: formatPath(base), value }];
  };
  switch (format) {
    case ContentFormat.TEXT:
      return single(textValue(Buffer.from(payload).toString('utf8'), typeOf(base)));
    case ContentFormat.OPAQUE:
      return single(Uint8Array.from(payload));
    case ContentFormat.CBOR: {
      let v: unknown;
      try {
        v = cborDecoder.decode(Buffer.from(payload));
      } catch (error) {
        throw new CoapDecodeError('CBOR value is not CBOR', { cause: error });
      }
      if (v instanceof Uint8Array) return single(Uint8Array.from(v));
      if (typeof v === 'string' || typeof v === 'number' || typeof v === 'bigint' || typeof v === 'boolean') return single(v);
      throw new CoapDecodeError('CBOR value is not a single LwM2M value');
    }
    case ContentFormat.TLV:
    case ContentFormat.OLD_TLV:
      return decodeTlv(payload, base).map((n) => {
        const p = parsePath(n.path);
        return { path: n.path, value: tlvValue(n.raw, typeOf(p) ?? 'Opaque') };
      });
    case ContentFormat.SENML_JSON:
      return decodeSenmlJson(payload);
    case ContentFormat.SENML_CBOR:
      return decodeSenmlCbor(payload);
    case ContentFormat.LWM2M_CBOR:
      return decodeLwm2mCbor(payload);
    default:
      throw new UnsupportedContentFormatError(format);
  }
}

/** Encodes nodes under `base` for a Write in `format` (single-resource formats take exactly one node). */
export function encodeContent(format: number, nodes: readonly Lwm2mNode[], base: Lwm2mPath, typeOf: TypeLookup): Uint8Array {
  const one = (): Lwm2mNode => {
    if (nodes.length !== 1 || base.resourceId === undefined) throw new CoapDecodeError(`content format ${format} carries one resource value`);
    return nodes[0]!;
  };
  switch (format) {
    case ContentFormat.TEXT:
      return Buffer.from(valueText(one().value), 'utf8');
    case ContentFormat.OPAQUE: {
      const v = one().value;
      if (!(v instanceof Uint8Array)) throw new CoapDecodeError('opaque content needs bytes');
      return v;
    }
    case ContentFormat.CBOR:
      return Uint8Array.from(cborEncoder.encode(one().value));
    case ContentFormat.TLV: {
      const parts = nodes.map((n) => {
        const p = parsePath(n.path);
        if (p.resourceId === undefined || p.resourceInstanceId !== undefined) throw new CoapDecodeError('TLV writes here take resource paths');
        return encodeTlvResource(p.resourceId, n.value, typeOf(p) ?? 'Opaque');
      });
      return Buffer.concat(parts);
    }
    case ContentFormat.SENML_JSON:
      return encodeSenmlJson(nodes);
    case ContentFormat.SENML_CBOR:
      return encodeSenmlCbor(nodes);
    case ContentFormat.LWM2M_CBOR:
      return encodeLwm2mCbor(nodes);
    default:
      throw new UnsupportedContentFormatError(format);
  }
}
