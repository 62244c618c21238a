#!/usr/bin/env node
// Runs every test/**/*.test.ts with Node's built-in test runner (node:test) through the tsx loader.
// Node 20 does not expand globs given to --test, so the file list is built here.
// Extra arguments are passed to node (e.g. `npm test -- --test-name-pattern=codec`); file paths given
// as arguments replace the full list.
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

function find(dir) {
  return readdirSync(dir)
    .sort()
    .flatMap((name) => {
      const p = join(dir, name);
      if (statSync(p).isDirectory()) return name === 'fixtures' ? [] : find(p);
      return name.endsWith('.test.ts') ? [p] : [];
    });
}

const args = process.argv.slice(2);
const files = args.filter((a) => a.endsWith('.ts'));
const flags = args.filter((a) => !a.endsWith('.ts'));
const list = files.length > 0 ? files : find('test');
const concurrency = process.env.TEST_CONCURRENCY ?? '2';
const r = spawnSync(
  process.execPath,
  ['--import', 'tsx', '--test', `--test-concurrency=${concurrency}`, ...flags, ...list],
  { stdio: 'inherit' },
);
process.exit(r.status ?? 1);
