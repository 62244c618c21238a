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

export function parsePath(text: string): Lwm2mPath {
  const parts = text.split('/').filter((s) => s.length > 0);
  if (parts.length < 1 || parts.length > 4) throw new CoapDecodeError(`path "${text.slice(0, 64)}" is not an LwM2M path`);
  const ids = parts.map((p) => {
    if (!/^\d{1,5}$/.test(p)) throw new CoapDecodeError(`path "${text.slice(0, 64)}" has a bad segment`);
    const n = Number(p);
    if (n > 65535) throw new CoapDecodeError(`path "${text.slice(0, 64)}" has a segment over 65535`);
    return n;
  });
  return { objectId: ids[0]!, instanceId: ids[1], resourceId: ids[2], resourceInstanceId: ids[3] };
}

export function formatPath(path: Lwm2mPath): string {
  return '/' + [path.objectId, path.instanceId, path.resourceId, path.resourceInstanceId].filter((x) => x !== undefined).join('/');
}

export function isObjectLink(value: unknown): value is ObjectLink {
  return typeof value === 'object' && value !== null && !(value instanceof Uint8Array) && 'objectId' in value && 'instanceId' in value;
}
