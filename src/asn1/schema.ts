/**
 * Typed ASN.1 schemas as small combinators over the TLV layer: each Codec decodes a received TLV into a
 * typed value, encodes a value to DER, and converts to and from JSON (spec field names, bytes as hex,
 * ICCIDs and EIDs as digit strings, named INTEGERs by their spec name).
 *
 * Decoding follows the SGP.32 encoding rules (shared notes §0): SEQUENCEs are matched positionally
 * (the same tag number is reused with a different constructed bit inside EuiccPackageSigned), unknown
 * elements are skipped (EXTENSIBILITY IMPLIED) with a warning, tolerated deviations of real devices become
 * warnings, and everything else is a DecodeError with the byte offset and the field path.
 *
 * Why not @peculiar/asn1-schema for the messages: see INTERPRETATION_LOG.md "Codec engine".
 */
import { DecodeError, EncodeError } from './errors.js';
import { bytesEqual, fromHex, toHex } from './hex.js';
import { integerFromOctets, integerOctets } from './identifiers.js';
import { childrenOf, encodeTlv, isConstructed, readSingle, retag, tagHex, type Tlv } from './tlv.js';
import { InvalidArgumentError } from '../errors.js';

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

export interface DecodeWarning {
  readonly path: string;
  readonly offset: number;
  readonly message: string;
}

export interface DecodeContext {
  /** Field names from the root to the element being decoded (pushed and popped by SEQUENCE). */
  readonly path: string[];
  readonly warnings: DecodeWarning[];
}

export interface Codec<T> {
  /** Human name of the type, used in messages and by the CLI's --as. */
  readonly typeName: string;
  /** Whether an element with this tag is an encoding of this type (used by CHOICE and OPTIONAL). */
  accepts(tag: number): boolean;
  /** Decodes an element whose tag `accepts` returned true for. */
  decode(tlv: Tlv, ctx: DecodeContext): T;
  /** Encodes to DER, the complete TLV. */
  encode(value: T): Uint8Array;
  toJson(value: T): Json;
  fromJson(json: unknown): T;
}

export type Infer<C> = C extends Codec<infer T> ? T : never;

export function warn(ctx: DecodeContext, offset: number, message: string): void {
  ctx.warnings.push({ path: ctx.path.join('.'), offset, message });
}

/** Decodes one complete message; trailing bytes, a wrong outer tag or any malformation give a DecodeError. */
export function decode<T>(codec: Codec<T>, bytes: Uint8Array, warnings: DecodeWarning[] = []): T {
  const ctx: DecodeContext = { path: [], warnings };
  try {
    const tlv = readSingle(bytes);
    if (!codec.accepts(tlv.tag)) throw new DecodeError(`tag ${tagHex(tlv.tag)} is not a ${codec.typeName}`, tlv.offset);
    return codec.decode(tlv, ctx);
  } catch (e) {
    if (e instanceof DecodeError) throw e.atPath(ctx.path);
    // Anything else escaping a decoder is a bug of ours, but untrusted input must only ever see typed errors.
    throw new DecodeError(`internal decoder failure: ${(e as Error).message}`, 0, [...ctx.path]);
  }
}

export function encode<T>(codec: Codec<T>, value: T): Uint8Array {
  return codec.encode(value);
}

/** Throws the EncodeError for a value that does not fit its type. */
export function fail(reason: string): never {
  throw new EncodeError(reason);
}

function expectPrimitive(tlv: Tlv, typeName: string): void {
  if (isConstructed(tlv.tag)) throw new DecodeError(`${typeName} must be primitive`, tlv.offset);
}

function jsonBytes(json: unknown): Uint8Array {
  if (typeof json !== 'string') fail('expected a hex string');
  try {
    return fromHex(json);
  } catch (e) {
    if (e instanceof InvalidArgumentError) fail('expected a hex string');
    throw e;
  }
}

