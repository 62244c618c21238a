/**
 * Campaign ETA: when the last unfinished device should finish, from two limits: when the campaign can
 * release each device (rate, start time, daily window, canary first) and when each device is next reachable
 * (awake now, else its next expected uplink from Presence, e.g. its LwM2M registration lifetime). A device
 * finishes at the later of the two. The in-flight cap and result latency are not modelled: it is a floor.
 */
import type { CampaignRecord } from '../store/campaign-store.js';
import type { CampaignEta } from './campaign.js';
import { windowState } from './daily-window.js';
import type { Presence } from './ports.js';

/** Release instants of the next `count` devices from `from`, at `rate` per second, inside the daily window. */
export function releaseTimes(count: number, from: number, rate: number, window: CampaignRecord['window']): number[] | undefined {
  const times: number[] = [];
  const step = 1000 / rate;
  let t = from;
  // Bounded: a window shorter than one release step would otherwise never fit a release.
  for (let windows = 0; times.length < count && windows < 10_000; windows++) {
    const w = windowState(window, t);
    if (!w.open) {
      t = w.opensAt;
      continue;
    }
    while (times.length < count && t < w.closesAt) {
      times.push(t);
      t += step;
    }
    if (times.length < count) t = Math.max(t, w.closesAt);
  }
  return times.length === count ? times : undefined;
}

export function estimateCampaign(input: {
  readonly campaign: CampaignRecord;
  readonly now: number;
  /** Unfinished devices in seq order. */
  readonly unfinished: readonly { readonly seq: number; readonly eid: string; readonly released: boolean }[];
  readonly presence?: Presence;
}): CampaignEta {
  const { campaign: c, now, presence } = input;
  if (c.state === 'completed' || c.state === 'cancelled') return { ...(c.completedAt !== undefined ? { at: c.completedAt } : {}), unknownWakeups: 0 };
  let unknownWakeups = 0;
  const finishOf = (eid: string, ready: number): number | undefined => {
    if (presence === undefined) return ready;
    if (presence.isAwake(eid)) return ready;
    const wake = presence.nextExpectedUplink(eid);
    if (wake === undefined) {
      unknownWakeups++;
      return undefined;
    }
    return Math.max(ready, wake);
  };
  let last = now;
  let canaryFinish = now;
  const pending = input.unfinished.filter((d) => !d.released);
  for (const d of input.unfinished.filter((x) => x.released)) {
    const f = finishOf(d.eid, now);
    if (f === undefined) continue;
    last = Math.max(last, f);
    if (d.seq < c.canaryCount) canaryFinish = Math.max(canaryFinish, f);
  }
  const start = Math.max(now, c.startAt);
  const canaryPending = pending.filter((d) => d.seq < c.canaryCount);
  const mainPending = pending.filter((d) => d.seq >= c.canaryCount);
  const canaryTimes = releaseTimes(canaryPending.length, start, c.rate, c.window);
  if (canaryTimes === undefined) return { unknownWakeups };
  canaryPending.forEach((d, i) => {
    const f = finishOf(d.eid, canaryTimes[i]!);
    if (f !== undefined) canaryFinish = Math.max(canaryFinish, f);
  });
  last = Math.max(last, canaryFinish);
  // The rest is released only once every canary device has succeeded.
  const mainStart = c.phase === 'canary' && c.canaryCount > 0 ? Math.max(start, canaryFinish) : start;
  const mainTimes = releaseTimes(mainPending.length, mainStart, c.rate, c.window);
  if (mainTimes === undefined) return { unknownWakeups };
  mainPending.forEach((d, i) => {
    const f = finishOf(d.eid, mainTimes[i]!);
    if (f !== undefined) last = Math.max(last, f);
  });
  if (c.state === 'paused') return { unknownWakeups };
  return { at: Math.ceil(last), unknownWakeups };
}
