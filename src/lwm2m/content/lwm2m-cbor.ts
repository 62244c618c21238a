/**
 * LwM2M-CBOR, application/vnd.oma.lwm2m+cbor = 11544 (OMA LwM2M 1.2 Core §7.4.6): nested CBOR maps from
 * the Object level down, whose keys are one path segment (uint) or several (array of uints), and whose
 * leaves are the values (int, float, bool, text, bytes; Objlnk as text "oid:iid"). The absolute-path root
 * and the Objlnk text form are our reading, not checked against the 1.2 text (an interpretation-log item).
 */
import { Decoder, Encoder } from 'cbor-x';
import { CoapDecodeError } from '../errors.js';
import { isObjectLink, parsePath, type Lwm2mNode, type Lwm2mValue } from './values.js';

// useTag259ForMaps is honoured by cbor-x but missing from its typings, hence the variable.
const encoderOptions = { useTag259ForMaps: false, variableMapSize: true, useRecords: false, tagUint8Array: false, mapsAsObjects: false };
const encoder = new Encoder(encoderOptions);
const decoder = new Decoder({ mapsAsObjects: false, useRecords: false });

const MAX_NODES = 4096;

export function decodeLwm2mCbor(payload: Uint8Array): Lwm2mNode[] {
  let root: unknown;
  try {
    root = decoder.decode(Buffer.from(payload));
  } catch (error) {
    throw new CoapDecodeError('LwM2M-CBOR is not CBOR', { cause: error });
  }
  if (!(root instanceof Map)) throw new CoapDecodeError('LwM2M-CBOR root is not a map');
  const out: Lwm2mNode[] = [];
  const walk = (map: Map<unknown, unknown>, prefix: number[]): void => {
    for (const [key, value] of map) {
      const segments = Array.isArray(key) ? key : [key];
      if (segments.length === 0 || !segments.every((s) => typeof s === 'number' && Number.isInteger(s) && s >= 0 && s <= 65535)) throw new CoapDecodeError('LwM2M-CBOR key is not a path segment');
      const path = [...prefix, ...(segments as number[])];
      if (path.length > 4) throw new CoapDecodeError('LwM2M-CBOR path deeper than 4 levels');
      if (value instanceof Map) {
        walk(value, path);
        continue;
      }
      let v: Lwm2mValue;
      if (value instanceof Uint8Array) v = Uint8Array.from(value);
      else if (typeof value === 'number' || typeof value === 'bigint' || typeof value === 'boolean' || typeof value === 'string') v = value;
      else throw new CoapDecodeError('LwM2M-CBOR leaf is not an LwM2M value');
      const text = '/' + path.join('/');
      parsePath(text);
      out.push({ path: text, value: v });
      if (out.length > MAX_NODES) throw new CoapDecodeError('LwM2M-CBOR has too many values');
    }
  };
  walk(root, []);
  return out;
}

export function encodeLwm2mCbor(nodes: readonly Lwm2mNode[]): Uint8Array {
  const root = new Map<number, unknown>();
  for (const node of nodes) {
    const p = parsePath(node.path);
    const ids = [p.objectId, p.instanceId, p.resourceId, p.resourceInstanceId].filter((x): x is number => x !== undefined);
    let map = root;
    for (const id of ids.slice(0, -1)) {
      let next = map.get(id);
      if (!(next instanceof Map)) {
        next = new Map<number, unknown>();
        map.set(id, next);
      }
      map = next as Map<number, unknown>;
    }
    const v = node.value;
    map.set(ids[ids.length - 1]!, isObjectLink(v) ? `${v.objectId}:${v.instanceId}` : v instanceof Uint8Array ? Buffer.from(v) : v);
  }
  return Uint8Array.from(encoder.encode(root));
}
