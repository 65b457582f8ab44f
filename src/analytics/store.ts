import type { analyticsEvents } from "../db/schema/analytics";
import type { D1Client, Db } from "../platform/types";
import type { AePoint } from "./engine";

export type EventRow = typeof analyticsEvents.$inferInsert;

/**
 * Rows per JSON parameter. A consumer batch (≤ 100 messages of ≤ 100 events) is split so one
 * parameter stays far below D1's 2 MB value limit even with 4 KiB of properties per event.
 */
export const ROWS_PER_STATEMENT = 250;

export const DAY_MS = 86_400_000;
export const ACTIVITY_BUCKET_MS = 15 * 60_000;

/*
 * Each statement reads the whole chunk from one JSON array parameter (json_each), so a
 * batch costs five statements whatever its size, instead of one multi-row INSERT per
 * 10 rows plus one upsert per ≤ 50 rollup keys, each built by drizzle per request. The
 * rollups aggregate in SQL with the same rules the reports assume:
 *   sessions: server-recorded payment_completed excluded; first/last time, events,
 *             page views, interactions (button_click, feature_used);
 *   daily:    UTC day × type × page × element ("" for absent, NULLs never conflict);
 *   activity: 15-minute buckets;
 *   user days: signed-in users only.
 * Times are epoch ms ≥ 0, so SQLite's integer division equals Math.floor.
 * The rollups run BEFORE the insert in the same batch (one transaction) and count only rows
 * whose id is not stored yet, so a redelivered queue message or a retried server-side sink
 * (keyed by the domain event id) counts nothing twice: rollups follow the rows actually inserted.
 * Every statement also skips rows an erasure tombstone covers (analytics_erasures: the user,
 * or for anonymous rows the session, erased at or after the event happened or was received):
 * checked inside the write itself, so an erasure that committed first always wins over a late
 * write of the same events (a queued batch, a retried payment sink).
 */
export const NOT_ERASED = `NOT EXISTS (SELECT 1 FROM analytics_erasures x
  WHERE x.erased_at >= MIN(value->>'at', value->>'received')
    AND (x.subject = 'u:' || (value->>'user') OR (value->>'user' IS NULL AND x.subject = 's:' || (value->>'session'))))`;
const KEEP = `NOT EXISTS (SELECT 1 FROM analytics_events e WHERE e.id = value->>'id') AND ${NOT_ERASED}`;

const INSERT_EVENTS = `INSERT INTO analytics_events
  (id, event_type, user_id, session_id, page, element, source, properties, occurred_at, received_at)
  SELECT value->>'id', value->>'type', value->>'user', value->>'session', value->>'page',
    value->>'element', value->>'source', value->>'props', value->>'at', value->>'received'
  FROM json_each(?1) WHERE ${NOT_ERASED}
  ON CONFLICT DO NOTHING
  RETURNING id`;

const UPSERT_SESSIONS = `INSERT INTO analytics_sessions
  (session_id, first_at, last_at, events, page_views, interactions)
  SELECT value->>'session', MIN(value->>'at'), MAX(value->>'at'), COUNT(*),
    SUM(value->>'type' = 'page_view'), SUM(value->>'type' IN ('button_click', 'feature_used'))
  FROM json_each(?1) WHERE value->>'type' <> 'payment_completed' AND ${KEEP}
  GROUP BY value->>'session'
  ON CONFLICT (session_id) DO UPDATE SET
    first_at = MIN(analytics_sessions.first_at, excluded.first_at),
    last_at = MAX(analytics_sessions.last_at, excluded.last_at),
    events = analytics_sessions.events + excluded.events,
    page_views = analytics_sessions.page_views + excluded.page_views,
    interactions = analytics_sessions.interactions + excluded.interactions`;

