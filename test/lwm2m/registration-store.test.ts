import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryRegistrationStore, type RegistrationStore } from '../../src/lwm2m/registration-store.js';
import type { Registration } from '../../src/lwm2m/registration.js';

function registration(endpoint: string, id: string, lastUpdate: number, lifetime = 60): Registration {
  return { id, endpoint, lifetime, lwm2mVersion: '1.1', binding: 'U', queueMode: true, links: '</3443/0>', address: '127.0.0.1', port: 1, identity: undefined, registeredAt: lastUpdate, lastUpdate };
}

/** Behaviour every RegistrationStore must have; run here for the in-memory one. */
function describeRegistrationStore(name: string, factory: () => RegistrationStore): void {
  describe(`${name} registration store`, () => {
    it('finds by id and endpoint and answers undefined for unknown ones', () => {
      const s = factory();
      s.add(registration('a', 'id-a', 0));
      assert.equal(s.get('id-a')?.endpoint, 'a');
      assert.equal(s.getByEndpoint('a')?.id, 'id-a');
      assert.equal(s.get('nope'), undefined);
      assert.equal(s.getByEndpoint('nope'), undefined);
      assert.equal(s.update(registration('x', 'nope', 0)), undefined);
      assert.equal(s.remove('nope'), undefined);
    });

    it('replacing an endpoint returns the old registration and forgets its id', () => {
      const s = factory();
      s.add(registration('a', 'id-1', 0));
      const replaced = s.add(registration('a', 'id-2', 10));
      assert.equal(replaced?.id, 'id-1');
      assert.equal(s.get('id-1'), undefined);
      assert.equal(s.size, 1);
    });

    it('removes expired registrations in expiry order, honouring updates and the grace period', () => {
      const s = factory();
      for (let i = 0; i < 500; i++) s.add(registration(`e${i}`, `id${i}`, (i * 7919) % 1000, 60));
      s.update({ ...registration('e0', 'id0', 5000, 60) });
      assert.deepEqual(s.removeExpired(60_000 + 500, 1000), []);
      const expired = s.removeExpired(60_000 + 2000, 0);
      assert.equal(expired.length, 499);
      assert.ok(expired.every((r, i) => i === 0 || expired[i - 1]!.lastUpdate <= r.lastUpdate), 'ordered by expiry');
      assert.equal(s.size, 1);
      assert.equal(s.getByEndpoint('e0')?.id, 'id0');
      assert.equal(s.removeExpired(65_001, 0).length, 1);
      assert.equal(s.size, 0);
    });
  });
}

describeRegistrationStore('in-memory', () => new MemoryRegistrationStore());
