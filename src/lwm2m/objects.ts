/**
 * Object model from OMA LwM2M DDF XML (the registry's object definition format; OMA LwM2M 1.1.1 Core
 * Appendix "Object Template"), loaded from objects/ at start. A tiny XML reader for the DDF subset
 * (elements, attributes, text, CDATA, comments, declarations; no DTDs, no entities beyond the five
 * predefined ones) keeps the project free of an XML package. The registry gives resource types,
 * operations and multiplicity; `validate` checks what a client sends against them.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CoapDecodeError, Lwm2mError } from './errors.js';
import { isObjectLink, parsePath, type Lwm2mNode, type Lwm2mPath, type ResourceType } from './content/values.js';

export interface ResourceModel {
  readonly id: number;
  readonly name: string;
  /** '', 'R', 'W', 'RW' or 'E'. */
  readonly operations: string;
  readonly multiple: boolean;
  readonly mandatory: boolean;
  readonly type: ResourceType;
}

export interface ObjectModel {
  readonly id: number;
  readonly name: string;
  readonly urn: string;
  readonly objectVersion: string;
  readonly lwm2mVersion: string;
  readonly multiple: boolean;
  readonly mandatory: boolean;
  readonly resources: ReadonlyMap<number, ResourceModel>;
}

interface XmlElement {
  readonly name: string;
  readonly attributes: Map<string, string>;
  readonly children: XmlElement[];
  text: string;
}

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

function unescape(text: string): string {
  return text.replace(/&(amp|lt|gt|quot|apos|#\d+|#x[0-9a-fA-F]+);/g, (_m, e: string) => {
    if (e.startsWith('#x')) return String.fromCodePoint(parseInt(e.slice(2), 16));
    if (e.startsWith('#')) return String.fromCodePoint(parseInt(e.slice(1), 10));
    return ENTITIES[e]!;
  });
}

