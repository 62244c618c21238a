/**
 * Server configuration: config/default.json, overridden by a user file (--config or EIM_CONFIG), then by
 * EIM_* environment variables, checked against config/schema.json at start-up. A bad value stops the start
 * with EIM_ERR_CONFIG naming the setting.
 */
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { EimError } from '../errors.js';
import { validateJsonSchema, type JsonSchema } from './json-schema.js';

export interface Listener {
  enabled: boolean;
  host: string;
  port: number;
}

export interface EimConfig {
  dataDir: string;
  database: string;
  log: { level: string };
  eim: {
    eimId: string;
    eimIdType?: 'oid' | 'fqdn' | 'proprietary';
    eimFqdn?: string;
    keyFile: string | null;
    certificateFile: string | null;
    trustedTlsCertificateFile: string | null;
    euiccCiPKId: string | null;
    curve: 'P-256' | 'brainpoolP256r1';
    supportedProtocols: string[];
    indirectProfileDownload: boolean;
    trustedCiFiles: string[];
    relaxNameConstraints: boolean;
    maxAttempts: number;
    cryptoThreads: number;
  };
  lwm2m: { coap: Listener; coaps: Listener; awakeWindowSeconds: number; maxBodyBytes: number };
  http: { esipa: Listener; api: Listener };
  smdp: { tlsRootFiles: string[]; timeoutMs: number };
  events: { retentionHours: number };
}

export class ConfigError extends EimError {
  constructor(message: string) {
    super('EIM_ERR_CONFIG', message);
  }
}

/** The repository's config/ folder, from the sources (src/config) or from the build (dist/src/config). */
function configDir(): string {
  const fromSrc = fileURLToPath(new URL('../../config/', import.meta.url));
  return existsSync(`${fromSrc}default.json`) ? fromSrc : fileURLToPath(new URL('../../../config/', import.meta.url));
}

function readJson(path: string): unknown {
  try {
    return JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new ConfigError(`cannot read configuration ${path}: ${(e as Error).message}`);
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function merge(base: unknown, over: unknown): unknown {
  if (!isObject(base) || !isObject(over)) return over;
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(over)) out[k] = merge(base[k], v);
  return out;
}

/** EIM_HTTP_API_PORT=9000 sets http.api.port; values are parsed as JSON when they parse, else kept as text. */
function fromEnvironment(env: NodeJS.ProcessEnv, defaults: unknown): unknown {
  const out: Record<string, unknown> = {};
  for (const [name, raw] of Object.entries(env)) {
    if (!name.startsWith('EIM_') || name === 'EIM_CONFIG' || raw === undefined) continue;
    const parts = name.slice(4).toLowerCase().split('_');
    // Map upper-cased segments back onto the real (camelCase) keys of the defaults.
    let node: unknown = defaults;
    const path: string[] = [];
    for (const p of parts) {
      const key = isObject(node) ? Object.keys(node).find((k) => k.toLowerCase() === p) : undefined;
      if (key === undefined) throw new ConfigError(`environment variable ${name} names no setting`);
      path.push(key);
      node = (node as Record<string, unknown>)[key];
    }
    let value: unknown = raw;
    try {
      value = JSON.parse(raw);
    } catch {
      // plain text value
    }
    let target = out;
    for (const k of path.slice(0, -1)) target = (target[k] ??= {}) as Record<string, unknown>;
    target[path[path.length - 1]!] = value;
  }
  return out;
}

/** Loads and validates the configuration. */
export function loadConfig(options: { file?: string; env?: NodeJS.ProcessEnv } = {}): EimConfig {
  const env = options.env ?? process.env;
  const dir = configDir();
  const defaults = readJson(`${dir}default.json`);
  const schema = readJson(`${dir}schema.json`) as JsonSchema;
  const file = options.file ?? env.EIM_CONFIG;
  let config = defaults;
  if (file !== undefined && file !== '') config = merge(config, readJson(file));
  config = merge(config, fromEnvironment(env, defaults));
  const problems = validateJsonSchema(schema, config);
  if (problems.length > 0) throw new ConfigError(`invalid configuration: ${problems.join('; ')}`);
  return config as EimConfig;
}
