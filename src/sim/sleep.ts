/**
 * Sleep behaviour of simulated devices (3GPP TS 23.682 PSM and eDRX as an LwM2M client sees them; OMA
 * LwM2M 1.1.1 Transport §6.5 queue mode; shared/notes/lwm2m.md §2.2):
 * - PSM: unreachable between wake-ups; a wake-up is a Registration Update followed by an awake window
 *   (default 93 s = MAX_TRANSMIT_WAIT), then the radio is off until the next period.
 * - eDRX: reachable only at paging occasions, every cycle for a paging window; downlink datagrams are held
 *   by the network until then. The device still sends an Update before its lifetime runs out.
 * - always-on: never sleeps (a mains-powered device).
 * Schedules are per device, with jitter so a fleet does not wake in lock-step, and a NAT mapping timeout:
 * a device that slept longer than it comes back from a new source port (and must handshake again).
 *
 * FleetTimer is the one timer a whole fleet runs on: a min-heap of deadlines with a single setTimeout
 * armed for the earliest, so 10,000 sleeping devices cost 10,000 heap entries, not 10,000 timers.
 */
import { InvalidArgumentError } from '../errors.js';

export type SleepSchedule =
  | { readonly kind: 'psm'; readonly periodMs: number; readonly awakeMs: number; readonly jitter: number }
  | { readonly kind: 'edrx'; readonly cycleMs: number; readonly pagingWindowMs: number; readonly updateEveryMs: number; readonly jitter: number }
  | { readonly kind: 'always-on'; readonly updateEveryMs: number };

export const DEFAULT_AWAKE_MS = 93_000;
/** Cellular NAT mappings for UDP last 20-120 s (shared/notes/lwm2m.md §3.4). */
export const DEFAULT_NAT_TIMEOUT_MS = 120_000;

export function psm(options: { periodMs: number; awakeMs?: number; jitter?: number }): SleepSchedule {
  const s = { kind: 'psm' as const, periodMs: options.periodMs, awakeMs: options.awakeMs ?? DEFAULT_AWAKE_MS, jitter: options.jitter ?? 0.1 };
  positive(s.periodMs, 'periodMs');
  positive(s.awakeMs, 'awakeMs');
  if (s.awakeMs >= s.periodMs) throw new InvalidArgumentError('awakeMs', 'the awake window must be shorter than the PSM period');
  fraction(s.jitter, 'jitter');
  return s;
}

export function edrx(options: { cycleMs: number; pagingWindowMs?: number; updateEveryMs?: number; jitter?: number }): SleepSchedule {
  const s = {
    kind: 'edrx' as const,
    cycleMs: options.cycleMs,
    pagingWindowMs: options.pagingWindowMs ?? Math.min(2_560, options.cycleMs / 2),
    updateEveryMs: options.updateEveryMs ?? 3_600_000,
    jitter: options.jitter ?? 0.1,
  };
  positive(s.cycleMs, 'cycleMs');
  positive(s.pagingWindowMs, 'pagingWindowMs');
  positive(s.updateEveryMs, 'updateEveryMs');
  if (s.pagingWindowMs >= s.cycleMs) throw new InvalidArgumentError('pagingWindowMs', 'the paging window must be shorter than the eDRX cycle');
  fraction(s.jitter, 'jitter');
  return s;
}

export function alwaysOn(updateEveryMs = 3_600_000): SleepSchedule {
  positive(updateEveryMs, 'updateEveryMs');
  return { kind: 'always-on', updateEveryMs };
}

/**
 * Parses a CLI schedule: "psm:PERIOD[:AWAKE]" ("psm:10m", "psm:3600s:93s"), "edrx:CYCLE[:WINDOW]"
 * ("edrx:81.92s:2.56s"), or "on". Durations take ms, s, m or h (default s).
 */
export function parseSchedule(text: string, jitter = 0.1): SleepSchedule {
  const [kind, a, b] = text.split(':');
  if (kind === 'on' || kind === 'always-on') return alwaysOn();
  if (kind === 'psm' && a !== undefined) return psm({ periodMs: parseDuration(a), ...(b !== undefined ? { awakeMs: parseDuration(b) } : {}), jitter });
  if (kind === 'edrx' && a !== undefined) return edrx({ cycleMs: parseDuration(a), ...(b !== undefined ? { pagingWindowMs: parseDuration(b) } : {}), jitter });
  throw new InvalidArgumentError('schedule', `expected psm:PERIOD[:AWAKE], edrx:CYCLE[:WINDOW] or on, got "${text}"`);
}

export function parseDuration(text: string): number {
  const m = /^([0-9]+(?:\.[0-9]+)?)(ms|s|m|h)?$/.exec(text.trim());
  if (m === null) throw new InvalidArgumentError('duration', `expected a number with ms, s, m or h, got "${text}"`);
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[(m[2] ?? 's') as 'ms' | 's' | 'm' | 'h'];
  return Math.round(Number(m[1]) * unit);
}

/** A duration stretched by up to ±jitter (a fraction), with `random` in [0, 1). */
export function jittered(ms: number, jitter: number, random: () => number): number {
  return Math.max(1, Math.round(ms * (1 + jitter * (2 * random() - 1))));
}

/** Milliseconds from the start of the fleet to a device's first wake-up: spread over one period. */
export function firstWakeDelay(schedule: SleepSchedule, random: () => number): number {
  switch (schedule.kind) {
    case 'psm':
      return Math.floor(random() * schedule.periodMs);
    case 'edrx':
      return Math.floor(random() * schedule.cycleMs);
    case 'always-on':
      return 0;
  }
}