const UPSERT_DAILY = `INSERT INTO analytics_daily (day, event_type, page, element, events)
  SELECT value->>'at' / ${DAY_MS}, value->>'type', COALESCE(value->>'page', ''),
    COALESCE(value->>'element', ''), COUNT(*)
  FROM json_each(?1) WHERE ${KEEP}
  GROUP BY 1, 2, 3, 4
  ON CONFLICT (day, event_type, page, element) DO UPDATE SET
    events = analytics_daily.events + excluded.events`;

const UPSERT_ACTIVITY = `INSERT INTO analytics_activity (bucket, events)
  SELECT value->>'at' / ${ACTIVITY_BUCKET_MS}, COUNT(*)
  FROM json_each(?1) WHERE ${KEEP}
  GROUP BY 1
  ON CONFLICT (bucket) DO UPDATE SET events = analytics_activity.events + excluded.events`;

const INSERT_USER_DAYS = `INSERT INTO analytics_user_days (user_id, day)
  SELECT DISTINCT value->>'user', value->>'at' / ${DAY_MS}
  FROM json_each(?1) WHERE value->>'user' IS NOT NULL AND ${NOT_ERASED}
  ON CONFLICT DO NOTHING`;

const STATEMENTS = [UPSERT_SESSIONS, UPSERT_DAILY, UPSERT_ACTIVITY, INSERT_USER_DAYS, INSERT_EVENTS];

/** One event as the D1 statements (and the ingest queue's messages) carry it. */
export type JsonRow = ReturnType<typeof toJsonRow>;

/** One JSON object per row; properties travel as their JSON text, stored verbatim. */
export function toJsonRow(r: EventRow) {
  return {
    id: r.id,
    type: r.eventType,
    user: r.userId ?? null,
    session: r.sessionId,
    page: r.page ?? null,
    element: r.element ?? null,
    source: r.source ?? null,
    props: r.properties === null || r.properties === undefined ? null : JSON.stringify(r.properties),
    at: r.occurredAt,
    received: r.receivedAt,
  };
}

/**
 * Appends rows and updates the rollups, all in one db.batch (one round trip, all or nothing).
 * Returns the ids it inserted. Callers pass fresh ids, or for server events ids derived from
 * the domain event id: a row already stored is skipped, rollups included, and so is a row an
 * erasure covers.
 */
export async function insertEvents(db: Db, rows: EventRow[]): Promise<string[]> {
  return insertJsonRows(db, rows.map(toJsonRow));
}

/**
 * insertEvents for rows already in their JSON form (the ingest consumer's messages). `more`
 * adds statements per chunk after its events, in the same batch (the consumer's UTM touches).
 */
export async function insertJsonRows(
  db: Db,
  rows: JsonRow[],
  more?: (d1: D1Client, chunk: JsonRow[]) => D1PreparedStatement[],
): Promise<string[]> {
  if (rows.length === 0) return [];
  const d1 = db.$client;
  const statements: D1PreparedStatement[] = [];
  const eventInserts = new Set<number>();
  for (let i = 0; i < rows.length; i += ROWS_PER_STATEMENT) {
    const chunk = rows.slice(i, i + ROWS_PER_STATEMENT);
    const payload = JSON.stringify(chunk);
    for (const q of STATEMENTS) {
      if (q === INSERT_EVENTS) eventInserts.add(statements.length);
      statements.push(d1.prepare(q).bind(payload));
    }
    if (more) statements.push(...more(d1, chunk));
  }
  const results = await d1.batch<{ id: string }>(statements);
  return results.flatMap((r, i) => (eventInserts.has(i) ? r.results.map((x) => x.id) : []));
}

export function toAePoint(r: EventRow): AePoint {
  const props = r.properties ?? {};
  return {
    eventType: r.eventType,
    userId: r.userId ?? null,
    sessionId: r.sessionId,
    page: r.page ?? null,
    element: r.element ?? null,
    source: r.source ?? null,
    currency: typeof props.currency === "string" ? props.currency : null,
    amount: typeof props.amount === "number" ? props.amount : null,
    occurredAt: r.occurredAt,
  };
}
