/**
 * Daily release windows of campaigns ("01:00-05:00 Europe/Berlin"): local wall-clock time in an IANA time
 * zone, computed with Intl.DateTimeFormat (no time-zone data of our own). A window whose end is before its
 * start spans midnight. Around a DST change a local time that does not exist lands on the nearest real instant.
 */
import { InvalidArgumentError } from '../errors.js';
import type { DailyWindow } from '../store/campaign-store.js';

const DAY_MS = 86_400_000;
const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (f === undefined) {
    f = new Intl.DateTimeFormat('en-GB', { timeZone, hourCycle: 'h23', hour: '2-digit', minute: '2-digit', second: '2-digit' });
    formatters.set(timeZone, f);
  }
  return f;
}

/** Throws InvalidArgumentError naming `argument` unless `timeZone` is an IANA zone this runtime knows. */
export function assertTimeZone(timeZone: unknown, argument = 'timeZone'): asserts timeZone is string {
  if (typeof timeZone !== 'string' || timeZone.length === 0) throw new InvalidArgumentError(argument, 'expected an IANA time zone name');
  try {
    formatter(timeZone);
  } catch {
    throw new InvalidArgumentError(argument, `unknown time zone '${timeZone}'`);
  }
}

/** 'HH:MM' (00:00..23:59) as milliseconds after local midnight; InvalidArgumentError otherwise. */
export function parseTimeOfDay(value: unknown, argument: string): number {
  const m = typeof value === 'string' ? /^([01]\d|2[0-3]):([0-5]\d)$/.exec(value) : null;
  if (m === null) throw new InvalidArgumentError(argument, "expected 'HH:MM' (24-hour)");
  return (Number(m[1]) * 60 + Number(m[2])) * 60_000;
}

/** Milliseconds since local midnight at instant `at` in `timeZone`. */
export function localTimeOfDay(at: number, timeZone: string): number {
  let h = 0;
  let min = 0;
  let s = 0;
  for (const p of formatter(timeZone).formatToParts(at)) {
    if (p.type === 'hour') h = Number(p.value);
    else if (p.type === 'minute') min = Number(p.value);
    else if (p.type === 'second') s = Number(p.value);
  }
  return ((h * 60 + min) * 60 + s) * 1000 + (((at % 1000) + 1000) % 1000);
}

/** The first instant after (or at) `at` whose local time of day is `target`. */
export function nextLocalTime(at: number, target: number, timeZone: string): number {
  let candidate = at + ((target - localTimeOfDay(at, timeZone) + DAY_MS) % DAY_MS);
  // A DST change between `at` and the candidate shifts local time by the offset change: correct for it.
  for (let i = 0; i < 2; i++) {
    const diff = ((target - localTimeOfDay(candidate, timeZone) + DAY_MS * 1.5) % DAY_MS) - DAY_MS / 2;
    if (diff === 0) break;
    candidate += diff;
  }
  return candidate < at ? candidate + DAY_MS : candidate;
}

export type WindowState = { readonly open: true; readonly closesAt: number } | { readonly open: false; readonly opensAt: number };

/** Whether releases are allowed at `at`, and until / from when. Without a window, always open. */
export function windowState(window: DailyWindow | undefined, at: number): WindowState {
  if (window === undefined) return { open: true, closesAt: Number.POSITIVE_INFINITY };
  const start = parseTimeOfDay(window.start, 'window.start');
  const end = parseTimeOfDay(window.end, 'window.end');
  const local = localTimeOfDay(at, window.timeZone);
  const open = start < end ? local >= start && local < end : local >= start || local < end;
  return open ? { open: true, closesAt: nextLocalTime(at, end, window.timeZone) } : { open: false, opensAt: nextLocalTime(at, start, window.timeZone) };
}

/** Checks a window given by a caller; InvalidArgumentError names the bad field. */
export function assertDailyWindow(value: unknown, argument = 'window'): asserts value is DailyWindow {
  if (typeof value !== 'object' || value === null) throw new InvalidArgumentError(argument, 'expected { start, end, timeZone }');
  const w = value as Record<string, unknown>;
  const start = parseTimeOfDay(w.start, `${argument}.start`);
  const end = parseTimeOfDay(w.end, `${argument}.end`);
  if (start === end) throw new InvalidArgumentError(argument, 'start and end must differ (omit the window to release at any time)');
  assertTimeZone(w.timeZone, `${argument}.timeZone`);
}
