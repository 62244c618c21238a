/**
 * LwM2M data model values and paths (OMA LwM2M 1.1.1 Core §7.1 data types, §6.1 path levels): the common
 * form every content format decodes to and encodes from — a flat list of (path, value) nodes.
 */
import { CoapDecodeError } from '../errors.js';

export type ResourceType = 'String' | 'Integer' | 'Unsigned Integer' | 'Float' | 'Boolean' | 'Opaque' | 'Time' | 'Objlnk' | 'Corelnk' | 'none';

export interface ObjectLink {
  readonly objectId: number;
  readonly instanceId: number;
}

export type Lwm2mValue = string | number | bigint | boolean | Uint8Array | ObjectLink;

/** /objectId[/instanceId[/resourceId[/resourceInstanceId]]], each 0..65535. */
export interface Lwm2mPath {
  readonly objectId: number;
  readonly instanceId?: number;
  readonly resourceId?: number;
  readonly resourceInstanceId?: number;
}

export interface Lwm2mNode {
  readonly path: string;
  readonly value: Lwm2mValue;
}

/**
 * Parses "/3443/0/2" (empty segments, e.g. doubled or trailing slashes, are ignored). One pass over the
 * characters: it runs for every path of every message, so no split, regex or intermediate arrays.
 */
export function parsePath(text: string): Lwm2mPath {
  const ids: number[] = [];
  let value = 0;
  let digits = 0;
  for (let i = 0; i <= text.length; i++) {
    const c = i < text.length ? text.charCodeAt(i) : 47; // a '/' after the end closes the last segment
    if (c === 47) {
      if (digits === 0) continue;
      if (ids.length === 4) throw new CoapDecodeError(`path "${text.slice(0, 64)}" is not an LwM2M path`);
      if (value > 65535) throw new CoapDecodeError(`path "${text.slice(0, 64)}" has a segment over 65535`);
      ids.push(value);
      value = 0;
      digits = 0;
    } else if (c >= 48 && c <= 57 && digits < 5) {
      value = value * 10 + (c - 48);
      digits++;
    } else {
      throw new CoapDecodeError(`path "${text.slice(0, 64)}" has a bad segment`);
    }
  }
  if (ids.length === 0) throw new CoapDecodeError(`path "${text.slice(0, 64)}" is not an LwM2M path`);
  return { objectId: ids[0]!, instanceId: ids[1], resourceId: ids[2], resourceInstanceId: ids[3] };
}

export function formatPath(path: Lwm2mPath): string {
  return '/' + [path.objectId, path.instanceId, path.resourceId, path.resourceInstanceId].filter((x) => x !== undefined).join('/');
}

export function isObjectLink(value: unknown): value is ObjectLink {
  return typeof value === 'object' && value !== null && !(value instanceof Uint8Array) && 'objectId' in value && 'instanceId' in value;
}