/**
 * How long a device stays reachable after waking (PSM awake window, eDRX paging window). Infinity for
 * always-on: its window never closes, so there is no deadline to arm (Fleet only schedules its Updates).
 */
export function awakeWindow(schedule: SleepSchedule, random: () => number): number {
  switch (schedule.kind) {
    case 'psm':
      return jittered(schedule.awakeMs, schedule.jitter / 2, random);
    case 'edrx':
      return schedule.pagingWindowMs;
    case 'always-on':
      return Infinity;
  }
}

/** Time from the start of one wake-up (always-on: one Registration Update) to the start of the next. */
export function wakeInterval(schedule: SleepSchedule, random: () => number): number {
  switch (schedule.kind) {
    case 'psm':
      return jittered(schedule.periodMs, schedule.jitter, random);
    case 'edrx':
      return schedule.cycleMs; // paging occasions follow the network's clock, not ours
    case 'always-on':
      return schedule.updateEveryMs;
  }
}

/** A small fast PRNG (mulberry32) so a fleet's schedules are reproducible from a seed. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

interface TimerEntry {
  at: number;
  readonly seq: number;
  readonly fn: () => void;
  cancelled: boolean;
}

export interface TimerHandle {
  cancel(): void;
}

/** One setTimeout for many deadlines (a binary min-heap ordered by time, then by insertion). */
export class FleetTimer {
  readonly #heap: TimerEntry[] = [];
  readonly #now: () => number;
  #timer: NodeJS.Timeout | undefined;
  #armedAt = Infinity;
  #seq = 0;
  #live = 0;
  #closed = false;

  constructor(now: () => number = Date.now) {
    this.#now = now;
  }

  /** Entries not yet run or cancelled. */
  get size(): number {
    return this.#live;
  }

  /**
   * Runs `fn` in `delayMs` (errors thrown by `fn` are the caller's to catch; they are not swallowed).
   * A non-finite delay is refused: an Infinity deadline would sit in the heap forever (re-armed every
   * 2^31-1 ms) and a NaN one breaks the heap order, both silently.
   */
  after(delayMs: number, fn: () => void): TimerHandle {
    if (!Number.isFinite(delayMs)) throw new InvalidArgumentError('delayMs', `expected a finite delay in ms, got ${delayMs}`);
    const entry: TimerEntry = { at: this.#now() + Math.max(0, delayMs), seq: this.#seq++, fn, cancelled: false };
    this.#push(entry);
    this.#live++;
    this.#arm();
    return {
      cancel: () => {
        if (entry.cancelled) return;
        entry.cancelled = true;
        this.#live--;
      },
    };
  }

  close(): void {
    this.#closed = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#heap.length = 0;
    this.#live = 0;
  }

  #arm(): void {
    if (this.#closed) return;
    while (this.#heap.length > 0 && this.#heap[0]!.cancelled) this.#pop();
    const head = this.#heap[0];
    if (head === undefined) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
      this.#armedAt = Infinity;
      return;
    }
    if (this.#timer !== undefined && this.#armedAt <= head.at) return;
    clearTimeout(this.#timer);
    this.#armedAt = head.at;
    // Node caps timers at 2^31-1 ms; a later deadline is simply re-armed when this one fires.
    this.#timer = setTimeout(() => this.#fire(), Math.min(Math.max(0, head.at - this.#now()), 2_147_483_647));
  }

  #fire(): void {
    this.#timer = undefined;
    this.#armedAt = Infinity;
    const now = this.#now();
    // Bounded batch so a burst of due entries cannot starve I/O.
    for (let n = 0; n < 1000 && this.#heap.length > 0 && this.#heap[0]!.at <= now; n++) {
      const e = this.#pop()!;
      if (e.cancelled) continue;
      e.cancelled = true;
      this.#live--;
      e.fn();
    }
    if (this.#heap.length > 0 && this.#heap[0]!.at <= now && !this.#closed) {
      this.#armedAt = now;
      this.#timer = setTimeout(() => this.#fire(), 0);
      return;
    }
    this.#arm();
  }

  #less(a: TimerEntry, b: TimerEntry): boolean {
    return a.at < b.at || (a.at === b.at && a.seq < b.seq);
  }

  #push(e: TimerEntry): void {
    const h = this.#heap;
    h.push(e);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.#less(h[i]!, h[p]!)) break;
      [h[i], h[p]] = [h[p]!, h[i]!];
      i = p;
    }
  }

  #pop(): TimerEntry | undefined {
    const h = this.#heap;
    const top = h[0];
    const last = h.pop();
    if (h.length > 0 && last !== undefined) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && this.#less(h[l]!, h[m]!)) m = l;
        if (r < h.length && this.#less(h[r]!, h[m]!)) m = r;
        if (m === i) break;
        [h[i], h[m]] = [h[m]!, h[i]!];
        i = m;
      }
    }
    return top;
  }
}

function positive(v: number, name: string): void {
  if (!Number.isFinite(v) || v <= 0) throw new InvalidArgumentError(name, 'expected a positive duration in ms');
}

function fraction(v: number, name: string): void {
  if (!Number.isFinite(v) || v < 0 || v >= 1) throw new InvalidArgumentError(name, 'expected a fraction in [0, 1)');
}