function isPlainObject(json: unknown): json is Record<string, unknown> {
  return typeof json === 'object' && json !== null && !Array.isArray(json) && !(json instanceof Uint8Array);
}

// ---------------------------------------------------------------------------------------------------
// Primitives

interface PrimitiveSpec<T> {
  typeName: string;
  decodeValue(value: Uint8Array, tlv: Tlv, ctx: DecodeContext): T;
  encodeValue(value: T): Uint8Array;
  toJson(value: T): Json;
  fromJson(json: unknown): T;
}

function primitive<T>(tag: number, spec: PrimitiveSpec<T>): Codec<T> {
  return {
    typeName: spec.typeName,
    accepts: (t) => t === tag,
    decode(tlv, ctx) {
      expectPrimitive(tlv, spec.typeName);
      return spec.decodeValue(tlv.value, tlv, ctx);
    },
    encode: (value) => encodeTlv(tag, spec.encodeValue(value)),
    toJson: spec.toJson,
    fromJson: spec.fromJson,
  };
}

function decodeInteger(value: Uint8Array, tlv: Tlv, ctx: DecodeContext): number {
  const n = integerFromOctets(value);
  if (n === undefined) {
    throw new DecodeError(value.length === 0 ? 'empty INTEGER' : 'INTEGER out of the supported range', tlv.offset);
  }
  if (value.length > 1 && ((value[0] === 0 && value[1]! < 0x80) || (value[0] === 0xff && value[1]! >= 0x80))) {
    warn(ctx, tlv.offset, 'INTEGER is not minimally encoded');
  }
  return n;
}

function jsonInteger(json: unknown): number {
  if (typeof json !== 'number' || !Number.isSafeInteger(json)) fail('expected an integer');
  return json;
}

export function integer(tag = 0x02): Codec<number> {
  return primitive(tag, {
    typeName: 'INTEGER',
    decodeValue: decodeInteger,
    encodeValue: (v) => {
      if (!Number.isSafeInteger(v)) fail('expected a safe integer');
      return integerOctets(v);
    },
    toJson: (v) => v,
    fromJson: jsonInteger,
  });
}

/**
 * INTEGER with named values (EnableProfileResult ::= INTEGER { ok(0), ... }). Decodes to the spec name
 * when the value is known, otherwise to the number, so a code from a newer eUICC is kept, not rejected.
 */
export function namedInteger<const N extends Record<string, number>>(names: N, tag = 0x02): Codec<(keyof N & string) | number> {
  const byValue = new Map<number, string>();
  for (const [k, v] of Object.entries(names)) byValue.set(v, k);
  const toNumber = (v: (keyof N & string) | number): number => {
    if (typeof v === 'number') return v;
    const n = names[v];
    if (n === undefined) fail(`unknown value name "${v}"; expected one of ${Object.keys(names).join(', ')}`);
    return n;
  };
  return primitive(tag, {
    typeName: 'INTEGER',
    decodeValue: (value, tlv, ctx) => {
      const n = decodeInteger(value, tlv, ctx);
      return (byValue.get(n) ?? n) as (keyof N & string) | number;
    },
    encodeValue: (v) => integerOctets(toNumber(v)),
    toJson: (v) => v,
    fromJson: (json) => {
      if (typeof json === 'string') {
        toNumber(json);
        return json;
      }
      return jsonInteger(json);
    },
  });
}

export function octetString(tag = 0x04, size?: { min?: number; max?: number }): Codec<Uint8Array> {
  const min = size?.min ?? 0;
  const max = size?.max ?? Infinity;
  return primitive(tag, {
    typeName: 'OCTET STRING',
    decodeValue: (value, tlv, ctx) => {
      if (value.length < min || value.length > max) warn(ctx, tlv.offset, `OCTET STRING of ${value.length} bytes is outside SIZE(${min}..${max})`);
      return value;
    },
    encodeValue: (v) => {
      if (!(v instanceof Uint8Array)) fail('expected bytes');
      if (v.length < min || v.length > max) fail(`expected ${min}..${max} bytes, got ${v.length}`);
      return v;
    },
    toJson: (v) => toHex(v),
    fromJson: jsonBytes,
  });
}

