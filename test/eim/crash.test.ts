/**
 * Crash safety: a child issuing packages and applying results is killed with SIGKILL at random points and
 * restarted on the same SQLite file. Afterwards no counter value was used twice, no submitted operation is
 * lost, and no result was applied twice.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateKeyPair, privateKeyToPem } from '../../src/crypto/keys.js';
import { writeTestPki } from '../../src/sim/pki.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { EID, testPki } from './harness.js';

const CHILD = fileURLToPath(new URL('../fixtures/crash-child.ts', import.meta.url));
const LIVES = 8;

function life(dir: string, submitted: Set<string>, killAfterMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', CHILD, dir, EID], { stdio: ['ignore', 'pipe', 'pipe'] });
    let buffer = '';
    let stderr = '';
    let timer: NodeJS.Timeout | undefined;
    const hardStop = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.stdout.on('data', (d: Buffer) => {
      buffer += d.toString();
      let nl: number;
      while ((nl = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, nl);
        buffer = buffer.slice(nl + 1);
        if (line === 'ready') timer ??= setTimeout(() => child.kill('SIGKILL'), killAfterMs);
        else if (line.startsWith('submitted ')) submitted.add(line.slice(10));
      }
    });
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('exit', (code, signal) => {
      clearTimeout(hardStop);
      if (timer) clearTimeout(timer);
      if (signal === 'SIGKILL') resolve();
      else reject(new Error(`child exited by itself (${code}): ${stderr}`));
    });
  });
}

describe('crash safety', () => {
  it('never reuses a counter, loses no operation and applies no result twice across SIGKILLs', { timeout: 240_000 }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'eim-crash-'));
    try {
      await writeTestPki(testPki(), dir);
      writeFileSync(join(dir, 'eim-key.pem'), privateKeyToPem(generateKeyPair('P-256').privateKey), { mode: 0o600 });
      const submitted = new Set<string>();
      for (let i = 0; i < LIVES; i++) await life(dir, submitted, 150 + Math.floor(Math.random() * 600));

      const store = SqliteStore.open({ path: join(dir, 'eim.db') });
      try {
        const ops = [];
        for (let cursor: string | undefined, first = true; first || cursor !== undefined; first = false) {
          const page = await store.listOperations({ eid: EID, limit: 1000, ...(cursor !== undefined ? { cursor } : {}) });
          ops.push(...page.items);
          cursor = page.nextCursor;
        }
        assert.ok(submitted.size > 20, `too little work happened (${submitted.size} operations)`);
        const ids = new Set(ops.map((o) => o.id));
        for (const id of submitted) assert.ok(ids.has(id), `operation ${id} was lost`);
        const counters = ops.filter((o) => o.counterValue !== undefined).map((o) => o.counterValue!);
        assert.equal(new Set(counters).size, counters.length, 'a counter value was used twice');
        const assoc = await store.getAssociation('eim.crash', EID);
        assert.ok(assoc!.counterValue >= Math.max(...counters), 'the stored counter is behind an issued package');
        const applied = [];
        for (let cursor: string | undefined, first = true; first || cursor !== undefined; first = false) {
          const page = await store.listAudit({ action: 'result-accepted', limit: 1000, ...(cursor !== undefined ? { cursor } : {}) });
          applied.push(...page.items);
          cursor = page.nextCursor;
        }
        const perOp = new Map<string, number>();
        for (const a of applied) perOp.set(a.operationId!, (perOp.get(a.operationId!) ?? 0) + 1);
        assert.ok([...perOp.values()].every((n) => n === 1), 'a result was applied twice');
        for (const o of ops.filter((x) => x.state === 'done')) assert.equal(perOp.get(o.id), 1, `done operation ${o.id} has no single accepted result`);
        const duplicates = (await store.listAudit({ action: 'result-rejected', limit: 1000 })).items.filter((a) => a.reason === 'already-applied');
        assert.ok(duplicates.length > 0, 'the child should have replayed results');
      } finally {
        await store.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
