/**
 * The layer rules of notes/style.md B1-B2, checked on the imports themselves: a module imports only its own
 * rank or lower, lwm2m and api never import each other, the simulator knows the eIM only through the wire,
 * and each third-party package belongs to one folder.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const SRC = join(ROOT, 'src');

const RANK: Record<string, number> = { 'errors.ts': 0, asn1: 1, crypto: 2, store: 3, eim: 4, esipa: 5, scheduler: 6, lwm2m: 7, api: 7, sim: 8, cli: 9, config: 9, 'main.ts': 9 };

/** Where each third-party package may be imported (top-level folders of src/, or a deeper path prefix). */
const PACKAGES: Record<string, string[]> = {
  'better-sqlite3': ['store/sqlite'],
  fastify: ['api'],
  coap: ['lwm2m', 'sim'],
  'cbor-x': ['lwm2m', 'sim'],
  'node-dtls-client': ['sim'],
  '@eim/dtls': ['lwm2m'],
  '@peculiar/asn1-schema': ['crypto', 'sim'],
  '@peculiar/asn1-x509': ['crypto', 'sim'],
  '@peculiar/x509': ['crypto', 'sim'],
  asn1js: ['crypto', 'sim'],
};

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? files(p) : n.endsWith('.ts') ? [p] : [];
  });
}

function layerOf(path: string): string {
  const rel = relative(SRC, path);
  return rel.includes('/') ? rel.split('/')[0]! : rel;
}

function imports(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  return [...text.matchAll(/^\s*(?:import|export)\s[^'"]*?from\s+['"]([^'"]+)['"]/gm), ...text.matchAll(/import\(\s*['"]([^'"]+)['"]\s*\)/g)].map((m) => m[1]!);
}

const violations: string[] = [];
for (const file of files(SRC)) {
  const from = layerOf(file);
  const rel = relative(SRC, file);
  for (const spec of imports(file)) {
    if (spec.startsWith('.')) {
      const target = resolve(dirname(file), spec);
      if (!target.startsWith(SRC)) continue;
      const to = layerOf(target.replace(/\.js$/, '.ts'));
      if (RANK[to] === undefined || RANK[from] === undefined) continue;
      if (RANK[to]! > RANK[from]!) violations.push(`${rel} (rank ${RANK[from]}) imports ${to} (rank ${RANK[to]})`);
      if ((from === 'lwm2m' && to === 'api') || (from === 'api' && to === 'lwm2m')) violations.push(`${rel}: lwm2m and api must not import each other`);
      if (from === 'sim' && ['store', 'eim', 'esipa', 'scheduler', 'api'].includes(to)) violations.push(`${rel}: the simulator must not import ${to}`);
    } else if (!spec.startsWith('node:')) {
      const pkg = spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]!;
      const allowed = PACKAGES[pkg];
      if (allowed !== undefined && !allowed.some((a) => rel.startsWith(`${a}/`) || rel === a)) violations.push(`${rel} imports ${pkg}, which belongs to ${allowed.join(', ')}`);
    }
  }
}

describe('architecture', () => {
  it('keeps every import within the layer and package rules', () => {
    assert.deepEqual(violations, []);
  });

  it('has no console.* in src/', () => {
    const offenders = files(SRC).filter((f) => /\bconsole\.(log|error|warn|info|debug)\(/.test(readFileSync(f, 'utf8')));
    assert.deepEqual(offenders.map((f) => relative(SRC, f)), []);
  });
});