const utf8Decoder = new TextDecoder('utf-8', { fatal: true });
const utf8Encoder = new TextEncoder();

export function utf8String(tag = 0x0c, size?: { min?: number; max?: number }): Codec<string> {
  const min = size?.min ?? 0;
  const max = size?.max ?? Infinity;
  return primitive(tag, {
    typeName: 'UTF8String',
    decodeValue: (value, tlv) => {
      try {
        return utf8Decoder.decode(value);
      } catch {
        throw new DecodeError('invalid UTF-8', tlv.valueOffset);
      }
    },
    encodeValue: (v) => {
      if (typeof v !== 'string') fail('expected a string');
      const chars = [...v].length;
      if (chars < min || chars > max) fail(`expected ${min}..${max} characters, got ${chars}`);
      return utf8Encoder.encode(v);
    },
    toJson: (v) => v,
    fromJson: (json) => {
      if (typeof json !== 'string') fail('expected a string');
      return json;
    },
  });
}

export function boolean(tag = 0x01): Codec<boolean> {
  return primitive(tag, {
    typeName: 'BOOLEAN',
    decodeValue: (value, tlv, ctx) => {
      if (value.length !== 1) throw new DecodeError('BOOLEAN must have one content octet', tlv.offset);
      if (value[0] !== 0 && value[0] !== 0xff) warn(ctx, tlv.offset, 'BOOLEAN TRUE is not encoded as FF');
      return value[0] !== 0;
    },
    encodeValue: (v) => Uint8Array.of(v ? 0xff : 0),
    toJson: (v) => v,
    fromJson: (json) => {
      if (typeof json !== 'boolean') fail('expected true or false');
      return json;
    },
  });
}

/** NULL, used by SGP.32 as a presence flag (rollbackFlag, indirectProfileDownload): decodes to true. */
export function nullFlag(tag = 0x05): Codec<true> {
  return primitive(tag, {
    typeName: 'NULL',
    decodeValue: (value, tlv, ctx) => {
      if (value.length !== 0) warn(ctx, tlv.offset, 'NULL with content octets');
      return true;
    },
    encodeValue: () => new Uint8Array(0),
    toJson: () => true,
    fromJson: (json) => {
      if (json !== true && json !== null) fail('expected true (present)');
      return true;
    },
  });
}

/**
 * Named BIT STRING: decodes to the names of the set bits (bit N without a name becomes "bitN"), encodes
 * with trailing zero bits removed as DER requires for named bit lists (X.690 §11.2.2).
 */
export function bitString(names: readonly string[], tag = 0x03): Codec<string[]> {
  const index = new Map(names.map((n, i) => [n, i]));
  return primitive(tag, {
    typeName: 'BIT STRING',
    decodeValue: (value, tlv) => {
      if (value.length === 0) throw new DecodeError('BIT STRING without the unused-bits octet', tlv.offset);
      const unused = value[0]!;
      if (unused > 7 || (value.length === 1 && unused !== 0)) throw new DecodeError('bad unused-bits count', tlv.valueOffset);
      const set: string[] = [];
      const bitCount = (value.length - 1) * 8 - unused;
      for (let i = 0; i < bitCount; i++) {
        if ((value[1 + (i >> 3)]! & (0x80 >> (i & 7))) !== 0) set.push(names[i] ?? `bit${i}`);
      }
      return set;
    },
    encodeValue: (v) => {
      const bits = v.map((n) => {
        const i = index.get(n) ?? (/^bit([0-9]+)$/.exec(n) ? Number(n.slice(3)) : undefined);
        if (i === undefined) fail(`unknown bit name "${n}"; expected one of ${names.join(', ')}`);
        return i;
      });
      if (bits.length === 0) return Uint8Array.of(0);
      const highest = Math.max(...bits);
      const out = new Uint8Array(2 + (highest >> 3));
      out[0] = 7 - (highest & 7);
      for (const i of bits) out[1 + (i >> 3)]! |= 0x80 >> (i & 7);
      return out;
    },
    toJson: (v) => v,
    fromJson: (json) => {
      if (!Array.isArray(json) || !json.every((x) => typeof x === 'string')) fail('expected an array of bit names');
      return json as string[];
    },
  });
}

