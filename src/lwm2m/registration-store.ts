/**
 * Registration store seam (after Leshan's RegistrationStore, shared/notes/style.md A1) and its in-memory
 * implementation. Expiry is a single min-heap ordered by (lastUpdate + lifetime), with lazy deletion, so
 * 100,000 idle registrations cost no timer or closure each (issue 5 heap target <= 1.5 KB/device); the heap
 * is rebuilt when stale entries (left by Updates and removals) outnumber the live ones, so a fleet that
 * updates often does not grow it.
 */
import type { Registration } from './registration.js';

export interface RegistrationStore {
  /**
   * Adds a registration. If the endpoint already has one it is replaced and returned (the caller emits
   * 'deregistered' for it and drops its observations); otherwise undefined.
   */
  add(registration: Registration): Registration | undefined;
  /** Replaces the registration with the same id; returns the previous value, or undefined when unknown. */
  update(registration: Registration): Registration | undefined;
  get(id: string): Registration | undefined;
  getByEndpoint(endpoint: string): Registration | undefined;
  /** Removes by id; returns what was removed, or undefined when unknown (idempotent). */
  remove(id: string): Registration | undefined;
  /** Removes and returns every registration whose lastUpdate + lifetime + grace is before `now`. */
  removeExpired(now: number, graceMs: number): Registration[];
  readonly size: number;
  all(): IterableIterator<Registration>;
}

export class MemoryRegistrationStore implements RegistrationStore {
  readonly #byId = new Map<string, Registration>();
  readonly #byEndpoint = new Map<string, Registration>();
  /** Heap of expiry keys (lastUpdate + lifetime ms) and ids, parallel arrays to stay compact. */
  #heapAt: number[] = [];
  #heapId: string[] = [];

  get size(): number {
    return this.#byId.size;
  }

  add(registration: Registration): Registration | undefined {
    const previous = this.#byEndpoint.get(registration.endpoint);
    if (previous !== undefined) this.#byId.delete(previous.id);
    this.#byId.set(registration.id, registration);
    this.#byEndpoint.set(registration.endpoint, registration);
    this.#push(expiry(registration), registration.id);
    return previous;
  }

  update(registration: Registration): Registration | undefined {
    const previous = this.#byId.get(registration.id);
    if (previous === undefined) return undefined;
    this.#byId.set(registration.id, registration);
    if (this.#byEndpoint.get(registration.endpoint) === previous) this.#byEndpoint.set(registration.endpoint, registration);
    if (expiry(registration) !== expiry(previous)) this.#push(expiry(registration), registration.id);
    return previous;
  }

  get(id: string): Registration | undefined {
    return this.#byId.get(id);
  }

  getByEndpoint(endpoint: string): Registration | undefined {
    return this.#byEndpoint.get(endpoint);
  }

  remove(id: string): Registration | undefined {
    const registration = this.#byId.get(id);
    if (registration === undefined) return undefined;
    this.#byId.delete(id);
    if (this.#byEndpoint.get(registration.endpoint) === registration) this.#byEndpoint.delete(registration.endpoint);
    return registration;
  }

  removeExpired(now: number, graceMs: number): Registration[] {
    const out: Registration[] = [];
    while (this.#heapAt.length > 0 && this.#heapAt[0]! + graceMs < now) {
      const at = this.#heapAt[0]!;
      const id = this.#heapId[0]!;
      this.#pop();
      const registration = this.#byId.get(id);
      // Stale heap entries (updated or removed registrations) are skipped.
      if (registration !== undefined && expiry(registration) === at) {
        this.remove(id);
        out.push(registration);
      }
    }
    return out;
  }

  all(): IterableIterator<Registration> {
    return this.#byId.values();
  }

  /** Entries in the expiry heap, stale ones included (tests: compaction bounds it). */
  get heapSize(): number {
    return this.#heapAt.length;
  }

  #push(at: number, id: string): void {
    // Stale entries over half the heap: rebuild it from the live registrations (amortised O(1) per push).
    // Callers store the registration before pushing, so the rebuilt heap already holds this entry.
    if (this.#heapAt.length >= 64 && this.#heapAt.length >= 2 * this.#byId.size) {
      this.#rebuild();
      return;
    }
    const a = this.#heapAt;
    const ids = this.#heapId;
    let i = a.length;
    a.push(at);
    ids.push(id);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (a[parent]! <= at) break;
      a[i] = a[parent]!;
      ids[i] = ids[parent]!;
      i = parent;
    }
    a[i] = at;
    ids[i] = id;
  }

  #rebuild(): void {
    const live = [...this.#byId.values()].map((r) => ({ at: expiry(r), id: r.id })).sort((x, y) => x.at - y.at);
    // An array sorted by key is a valid min-heap.
    this.#heapAt = live.map((e) => e.at);
    this.#heapId = live.map((e) => e.id);
  }

  #pop(): void {
    const a = this.#heapAt;
    const ids = this.#heapId;
    const lastAt = a.pop()!;
    const lastId = ids.pop()!;
    if (a.length === 0) return;
    let i = 0;
    const n = a.length;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      const c = r < n && a[r]! < a[l]! ? r : l;
      if (a[c]! >= lastAt) break;
      a[i] = a[c]!;
      ids[i] = ids[c]!;
      i = c;
    }
    a[i] = lastAt;
    ids[i] = lastId;
  }
}

function expiry(registration: Registration): number {
  return registration.lastUpdate + registration.lifetime * 1000;
}
