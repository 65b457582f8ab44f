import type { DigestMode } from "../db/schema";
import { wallClock } from "./quiet-hours";

/** A digest window: [start, end) in epoch ms. It is identified by its start instant. */
export type DigestWindow = { start: number; end: number };

/** Local wall clock minus UTC at instant `at`, in ms (e.g. +3,600,000 for Paris in winter). */
function offsetMs(at: number, timeZone: string): number {
  const w = wallClock(at, timeZone);
  return Date.UTC(w.y, w.mo - 1, w.d, w.h, w.mi, w.s) - Math.floor(at / 1000) * 1000;
}

/**
 * The instant local midnight starts the date (y, mo, d). The offset is read twice: once near
 * the date, once at the candidate, so a DST change on either side of midnight lands right.
 */
function localMidnight(y: number, mo: number, d: number, timeZone: string): number {
  const asUtc = Date.UTC(y, mo - 1, d);
  const first = asUtc - offsetMs(asUtc, timeZone);
  const second = offsetMs(first, timeZone);
  return asUtc - second === first ? first : asUtc - second;
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
