import type { analyticsEvents } from "../db/schema/analytics";
import type { Db } from "../platform/types";
import type { AePoint } from "./engine";

export type EventRow = typeof analyticsEvents.$inferInsert;

/**
 * Rows per JSON parameter. An ingest batch (≤ 100 events, ≤ 256 KiB) is always one chunk;
 * larger callers (tests, imports) are split so one parameter stays far below D1's 2 MB
 * value limit even with 4 KiB of properties per event.
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
 * whose id is not stored yet, so re-sending rows already stored (a retried server-side sink,
 * keyed by the domain event id) counts nothing twice; user days are idempotent by key anyway.
 */
const IS_NEW = "NOT EXISTS (SELECT 1 FROM analytics_events e WHERE e.id = value->>'id')";

const INSERT_EVENTS = `INSERT INTO analytics_events
  (id, event_type, user_id, session_id, page, element, source, properties, occurred_at, received_at)
  SELECT value->>'id', value->>'type', value->>'user', value->>'session', value->>'page',
    value->>'element', value->>'source', value->>'props', value->>'at', value->>'received'
  FROM json_each(?1) WHERE true
  ON CONFLICT DO NOTHING
  RETURNING id`;

const UPSERT_SESSIONS = `INSERT INTO analytics_sessions
  (session_id, first_at, last_at, events, page_views, interactions)
  SELECT value->>'session', MIN(value->>'at'), MAX(value->>'at'), COUNT(*),
    SUM(value->>'type' = 'page_view'), SUM(value->>'type' IN ('button_click', 'feature_used'))
  FROM json_each(?1) WHERE value->>'type' <> 'payment_completed' AND ${IS_NEW}
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
  FROM json_each(?1) WHERE ${IS_NEW}
  GROUP BY 1, 2, 3, 4
  ON CONFLICT (day, event_type, page, element) DO UPDATE SET
    events = analytics_daily.events + excluded.events`;

const UPSERT_ACTIVITY = `INSERT INTO analytics_activity (bucket, events)
  SELECT value->>'at' / ${ACTIVITY_BUCKET_MS}, COUNT(*)
  FROM json_each(?1) WHERE ${IS_NEW}
  GROUP BY 1
  ON CONFLICT (bucket) DO UPDATE SET events = analytics_activity.events + excluded.events`;

const INSERT_USER_DAYS = `INSERT INTO analytics_user_days (user_id, day)
  SELECT DISTINCT value->>'user', value->>'at' / ${DAY_MS}
  FROM json_each(?1) WHERE value->>'user' IS NOT NULL
  ON CONFLICT DO NOTHING`;

const STATEMENTS = [UPSERT_SESSIONS, UPSERT_DAILY, UPSERT_ACTIVITY, INSERT_USER_DAYS, INSERT_EVENTS];

/**
 * The per-session daily byte quota, first in the same batch: the table's CHECK (bytes <= cap)
 * fails an upsert past the cap, which rolls back the whole batch, so the quota and the events
 * are written together or not at all, and concurrent batches of one session serialise on its
 * row (D1 runs one write at a time): no check-then-act. A new row over the cap fails the same way.
 */
const UPSERT_QUOTA = `INSERT INTO analytics_ingest_quota (session_id, day, bytes, cap)
  SELECT value->>'session', ?2, SUM(value->>'bytes'), ?3
  FROM json_each(?1) WHERE true
  GROUP BY value->>'session'
  ON CONFLICT (session_id, day) DO UPDATE SET
    bytes = analytics_ingest_quota.bytes + excluded.bytes, cap = excluded.cap`;

/** The CHECK constraint's name, which D1 puts in the error when the quota refuses a batch. */
const QUOTA_CONSTRAINT = "analytics_quota_cap";

/** A batch refused by the daily byte quota of one of its sessions; nothing of it was written. */
export class IngestQuotaExceeded extends Error {
  override name = "IngestQuotaExceeded";
}

export type IngestQuota = { day: number; capBytes: number };

const encoder = new TextEncoder();

/** One JSON object per row; properties travel as their JSON text, stored verbatim. */
function toJsonRow(r: EventRow) {
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
 * Appends rows and updates the rollups, all in one db.batch (one round trip, all or
 * nothing); with a quota, the sessions' daily byte counters too (IngestQuotaExceeded when one
 * would pass its cap, and then nothing is written). Returns the ids it inserted. Callers pass
 * fresh ids, or for server events ids derived from the domain event id: a row already stored
 * is skipped, rollups included.
 */
export async function insertEvents(db: Db, rows: EventRow[], quota?: IngestQuota): Promise<string[]> {
  if (rows.length === 0) return [];
  const d1 = db.$client;
  const statements: D1PreparedStatement[] = [];
  // Which statements insert events (RETURNING id): the quota upserts shift the positions.
  const eventInserts = new Set<number>();
  for (let i = 0; i < rows.length; i += ROWS_PER_STATEMENT) {
    const chunk = rows.slice(i, i + ROWS_PER_STATEMENT).map(toJsonRow);
    if (quota) {
      // A row's size is its stored JSON form: what the session costs the database.
      const sized = chunk.map((r) => ({
        session: r.session,
        bytes: encoder.encode(JSON.stringify(r)).length,
      }));
      statements.push(d1.prepare(UPSERT_QUOTA).bind(JSON.stringify(sized), quota.day, quota.capBytes));
    }
    const payload = JSON.stringify(chunk);
    for (const q of STATEMENTS) {
      if (q === INSERT_EVENTS) eventInserts.add(statements.length);
      statements.push(d1.prepare(q).bind(payload));
    }
  }
  let results: D1Result<{ id: string }>[];
  try {
    results = await d1.batch<{ id: string }>(statements);
  } catch (err) {
    if (quota && err instanceof Error && String(err.message).includes(QUOTA_CONSTRAINT)) {
      throw new IngestQuotaExceeded("daily byte quota exceeded", { cause: err });
    }
    throw err;
  }
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
