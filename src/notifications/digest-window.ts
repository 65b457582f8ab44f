import type { DigestMode } from "../db/schema";
import { wallClock } from "./quiet-hours";

/** A digest window: [start, end) in epoch ms. It is identified by its start instant. */
export type DigestWindow = { start: number; end: number };

/** Local wall clock minus UTC at instant `at`, in ms (e.g. +3,600,000 for Paris in winter). */
function offsetMs(at: number, timeZone: string): number {
  const w = wallClock(at, timeZone);
  return Date.UTC(w.y, w.mo - 1, w.d, w.h, w.mi, w.s) - Math.floor(at / 1000) * 1000;
}

/** Whether the local date at `at` is on or after the date whose UTC midnight is `dayUtc`. */
function onOrAfter(at: number, dayUtc: number, timeZone: string): boolean {
  const w = wallClock(at, timeZone);
  return Date.UTC(w.y, w.mo - 1, w.d) >= dayUtc;
}

/**
 * The first instant of the local date (y, mo, d). The offset is read twice: once near the
 * date, once at the candidate, so a DST change on either side of midnight lands right. Where
 * midnight itself does not exist (Santiago and Havana jump from 24:00 to 01:00), neither
 * candidate is on that date's midnight: the day starts at the jump, found by bisection to the
 * second. Without that, the previous day would end an hour early and its last hour would
 * belong to no window at all.
 */
function localMidnight(y: number, mo: number, d: number, timeZone: string): number {
  const asUtc = Date.UTC(y, mo - 1, d);
  const first = asUtc - offsetMs(asUtc, timeZone);
  const second = asUtc - offsetMs(first, timeZone);
  for (const c of first <= second ? [first, second] : [second, first]) {
    const w = wallClock(c, timeZone);
    if (Date.UTC(w.y, w.mo - 1, w.d, w.h, w.mi, w.s) === asUtc) return c;
  }
  // Invariant: `lo` is still on an earlier date, `hi` is on (or after) this one.
  let lo = Math.min(first, second);
  let hi = Math.max(first, second);
  if (onOrAfter(lo, asUtc, timeZone) || !onOrAfter(hi, asUtc, timeZone)) return Math.max(first, second);
  while (hi - lo > 1000) {
    const mid = lo + Math.floor((hi - lo) / 2000) * 1000;
    if (onOrAfter(mid, asUtc, timeZone)) hi = mid;
    else lo = mid;
  }
  return hi;
}

/**
 * The window containing `at` in `timeZone`. Hourly: the local clock hour (in zones with a
 * :30 or :45 offset it is not a UTC hour). Daily: the local calendar day, from local midnight
 * to the next one, so a day with a DST change lasts 23 or 25 hours.
 */
export function digestWindow(at: number, mode: DigestMode, timeZone: string): DigestWindow {
  const w = wallClock(at, timeZone);
  if (mode === "hourly") {
    const start = Math.floor(at / 1000) * 1000 - (w.mi * 60 + w.s) * 1000;
    return { start, end: start + 3_600_000 };
  }
  const next = new Date(Date.UTC(w.y, w.mo - 1, w.d + 1));
  return {
    start: localMidnight(w.y, w.mo, w.d, timeZone),
    end: localMidnight(next.getUTCFullYear(), next.getUTCMonth() + 1, next.getUTCDate(), timeZone),
  };
}
