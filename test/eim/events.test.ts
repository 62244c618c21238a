import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { commitWithEvent, type EimEvent, operationChanged } from '../../src/eim/events.js';
import { ConflictError } from '../../src/store/errors.js';
import type { Changes } from '../../src/store/store.js';

/** A store seam that records each commit's intents and settles as told, and notes when it settled. */
function fakeStore(outcome: 'resolve' | 'reject') {
  const log: string[] = [];
  const commits: string[][] = [];
  return {
    log,
    commits,
    async commit(build: (tx: Changes) => void): Promise<void> {
      const intents: string[] = [];
      const tx = new Proxy({} as Changes, { get: (_t, name: string) => (...args: unknown[]) => intents.push(name === 'appendEvent' ? `appendEvent:${(args[0] as { type: string }).type}` : name) });
      build(tx);
      commits.push(intents);
      await new Promise((r) => setImmediate(r));
      log.push(`commit ${outcome}d`);
      if (outcome === 'reject') throw new ConflictError('the operation changed meanwhile');
    },
  };
}

const op = { id: 'op-1', eid: '89049032123451234512345678901235', kind: 'enable' };

describe('commitWithEvent', () => {
  it('writes the event and the change in one commit and announces the event only after the commit resolved', async () => {
    const store = fakeStore('resolve');
    const emitted: EimEvent[] = [];
    const event = operationChanged(op, 'cancelled', 1000);
    await commitWithEvent({ store, emit: (e) => (store.log.push('emit'), emitted.push(e)) }, event, (tx) => {
      tx.updateOperation(op.id, { state: 'cancelled' });
      tx.appendAudit({ at: 1000, actor: 'eim', action: 'x', outcome: 'ok' });
    });
    assert.deepEqual(store.commits, [['appendEvent:operation.changed', 'updateOperation', 'appendAudit']]);
    assert.deepEqual(store.log, ['commit resolved', 'emit']);
    assert.deepEqual(emitted, [event]);
  });

  it('announces nothing and passes the error on when the commit rejects', async () => {
    const store = fakeStore('reject');
    const emitted: EimEvent[] = [];
    await assert.rejects(
      commitWithEvent({ store, emit: (e) => emitted.push(e) }, operationChanged(op, 'failed', 1000, 'undeliverable'), (tx) => tx.updateOperation(op.id, { state: 'failed' })),
      ConflictError,
    );
    assert.deepEqual(emitted, []);
  });

  it('announces nothing when building the change throws', async () => {
    const store = fakeStore('resolve');
    const emitted: EimEvent[] = [];
    await assert.rejects(
      commitWithEvent({ store, emit: (e) => emitted.push(e) }, operationChanged(op, 'done', 1000), () => {
        throw new RangeError('bad write');
      }),
      RangeError,
    );
    assert.deepEqual(emitted, []);
  });
});

describe('operationChanged', () => {
  it('names the operation, its eUICC, kind and new state, with an errorCode only when a non-empty one is given', () => {
    assert.deepEqual(operationChanged(op, 'done', 5), { type: 'operation.changed', operationId: 'op-1', eid: op.eid, kind: 'enable', state: 'done', at: 5 });
    assert.deepEqual(operationChanged(op, 'failed', 6, 'iccidNotFound'), { type: 'operation.changed', operationId: 'op-1', eid: op.eid, kind: 'enable', state: 'failed', errorCode: 'iccidNotFound', at: 6 });
    assert.ok(!('errorCode' in operationChanged(op, 'sent', 7)));
    assert.ok(!('errorCode' in operationChanged(op, 'done', 8, '')));
  });
});
