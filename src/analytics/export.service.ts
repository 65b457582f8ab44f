import type { Deps } from "../platform/deps";
import { ApiError } from "../platform/errors";
import { archivedEvents, withoutErased } from "./archive";
import { type ExportedEvent, eventPages } from "./event-pages";
import type { ExportQuery } from "./schemas";
import { DAY_MS } from "./store";

/** An export holds one page and one day's ids at a time; the range bounds how long it streams. */
export const MAX_EXPORT_DAYS = 31;

const COLUMNS = [
  "id",
  "event_type",
  "user_id",
  "session_id",
  "page",
  "element",
  "source",
  "properties",
  "occurred_at",
  "received_at",
  "bot",
] as const;

export const EXPORT_CONTENT_TYPES = {
  ndjson: "application/x-ndjson",
  csv: "text/csv; charset=utf-8",
} as const;

/**
 * The events of [from, to) as a byte stream (docs/analytics.md, "Export"), day by day: the
 * day's archive object from R2 first, then the day's rows still in D1, page by page, skipping
 * ids the archive already gave (a purge interrupted between its write and its delete). The
 * range is checked before the stream starts, so a bad one is a 400, never a broken 200.
 */
export function exportEvents(
  deps: Pick<Deps, "analyticsDb" | "env">,
  q: ExportQuery,
): ReadableStream<Uint8Array> {
  if (q.from >= q.to) {
    throw new ApiError("VALIDATION_FAILED", "from must be before to", {
      details: [{ path: "from", message: "must be < to" }],
    });
  }
  if (q.to - q.from > MAX_EXPORT_DAYS * DAY_MS) {
    throw new ApiError("VALIDATION_FAILED", `an export covers at most ${MAX_EXPORT_DAYS} days`, {
      details: [{ path: "to", message: `at most ${MAX_EXPORT_DAYS} days after from` }],
    });
  }
  const encoder = new TextEncoder();
  const format = q.format === "csv" ? csvLine : ndjsonLine;
  const chunks = pages(deps, q.from, q.to);
  let header = q.format === "csv";
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (header) {
        header = false;
        controller.enqueue(encoder.encode(`${COLUMNS.join(",")}\r\n`));
        return;
      }
      const next = await chunks.next();
      if (next.done) controller.close();
      else controller.enqueue(encoder.encode(next.value.map(format).join("")));
    },
    async cancel() {
      await chunks.return(undefined);
    },
  });
}

async function* pages(deps: Pick<Deps, "analyticsDb" | "env">, from: number, to: number) {
  const inRange = (e: ExportedEvent) => e.occurred_at >= from && e.occurred_at < to;
  for (let day = Math.floor(from / DAY_MS); day * DAY_MS < to; day++) {
    const archived = new Set<string>();
    for await (const events of archivedEvents(deps.env.ANALYTICS_ARCHIVE, day)) {
      const kept = await withoutErased(deps.analyticsDb, events.filter(inRange));
      for (const e of kept) archived.add(e.id);
      if (kept.length > 0) yield kept;
    }
    const start = Math.max(from, day * DAY_MS);
    const end = Math.min(to, (day + 1) * DAY_MS);
    for await (const events of eventPages(deps.analyticsDb, start, end)) {
      const kept = archived.size === 0 ? events : events.filter((e) => !archived.has(e.id));
      if (kept.length > 0) yield kept;
    }
  }
}

const ndjsonLine = (e: ExportedEvent) => `${JSON.stringify(e)}\n`;

const csvLine = (e: ExportedEvent) =>
  `${COLUMNS.map((c) => csvField(c === "properties" ? (e.properties === null ? null : JSON.stringify(e.properties)) : e[c])).join(",")}\r\n`;

/**
 * Tab or CR first, or = + - @ after any leading whitespace: LibreOffice's "trim spaces" import
 * option (and others that trim) would strip the spaces and then run what follows as a formula.
 */
const FORMULA = /^(?:[\t\r]|\s*[=+\-@])/;

/**
 * RFC 4180: a field with a comma, a quote, CR or LF is quoted, quotes doubled; null is empty.
 * A text field a spreadsheet would run as a formula (FORMULA) gets the OWASP
 * CSV-injection treatment: a leading `'` inside a quoted field, so it opens as text.
 * Numbers (the timestamps) are never formulas and stay numbers, negative ones included.
 */
export function csvField(value: string | number | null): string {
  if (value === null) return "";
  if (typeof value === "number") return String(value);
  const s = FORMULA.test(value) ? `'${value}` : value;
  return s !== value || /[",\r\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
}
