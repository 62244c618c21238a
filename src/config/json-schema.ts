/**
 * A validator for the JSON Schema subset config/schema.json uses (type, enum, properties, required,
 * additionalProperties: false, items, min/max length and value, local $ref). Small on purpose: the
 * configuration is checked once at start-up and every message names the setting.
 */
export interface JsonSchema {
  type?: string | string[];
  enum?: unknown[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  additionalProperties?: boolean;
  items?: JsonSchema;
  minLength?: number;
  maxLength?: number;
  pattern?: string;
  minimum?: number;
  maximum?: number;
  $ref?: string;
  $defs?: Record<string, JsonSchema>;
}

function typeOf(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  return typeof v;
}

/** Returns the problems found, each naming the path of the setting; empty when valid. */
export function validateJsonSchema(root: JsonSchema, value: unknown): string[] {
  const problems: string[] = [];
  const visit = (schema: JsonSchema, v: unknown, path: string): void => {
    if (schema.$ref !== undefined) {
      const name = schema.$ref.replace('#/$defs/', '');
      const target = root.$defs?.[name];
      if (target === undefined) throw new Error(`schema $ref ${schema.$ref} not found`);
      visit(target, v, path);
      return;
    }
    const at = path === '' ? '(root)' : path;
    if (schema.type !== undefined) {
      const types = Array.isArray(schema.type) ? schema.type : [schema.type];
      const t = typeOf(v);
      if (!types.includes(t) && !(t === 'integer' && types.includes('number'))) {
        problems.push(`${at} must be ${types.join(' or ')}, got ${t}`);
        return;
      }
    }
    if (schema.enum !== undefined && !schema.enum.includes(v)) problems.push(`${at} must be one of ${schema.enum.map((e) => JSON.stringify(e)).join(', ')}`);
    if (typeof v === 'string') {
      if (schema.minLength !== undefined && v.length < schema.minLength) problems.push(`${at} is too short`);
      if (schema.maxLength !== undefined && v.length > schema.maxLength) problems.push(`${at} is too long`);
      if (schema.pattern !== undefined && !new RegExp(schema.pattern).test(v)) problems.push(`${at} does not match ${schema.pattern}`);
    }
    if (typeof v === 'number') {
      if (schema.minimum !== undefined && v < schema.minimum) problems.push(`${at} must be >= ${schema.minimum}`);
      if (schema.maximum !== undefined && v > schema.maximum) problems.push(`${at} must be <= ${schema.maximum}`);
    }
    if (Array.isArray(v) && schema.items !== undefined) v.forEach((item, i) => visit(schema.items!, item, `${path}[${i}]`));
    if (typeof v === 'object' && v !== null && !Array.isArray(v)) {
      const o = v as Record<string, unknown>;
      for (const r of schema.required ?? []) if (o[r] === undefined) problems.push(`${path === '' ? '' : `${path}.`}${r} is required`);
      for (const [k, child] of Object.entries(o)) {
        const sub = schema.properties?.[k];
        if (sub !== undefined) visit(sub, child, path === '' ? k : `${path}.${k}`);
        else if (schema.additionalProperties === false) problems.push(`${path === '' ? '' : `${path}.`}${k} is not a known setting`);
      }
    }
  };
  visit(root, value, '');
  return problems;
}
