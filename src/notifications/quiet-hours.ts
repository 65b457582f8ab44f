/**
 * Quiet hours: a daily window in the user's IANA time zone during which non-critical
 * pushes are held. Windows may wrap midnight (22:00–07:00).
 */
export type QuietHours = { start: string; end: string; timeZone: string };

export const HH_MM = /^([01]\d|2[0-3]):[0-5]\d$/;

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatterFor(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat("en-US", {
      timeZone,
      hourCycle: "h23",
      year: "numeric",
      month: "2-digit",
      day: "2-digit",
      hour: "2-digit",
      minute: "2-digit",
      second: "2-digit",
    });
    formatters.set(timeZone, f);
  }
  return f;
}

/** The local wall clock in `timeZone` at instant `at` (month 1-12). */
export function wallClock(at: number, timeZone: string) {
  const p: Record<string, number> = {};
  for (const part of formatterFor(timeZone).formatToParts(new Date(at))) p[part.type] = Number(part.value);
  return {
    y: p.year ?? 1970,
    mo: p.month ?? 1,
    d: p.day ?? 1,
    h: p.hour ?? 0,
    mi: p.minute ?? 0,
    s: p.second ?? 0,
  };
}

/** True for names the runtime's ICU data knows (e.g. "Europe/Paris"); Intl throws on others. */
export function isValidTimeZone(timeZone: string): boolean {
  if (timeZone.length === 0 || timeZone.length > 64) return false;
  try {
    formatterFor(timeZone);
    return true;
  } catch {
    return false;
  }
}

const minutesOf = (hhmm: string): number => Number(hhmm.slice(0, 2)) * 60 + Number(hhmm.slice(3, 5));

/** Seconds since local midnight in `timeZone` at instant `at`. */
export function localSecondOfDay(at: number, timeZone: string): number {
  const w = wallClock(at, timeZone);
  return w.h * 3600 + w.mi * 60 + w.s;
}

/**
 * When a push created at `at` may be sent: null when outside the window (send now),
 * otherwise the instant the window ends. Computed from the local wall clock, so a DST
 * change during the window shifts the release by at most an hour.
 */
export function heldUntil(at: number, qh: QuietHours): number | null {
  const start = minutesOf(qh.start) * 60;
  const end = minutesOf(qh.end) * 60;
  if (start === end) return null;
  const t = localSecondOfDay(at, qh.timeZone);
  const inWindow = start < end ? t >= start && t < end : t >= start || t < end;
  if (!inWindow) return null;
  const secondsLeft = (end - t + 86_400) % 86_400;
  // Round down to the whole second so the release is exactly the local end minute.
  return Math.floor(at / 1000) * 1000 + secondsLeft * 1000;
}