export function objectIdentifier(tag = 0x06): Codec<string> {
  return primitive(tag, {
    typeName: 'OBJECT IDENTIFIER',
    decodeValue: (value, tlv) => {
      if (value.length === 0 || (value[value.length - 1]! & 0x80) !== 0) throw new DecodeError('malformed OBJECT IDENTIFIER', tlv.offset);
      const arcs: number[] = [];
      let n = 0;
      for (const b of value) {
        n = n * 128 + (b & 0x7f);
        if (n > Number.MAX_SAFE_INTEGER) throw new DecodeError('OBJECT IDENTIFIER arc too large', tlv.offset);
        if ((b & 0x80) === 0) {
          arcs.push(n);
          n = 0;
        }
      }
      const first = arcs.shift()!;
      const head = first < 40 ? [0, first] : first < 80 ? [1, first - 40] : [2, first - 80];
      return [...head, ...arcs].join('.');
    },
    encodeValue: (v) => {
      if (typeof v !== 'string' || !/^[0-2](\.[0-9]+)+$/.test(v)) fail('expected a dotted OBJECT IDENTIFIER');
      const arcs = v.split('.').map(Number);
      const out: number[] = [];
      for (const arc of [arcs[0]! * 40 + arcs[1]!, ...arcs.slice(2)]) {
        const chunk: number[] = [];
        let a = arc;
        do {
          chunk.unshift((a % 128) | (chunk.length > 0 ? 0x80 : 0));
          a = Math.floor(a / 128);
        } while (a > 0);
        out.push(...chunk);
      }
      return Uint8Array.from(out);
    },
    toJson: (v) => v,
    fromJson: (json) => {
      if (typeof json !== 'string') fail('expected a dotted OBJECT IDENTIFIER');
      return json;
    },
  });
}

// ---------------------------------------------------------------------------------------------------
// Opaque elements: carried byte-exact, delimited but not looked into

/** Any element whose tag is in `tags` (or any element when `tags` is empty), kept as its complete TLV bytes. */
export function opaque(typeName: string, tags: readonly number[] = []): Codec<Uint8Array> {
  const accepts = (t: number): boolean => tags.length === 0 || tags.includes(t);
  return {
    typeName,
    accepts,
    decode: (tlv) => tlv.bytes,
    encode(v) {
      if (!(v instanceof Uint8Array)) fail(`${typeName}: expected the encoded bytes`);
      let tlv: Tlv;
      try {
        tlv = readSingle(v);
      } catch (e) {
        fail(`${typeName}: not one well-formed TLV (${(e as Error).message})`);
      }
      if (!accepts(tlv.tag)) fail(`${typeName}: unexpected tag ${tagHex(tlv.tag)}`);
      return v;
    },
    toJson: (v) => toHex(v),
    fromJson: jsonBytes,
  };
}

/**
 * A universally tagged type under an IMPLICIT context tag, e.g. `eumCertificate [5] Certificate` is A5
 * holding the certificate's children. The value is the type's own DER (tag `universalTag`), so a
 * certificate can be handed to X.509 code; only the tag octet differs on the wire.
 */
