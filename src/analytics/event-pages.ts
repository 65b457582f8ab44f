import type { Db } from "../platform/types";

/** One raw event as the archive and the export write it: snake_case columns, properties parsed. */
export type ExportedEvent = {
  id: string;
  event_type: string;
  user_id: string | null;
  session_id: string;
  page: string | null;
  element: string | null;
  source: string | null;
  properties: unknown;
  occurred_at: number;
  received_at: number;
  /** 1 when classified as bot traffic (docs/analytics.md, "Bot filtering"); 0 in older archive lines. */
  bot: 0 | 1;
};

/** Rows per D1 read: one page is a bounded piece of memory, whatever the range holds. */
export const EVENT_PAGE_ROWS = 1000;

type StoredRow = Omit<ExportedEvent, "properties"> & { properties: string | null };

/**
 * Raw events of [from, to) in (occurred_at, id) order, one page at a time: keyset paging over
 * analytics_time_idx, so page n costs the same as page 1 and nothing holds the whole range.
 */
export async function* eventPages(
  db: Db,
  from: number,
  to: number,
  pageRows = EVENT_PAGE_ROWS,
): AsyncGenerator<ExportedEvent[]> {
  let after = null as { at: number; id: string } | null;
  for (;;) {
    const stmt = db.$client.prepare(
      `SELECT id, event_type, user_id, session_id, page, element, source, properties, occurred_at, received_at, bot
       FROM analytics_events
       WHERE occurred_at >= ?1 AND occurred_at < ?2 AND (?3 IS NULL OR (occurred_at, id) > (?3, ?4))
       ORDER BY occurred_at, id LIMIT ?5`,
    );
    const { results }: { results: StoredRow[] } = await stmt
      .bind(from, to, after?.at ?? null, after?.id ?? "", pageRows)
      .all<StoredRow>();
    if (results.length === 0) return;
    yield results.map((r) => ({ ...r, properties: r.properties === null ? null : JSON.parse(r.properties) }));
    const last: StoredRow | undefined = results[results.length - 1];
    if (!last || results.length < pageRows) return;
    after = { at: last.occurred_at, id: last.id };
  }
}
