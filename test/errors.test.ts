import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { STATUS_OF_CODE } from '../src/api/errors.js';
import { ERROR_CODES } from '../src/errors.js';

describe('error codes', () => {
  it('lists every code in docs/errors.md and no code that does not exist', () => {
    const doc = readFileSync(new URL('../docs/errors.md', import.meta.url), 'utf8');
    const documented = [...doc.matchAll(/^\| `(EIM_ERR_[A-Z0-9_]+)` \|/gm)].map((m) => m[1]);
    assert.deepEqual([...documented].sort(), [...ERROR_CODES].sort());
  });

  it('documents the HTTP status the API really answers for each code', () => {
    const doc = readFileSync(new URL('../docs/errors.md', import.meta.url), 'utf8');
    for (const m of doc.matchAll(/^\| `(EIM_ERR_[A-Z0-9_]+)` \|.*\| (\d{3}) \|$/gm)) {
      assert.equal(Number(m[2]), STATUS_OF_CODE[m[1] as keyof typeof STATUS_OF_CODE], m[1]);
    }
  });
});