/** Parses the XML subset used by DDF files into an element tree; throws CoapDecodeError when malformed. */
export function parseXml(xml: string): XmlElement {
  const root: XmlElement = { name: '#document', attributes: new Map(), children: [], text: '' };
  const stack: XmlElement[] = [root];
  let pos = 0;
  const fail = (why: string): never => {
    throw new CoapDecodeError(`XML: ${why} at offset ${pos}`);
  };
  while (pos < xml.length) {
    const lt = xml.indexOf('<', pos);
    const top = stack[stack.length - 1]!;
    if (lt < 0) {
      if (xml.slice(pos).trim() !== '') fail('text after the root element');
      break;
    }
    if (lt > pos) top.text += unescape(xml.slice(pos, lt));
    pos = lt;
    if (xml.startsWith('<!--', pos)) {
      const end = xml.indexOf('-->', pos);
      if (end < 0) fail('unterminated comment');
      pos = end + 3;
    } else if (xml.startsWith('<![CDATA[', pos)) {
      const end = xml.indexOf(']]>', pos);
      if (end < 0) fail('unterminated CDATA');
      top.text += xml.slice(pos + 9, end);
      pos = end + 3;
    } else if (xml.startsWith('<?', pos)) {
      const end = xml.indexOf('?>', pos);
      if (end < 0) fail('unterminated declaration');
      pos = end + 2;
    } else if (xml.startsWith('<!', pos)) {
      fail('DTDs are not supported');
    } else if (xml.startsWith('</', pos)) {
      const end = xml.indexOf('>', pos);
      if (end < 0) fail('unterminated end tag');
      const name = xml.slice(pos + 2, end).trim();
      if (stack.length < 2 || top.name !== name) fail(`unexpected </${name}>`);
      stack.pop();
      pos = end + 1;
    } else {
      const m = /^<([A-Za-z_][\w.:-]*)((?:\s+[A-Za-z_][\w.:-]*\s*=\s*(?:"[^"]*"|'[^']*'))*)\s*(\/?)>/.exec(xml.slice(pos, pos + 4096));
      if (!m) fail('bad start tag');
      const element: XmlElement = { name: m![1]!, attributes: new Map(), children: [], text: '' };
      for (const a of m![2]!.matchAll(/([A-Za-z_][\w.:-]*)\s*=\s*(?:"([^"]*)"|'([^']*)')/g)) element.attributes.set(a[1]!, unescape(a[2] ?? a[3] ?? ''));
      top.children.push(element);
      if (m![3] !== '/') stack.push(element);
      pos += m![0].length;
    }
  }
  if (stack.length !== 1) fail(`unclosed <${stack[stack.length - 1]!.name}>`);
  return root;
}

function child(element: XmlElement, name: string): XmlElement | undefined {
  return element.children.find((c) => c.name === name);
}

function textOf(element: XmlElement, name: string): string {
  return child(element, name)?.text.trim() ?? '';
}

const TYPES: readonly ResourceType[] = ['String', 'Integer', 'Unsigned Integer', 'Float', 'Boolean', 'Opaque', 'Time', 'Objlnk', 'Corelnk'];

/** Reads every <Object> of a DDF document. */
export function parseDdf(xml: string): ObjectModel[] {
  const doc = parseXml(xml);
  const lwm2m = child(doc, 'LWM2M');
  if (!lwm2m) throw new CoapDecodeError('DDF: no <LWM2M> root');
  return lwm2m.children.filter((c) => c.name === 'Object').map((o) => {
    const id = Number(textOf(o, 'ObjectID'));
    if (!Number.isInteger(id) || id < 0 || id > 65535) throw new CoapDecodeError('DDF: bad ObjectID');
    const resources = new Map<number, ResourceModel>();
    for (const item of child(o, 'Resources')?.children.filter((c) => c.name === 'Item') ?? []) {
      const rid = Number(item.attributes.get('ID'));
      if (!Number.isInteger(rid) || rid < 0 || rid > 65535) throw new CoapDecodeError(`DDF ${id}: bad resource ID`);
      const typeText = textOf(item, 'Type');
      const type = TYPES.find((t) => t.toLowerCase() === typeText.toLowerCase()) ?? 'none';
      resources.set(rid, {
        id: rid,
        name: textOf(item, 'Name'),
        operations: textOf(item, 'Operations').toUpperCase(),
        multiple: textOf(item, 'MultipleInstances') === 'Multiple',
        mandatory: textOf(item, 'Mandatory') === 'Mandatory',
        type,
      });
    }
    return {
      id,
      name: textOf(o, 'Name'),
      urn: textOf(o, 'ObjectURN'),
      objectVersion: textOf(o, 'ObjectVersion') || '1.0',
      lwm2mVersion: textOf(o, 'LWM2MVersion') || '1.0',
      multiple: textOf(o, 'MultipleInstances') === 'Multiple',
      mandatory: textOf(o, 'Mandatory') === 'Mandatory',
      resources,
    };
  });
}

export type Operation = 'read' | 'write' | 'execute' | 'send';

export class ObjectRegistry {
  readonly #objects = new Map<number, ObjectModel>();

  constructor(models: Iterable<ObjectModel>) {
    for (const m of models) this.#objects.set(m.id, m);
  }

  get(objectId: number): ObjectModel | undefined {
    return this.#objects.get(objectId);
  }

  resource(path: Lwm2mPath): ResourceModel | undefined {
    if (path.resourceId === undefined) return undefined;
    return this.#objects.get(path.objectId)?.resources.get(path.resourceId);
  }

  /** Resource type for a content codec; undefined for unknown resources. */
  readonly typeOf = (path: Lwm2mPath): ResourceType | undefined => this.resource(path)?.type;

  /**
   * Checks nodes a client sent (or we are about to write) against the model: known resource of a known
   * object, operation allowed, multiplicity, value of the declared type. Returns the first problem, or
   * undefined when all is well. Objects we have no model for pass (we cannot judge them).
   */
  validate(nodes: readonly Lwm2mNode[], operation: Operation): string | undefined {
    for (const node of nodes) {
      let path: Lwm2mPath;
      try {
        path = parsePath(node.path);
      } catch (error) {
        return (error as Error).message;
      }
      const object = this.#objects.get(path.objectId);
      if (!object) continue;
      if (path.resourceId === undefined) return `${node.path}: a value needs a resource path`;
      const resource = object.resources.get(path.resourceId);
      if (!resource) return `${node.path}: object ${object.id} has no resource ${path.resourceId}`;
      const needed = operation === 'write' ? 'W' : operation === 'execute' ? 'E' : 'R';
      if (!resource.operations.includes(needed)) return `${node.path}: ${resource.name} does not allow ${operation} (operations "${resource.operations}")`;
      if (path.resourceInstanceId !== undefined && !resource.multiple) return `${node.path}: ${resource.name} is single-instance`;
      const v = node.value;
      const ok = ((): boolean => {
        switch (resource.type) {
          case 'Opaque': return v instanceof Uint8Array;
          case 'String': case 'Corelnk': return typeof v === 'string';
          case 'Boolean': return typeof v === 'boolean';
          case 'Float': return typeof v === 'number';
          case 'Integer': case 'Time': return typeof v === 'bigint' || (typeof v === 'number' && Number.isInteger(v));
          case 'Unsigned Integer': return typeof v === 'bigint' ? v >= 0n : typeof v === 'number' && Number.isInteger(v) && v >= 0;
          case 'Objlnk': return isObjectLink(v);
          default: return false;
        }
      })();
      if (!ok) return `${node.path}: ${resource.name} must be ${resource.type}`;
    }
    return undefined;
  }
}

/** The repository's objects/, from the sources (src/lwm2m) or from the build (dist/src/lwm2m). */
export const DEFAULT_OBJECTS_DIR = existsSync(fileURLToPath(new URL('../../objects/', import.meta.url)))
  ? new URL('../../objects/', import.meta.url)
  : new URL('../../../objects/', import.meta.url);

/** Loads every *.xml of a directory; a broken file fails the start (Lwm2mError naming the file). */
export function loadObjectRegistry(dir: URL | string = DEFAULT_OBJECTS_DIR): ObjectRegistry {
  const base = typeof dir === 'string' ? dir : fileURLToPath(dir);
  const models: ObjectModel[] = [];
  for (const name of readdirSync(base).filter((n) => n.endsWith('.xml')).sort()) {
    try {
      models.push(...parseDdf(readFileSync(join(base, name), 'utf8')));
    } catch (error) {
      throw new Lwm2mError(`object definition ${name}: ${(error as Error).message}`, { cause: error });
    }
  }
  return new ObjectRegistry(models);
}