export function implicitOpaque(typeName: string, wireTag: number, universalTag = 0x30): Codec<Uint8Array> {
  return {
    typeName,
    accepts: (t) => t === wireTag,
    decode: (tlv) => retag(tlv.bytes, universalTag),
    encode(v) {
      if (!(v instanceof Uint8Array) || v[0] !== universalTag) fail(`${typeName}: expected DER starting with ${tagHex(universalTag)}`);
      return retag(opaque(typeName, [universalTag]).encode(v), wireTag);
    },
    toJson: (v) => toHex(v),
    fromJson: jsonBytes,
  };
}

// ---------------------------------------------------------------------------------------------------
// Constructed types

interface OptionalField<T> {
  readonly optional: true;
  readonly codec: Codec<T>;
  /** DEFAULT value: omitted when encoding (DER), not filled in when decoding. */
  readonly defaultValue?: T;
}

type FieldSpec = Codec<any> | OptionalField<any>; // eslint-disable-line @typescript-eslint/no-explicit-any

export function optional<T>(codec: Codec<T>, defaultValue?: T): OptionalField<T> {
  return defaultValue === undefined ? { optional: true, codec } : { optional: true, codec, defaultValue };
}

type Simplify<T> = { [K in keyof T]: T[K] } & {};

export type SequenceValue<F extends Record<string, FieldSpec>> = Simplify<
  { -readonly [K in keyof F as F[K] extends OptionalField<unknown> ? never : K]: F[K] extends Codec<infer T> ? T : never } & {
    -readonly [K in keyof F as F[K] extends OptionalField<unknown> ? K : never]?: F[K] extends OptionalField<infer T> ? T : never;
  }
>;

interface CompiledField {
  readonly name: string;
  readonly codec: Codec<unknown>;
  readonly optional: boolean;
  readonly defaultValue?: unknown;
}

function compileFields(fields: Record<string, FieldSpec>): CompiledField[] {
  return Object.entries(fields).map(([name, f]) =>
    'optional' in f ? { name, codec: f.codec, optional: true, defaultValue: f.defaultValue } : { name, codec: f, optional: false },
  );
}

function sameValue(a: unknown, b: unknown): boolean {
  return a instanceof Uint8Array && b instanceof Uint8Array ? bytesEqual(a, b) : a === b;
}

/**
 * SEQUENCE with the given tag (0x30 for a plain SEQUENCE, e.g. 0xa3 for `[3] SEQUENCE` or 0xbf51 for
 * `[81] SEQUENCE`). Field order is the object's key order.
 */
export function sequence<const F extends Record<string, FieldSpec>>(typeName: string, tag: number, fields: F): Codec<SequenceValue<F>> {
  const compiled = compileFields(fields);
  type V = SequenceValue<F>;
  return {
    typeName,
    accepts: (t) => t === tag,
    decode(tlv, ctx) {
      const out: Record<string, unknown> = {};
      let next = 0;
      for (const child of childrenOf(tlv)) {
        let match = -1;
        for (let i = next; i < compiled.length; i++) {
          if (compiled[i]!.codec.accepts(child.tag)) {
            match = i;
            break;
          }
          if (!compiled[i]!.optional) break;
        }
        if (match < 0) {
          const missing = compiled.slice(next).find((f) => !f.optional);
          if (missing !== undefined) {
            throw new DecodeError(`unexpected tag ${tagHex(child.tag)} where ${missing.name} was expected`, child.offset);
          }
          warn(ctx, child.offset, `unknown element ${tagHex(child.tag)} in ${typeName} ignored`);
          continue;
        }
        const field = compiled[match]!;
        ctx.path.push(field.name);
        out[field.name] = field.codec.decode(child, ctx);
        ctx.path.pop();
        next = match + 1;
      }
      const missing = compiled.slice(next).find((f) => !f.optional);
      if (missing !== undefined) throw new DecodeError(`${typeName} is missing ${missing.name}`, tlv.offset);
      return out as V;
    },
    encode(value) {
      const v = value as Record<string, unknown>;
      const parts: Uint8Array[] = [];
      for (const f of compiled) {
        const fv = v[f.name];
        if (fv === undefined) {
          if (!f.optional) throw new EncodeError(`${f.name} is required`, [typeName]);
          continue;
        }
        if (f.defaultValue !== undefined && sameValue(fv, f.defaultValue)) continue;
        try {
          parts.push(f.codec.encode(fv));
        } catch (e) {
          throw e instanceof EncodeError ? e.within(f.name) : e;
        }
      }
      return encodeTlv(tag, parts);
    },
    toJson(value) {
      const v = value as Record<string, unknown>;
      const out: Record<string, Json> = {};
      for (const f of compiled) if (v[f.name] !== undefined) out[f.name] = f.codec.toJson(v[f.name]);
      return out;
    },
    fromJson(json) {
      if (!isPlainObject(json)) fail(`${typeName}: expected an object`);
      const known = new Set(compiled.map((f) => f.name));
      const unknown = Object.keys(json).filter((k) => !known.has(k));
      if (unknown.length > 0) fail(`${typeName}: unknown field(s) ${unknown.join(', ')}`);
      const out: Record<string, unknown> = {};
      for (const f of compiled) {
        if (json[f.name] === undefined) {
          if (!f.optional) throw new EncodeError(`${f.name} is required`, [typeName]);
          continue;
        }
        try {
          out[f.name] = f.codec.fromJson(json[f.name]);
        } catch (e) {
          throw e instanceof EncodeError ? e.within(f.name) : e;
        }
      }
      return out as V;
    },
  };
}

