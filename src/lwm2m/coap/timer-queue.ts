/**
 * One timer for many deadlines (RFC 7252 §4.2 retransmission and exchange deadlines, §5.2.2 separate
 * responses): items sit in a binary min-heap by due time and a single Node timer is armed for the earliest.
 * A CoAP exchange is usually answered within milliseconds, so arming and clearing a Node timer (or two) per
 * message cost more than the message itself; here scheduling is a heap insert and cancelling a heap removal,
 * and the Node timer is re-armed only when an earlier deadline arrives (or when it fires).
 */

/** Something that can wait in a TimerQueue; `slot` is the queue's bookkeeping (-1 when not queued). */
export interface TimerItem {
  due: number;
  slot: number;
}

export class TimerQueue<T extends TimerItem> {
  readonly #heap: T[] = [];
  readonly #onDue: (item: T) => void;
  readonly #now: () => number;
  #timer: NodeJS.Timeout | undefined;
  #timerAt = Infinity;

  /** `onDue` runs for each item whose time has come (it is already out of the queue and may re-schedule it). */
  constructor(onDue: (item: T) => void, now: () => number = Date.now) {
    this.#onDue = onDue;
    this.#now = now;
  }

  get size(): number {
    return this.#heap.length;
  }

  /** Queues `item` at `due` (ms, same origin as `now`), or moves it there if already queued. */
  schedule(item: T, due: number): void {
    if (item.slot >= 0) this.cancel(item);
    item.due = due;
    item.slot = this.#heap.length;
    this.#heap.push(item);
    this.#up(item.slot);
    if (due < this.#timerAt) this.#arm(due);
  }

  /** Takes `item` out of the queue; does nothing when it is not queued. */
  cancel(item: T): void {
    const i = item.slot;
    if (i < 0) return;
    item.slot = -1;
    const last = this.#heap.pop()!;
    if (i === this.#heap.length) return;
    this.#heap[i] = last;
    last.slot = i;
    this.#down(i);
    this.#up(last.slot);
    // The Node timer stays armed: when it fires early it finds nothing due and re-arms. Cheaper than re-arming now.
  }

  /** Drops every item and the timer. */
  clear(): void {
    for (const item of this.#heap) item.slot = -1;
    this.#heap.length = 0;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#timerAt = Infinity;
  }

  #arm(at: number): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timerAt = at;
    this.#timer = setTimeout(this.#fire, Math.max(0, at - this.#now()));
  }

  readonly #fire = (): void => {
    this.#timer = undefined;
    this.#timerAt = Infinity;
    const now = this.#now();
    // Bounded: items re-scheduled by onDue at `now` or earlier wait for the next round.
    for (let n = this.#heap.length; n > 0; n--) {
      const head = this.#heap[0];
      if (head === undefined || head.due > now) break;
      this.cancel(head);
      this.#onDue(head);
    }
    const head = this.#heap[0];
    if (head !== undefined && head.due < this.#timerAt) this.#arm(head.due);
  };

  #up(start: number): void {
    const heap = this.#heap;
    let i = start;
    const item = heap[i]!;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const p = heap[parent]!;
      if (p.due <= item.due) break;
      heap[i] = p;
      p.slot = i;
      i = parent;
    }
    heap[i] = item;
    item.slot = i;
  }

  #down(start: number): void {
    const heap = this.#heap;
    const n = heap.length;
    let i = start;
    const item = heap[i]!;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      const c = r < n && heap[r]!.due < heap[l]!.due ? r : l;
      const child = heap[c]!;
      if (child.due >= item.due) break;
      heap[i] = child;
      child.slot = i;
      i = c;
    }
    heap[i] = item;
    item.slot = i;
  }
}