/** SEQUENCE OF `item` under `tag` (0x30 plain, or an implicit context tag such as 0xa0). */
export function sequenceOf<T>(typeName: string, tag: number, item: Codec<T>): Codec<T[]> {
  return {
    typeName,
    accepts: (t) => t === tag,
    decode(tlv, ctx) {
      return childrenOf(tlv).map((child, i) => {
        if (!item.accepts(child.tag)) throw new DecodeError(`unexpected tag ${tagHex(child.tag)} in ${typeName}`, child.offset);
        ctx.path.push(String(i));
        const v = item.decode(child, ctx);
        ctx.path.pop();
        return v;
      });
    },
    encode(values) {
      if (!Array.isArray(values)) fail(`${typeName}: expected an array`);
      return encodeTlv(
        tag,
        values.map((v, i) => {
          try {
            return item.encode(v);
          } catch (e) {
            throw e instanceof EncodeError ? e.within(String(i)) : e;
          }
        }),
      );
    },
    toJson: (values) => values.map((v) => item.toJson(v)),
    fromJson(json) {
      if (!Array.isArray(json)) fail(`${typeName}: expected an array`);
      return json.map((j, i) => {
        try {
          return item.fromJson(j);
        } catch (e) {
          throw e instanceof EncodeError ? e.within(String(i)) : e;
        }
      });
    },
  };
}

export type ChoiceValue<A extends Record<string, Codec<unknown>>> = {
  [K in keyof A]: { [P in K]: Infer<A[K]> };
}[keyof A];

/**
 * Untagged CHOICE: the value is an object with exactly one key, the name of the chosen alternative.
 * An unknown alternative is a DecodeError (rule 5: reject cleanly).
 */
export function choice<const A extends Record<string, Codec<any>>>(typeName: string, arms: A): Codec<ChoiceValue<A>> { // eslint-disable-line @typescript-eslint/no-explicit-any
  const entries = Object.entries(arms) as [string, Codec<unknown>][];
  const armOf = (value: unknown): [string, Codec<unknown>, unknown] => {
    if (!isPlainObject(value)) fail(`${typeName}: expected an object with one of ${entries.map(([n]) => n).join(', ')}`);
    const keys = Object.keys(value).filter((k) => value[k] !== undefined);
    const arm = entries.find(([n]) => n === keys[0]);
    if (keys.length !== 1 || arm === undefined) fail(`${typeName}: expected exactly one of ${entries.map(([n]) => n).join(', ')}`);
    return [arm[0], arm[1], value[arm[0]]];
  };
  return {
    typeName,
    accepts: (t) => entries.some(([, c]) => c.accepts(t)),
    decode(tlv, ctx) {
      const arm = entries.find(([, c]) => c.accepts(tlv.tag));
      if (arm === undefined) throw new DecodeError(`unknown ${typeName} alternative ${tagHex(tlv.tag)}`, tlv.offset);
      ctx.path.push(arm[0]);
      const v = arm[1].decode(tlv, ctx);
      ctx.path.pop();
      return { [arm[0]]: v } as ChoiceValue<A>;
    },
    encode(value) {
      const [name, codec, v] = armOf(value);
      try {
        return codec.encode(v);
      } catch (e) {
        throw e instanceof EncodeError ? e.within(name) : e;
      }
    },
    toJson(value) {
      const [name, codec, v] = armOf(value);
      return { [name]: codec.toJson(v) };
    },
    fromJson(json) {
      const [name, codec, v] = armOf(json);
      try {
        return { [name]: codec.fromJson(v) } as ChoiceValue<A>;
      } catch (e) {
        throw e instanceof EncodeError ? e.within(name) : e;
      }
    },
  };
}

/** EXPLICIT tag around `inner` (rule 2: a tag on a CHOICE wraps the chosen alternative's own TLV). */
export function explicit<T>(tag: number, inner: Codec<T>, typeName = inner.typeName): Codec<T> {
  return {
    typeName,
    accepts: (t) => t === tag,
    decode(tlv, ctx) {
      const kids = childrenOf(tlv);
      const first = kids[0];
      if (first === undefined) throw new DecodeError(`${typeName} is empty`, tlv.offset);
      if (!inner.accepts(first.tag)) throw new DecodeError(`unexpected tag ${tagHex(first.tag)} in ${typeName}`, first.offset);
      if (kids.length > 1) warn(ctx, kids[1]!.offset, `${kids.length - 1} extra element(s) after ${typeName} ignored`);
      return inner.decode(first, ctx);
    },
    encode: (v) => encodeTlv(tag, inner.encode(v)),
    toJson: (v) => inner.toJson(v),
    fromJson: (json) => inner.fromJson(json),
  };
}

/**
 * IMPLICIT tag replacing the tag of a referenced type (`addEim [8] EimConfigurationData` is A8 with the
 * SEQUENCE's contents). Not for CHOICE types: their tags are explicit.
 */
export function implicit<T>(tag: number, inner: Codec<T>, typeName = inner.typeName): Codec<T> {
  return {
    typeName,
    accepts: (t) => t === tag,
    decode: (tlv, ctx) => inner.decode(tlv, ctx),
    encode: (v) => retag(inner.encode(v), tag),
    toJson: (v) => inner.toJson(v),
    fromJson: (json) => inner.fromJson(json),
  };
}

// ---------------------------------------------------------------------------------------------------
// Signed parts: the exact received bytes travel with the decoded value

/** Key of the received TLV bytes on a decoded signed part; symbol-keyed so JSON output ignores it. */
export const RECEIVED = Symbol('received DER');

export type Received<T> = T & { readonly [RECEIVED]?: Uint8Array };

/** Marks a type whose received bytes are signed: the decoded object keeps them under RECEIVED. */
export function signedPart<T extends object>(inner: Codec<T>): Codec<Received<T>> {
  return {
    ...inner,
    decode(tlv, ctx) {
      const v = inner.decode(tlv, ctx) as Received<T>;
      Object.defineProperty(v, RECEIVED, { value: tlv.bytes, enumerable: false });
      return v;
    },
  };
}

/**
 * The bytes a signature covers: the bytes as received when the value was decoded (never a re-encoding),
 * or the DER encoding when the value was built locally.
 */
export function signedBytes<T extends object>(codec: Codec<T>, value: Received<T>): Uint8Array {
  return value[RECEIVED] ?? codec.encode(value);
}
