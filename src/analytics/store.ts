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
 * batch costs a fixed number of statements per chunk whatever its size, instead of one multi-row INSERT per
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

/*
 * Bot filtering (bots.ts, docs/analytics.md "Bot filtering"): a row is bot traffic when its
 * message says so (ingest classified it) or when its session is already flagged. The session
 * upsert runs first and takes MAX(bot), so a flag in this batch reaches every row of the
 * session written by the statements after it.
 */
// A server-recorded payment is Stripe's truth, never bot traffic, whatever client names its session.
const BOT_OF = `CASE WHEN value->>'type' = 'payment_completed' THEN 0 ELSE
  MAX(COALESCE(value->>'bot', 0), COALESCE((SELECT s.bot FROM analytics_sessions s
  WHERE s.session_id = value->>'session'), 0)) END`;
/*
 * Only a chunk carrying a row the message flags can leave human rows in a flagged session:
 * every other row of a flagged session is stored flagged (BOT_OF), and each batch is one
 * transaction. So after every batch no flagged session has a human row, the steps below run only
 * for chunks with a flagged row (statementsFor), and look only at those rows' sessions.
 */
const BATCH_SESSIONS = `SELECT value->>'session' FROM json_each(?1) WHERE value->>'bot' = 1`;
const FLAGGED_SESSIONS = `SELECT s.session_id FROM analytics_sessions s
  WHERE s.session_id IN (${BATCH_SESSIONS}) AND s.bot = 1`;
const CLIENT_ROW = "event_type <> 'payment_completed'";
/*
 * Stored human rows of a session this batch (or an earlier one) flagged: a session flagged by a
 * later batch flags its earlier events too. Their rollup counts move from bot = 0 to bot = 1,
 * then the rows are updated, so a second pass (a redelivery) finds nothing left to move.
 */
const MOVED = `moved AS (SELECT e.occurred_at, e.event_type, e.page, e.element, e.user_id
  FROM analytics_events e WHERE e.session_id IN (${FLAGGED_SESSIONS}) AND e.bot = 0 AND ${CLIENT_ROW})`;
const NOW_BOT = `SELECT e.user_id, e.occurred_at FROM analytics_events e
  WHERE e.session_id IN (${FLAGGED_SESSIONS}) AND e.bot = 1`;
const MOVE_DAILY = `WITH ${MOVED}
  INSERT INTO analytics_daily (day, event_type, page, element, bot, events)
  SELECT d, t, p, el, b, SUM(n) FROM (
    SELECT occurred_at / ${DAY_MS} AS d, event_type AS t, COALESCE(page, '') AS p,
      COALESCE(element, '') AS el, 0 AS b, -1 AS n FROM moved
    UNION ALL SELECT occurred_at / ${DAY_MS}, event_type, COALESCE(page, ''), COALESCE(element, ''), 1, 1
      FROM moved) WHERE true
  GROUP BY 1, 2, 3, 4, 5
  ON CONFLICT (day, event_type, page, element, bot) DO UPDATE SET events = analytics_daily.events + excluded.events`;
const MOVE_ACTIVITY = `WITH ${MOVED}
  INSERT INTO analytics_activity (bucket, bot, events)
  SELECT k, b, SUM(n) FROM (
    SELECT occurred_at / ${ACTIVITY_BUCKET_MS} AS k, 0 AS b, -1 AS n FROM moved
    UNION ALL SELECT occurred_at / ${ACTIVITY_BUCKET_MS}, 1, 1 FROM moved) WHERE true
  GROUP BY 1, 2
  ON CONFLICT (bucket, bot) DO UPDATE SET events = analytics_activity.events + excluded.events`;
const MOVE_USER_DAYS = `WITH ${MOVED}
  INSERT INTO analytics_user_days (user_id, day, bot)
  SELECT DISTINCT user_id, occurred_at / ${DAY_MS}, 1 FROM moved WHERE user_id IS NOT NULL
  ON CONFLICT DO NOTHING`;
const FLAG_EVENTS = `UPDATE analytics_events SET bot = 1
  WHERE session_id IN (${FLAGGED_SESSIONS}) AND bot = 0 AND ${CLIENT_ROW}`;
// A human user-day stays while another human event of that user and day does.
const DROP_USER_DAYS = `DELETE FROM analytics_user_days AS d
  WHERE d.bot = 0 AND (d.user_id, d.day) IN (SELECT user_id, occurred_at / ${DAY_MS} FROM (${NOW_BOT}) WHERE user_id IS NOT NULL)
    AND NOT EXISTS (SELECT 1 FROM analytics_events h WHERE h.user_id = d.user_id AND h.bot = 0
      AND h.occurred_at >= d.day * ${DAY_MS} AND h.occurred_at < (d.day + 1) * ${DAY_MS})`;
// Only the days and buckets a move touched: a full scan for zero rows would cost every batch.
const DROP_EMPTY_DAILY = `DELETE FROM analytics_daily
  WHERE bot = 0 AND events <= 0 AND day IN (SELECT occurred_at / ${DAY_MS} FROM (${NOW_BOT}))`;
const DROP_EMPTY_ACTIVITY = `DELETE FROM analytics_activity
  WHERE bot = 0 AND events <= 0 AND bucket IN (SELECT occurred_at / ${ACTIVITY_BUCKET_MS} FROM (${NOW_BOT}))`;
const RECLASSIFY = [
  MOVE_DAILY,
  MOVE_ACTIVITY,
  MOVE_USER_DAYS,
  FLAG_EVENTS,
  DROP_USER_DAYS,
  DROP_EMPTY_DAILY,
  DROP_EMPTY_ACTIVITY,
];

const INSERT_EVENTS = `INSERT INTO analytics_events
  (id, event_type, user_id, session_id, page, element, source, properties, occurred_at, received_at, bot)
  SELECT value->>'id', value->>'type', value->>'user', value->>'session', value->>'page',
    value->>'element', value->>'source', value->>'props', value->>'at', value->>'received', ${BOT_OF}
  FROM json_each(?1) WHERE ${NOT_ERASED}
  ON CONFLICT DO NOTHING
  RETURNING id`;

const UPSERT_SESSIONS = `INSERT INTO analytics_sessions
  (session_id, first_at, last_at, events, page_views, interactions, bot)
  SELECT value->>'session', MIN(value->>'at'), MAX(value->>'at'), COUNT(*),
    SUM(value->>'type' = 'page_view'), SUM(value->>'type' IN ('button_click', 'feature_used')),
    MAX(COALESCE(value->>'bot', 0))
  FROM json_each(?1) WHERE value->>'type' <> 'payment_completed' AND ${KEEP}
  GROUP BY value->>'session'
  ON CONFLICT (session_id) DO UPDATE SET
    first_at = MIN(analytics_sessions.first_at, excluded.first_at),
    last_at = MAX(analytics_sessions.last_at, excluded.last_at),
    events = analytics_sessions.events + excluded.events,
    page_views = analytics_sessions.page_views + excluded.page_views,
    interactions = analytics_sessions.interactions + excluded.interactions,
    bot = MAX(analytics_sessions.bot, excluded.bot)`;

const UPSERT_DAILY = `INSERT INTO analytics_daily (day, event_type, page, element, bot, events)
  SELECT value->>'at' / ${DAY_MS}, value->>'type', COALESCE(value->>'page', ''),
    COALESCE(value->>'element', ''), ${BOT_OF}, COUNT(*)
  FROM json_each(?1) WHERE ${KEEP}
  GROUP BY 1, 2, 3, 4, 5
  ON CONFLICT (day, event_type, page, element, bot) DO UPDATE SET
    events = analytics_daily.events + excluded.events`;

const UPSERT_ACTIVITY = `INSERT INTO analytics_activity (bucket, bot, events)
  SELECT value->>'at' / ${ACTIVITY_BUCKET_MS}, ${BOT_OF}, COUNT(*)
  FROM json_each(?1) WHERE ${KEEP}
  GROUP BY 1, 2
  ON CONFLICT (bucket, bot) DO UPDATE SET events = analytics_activity.events + excluded.events`;

const INSERT_USER_DAYS = `INSERT INTO analytics_user_days (user_id, day, bot)
  SELECT DISTINCT value->>'user', value->>'at' / ${DAY_MS}, ${BOT_OF}
  FROM json_each(?1) WHERE value->>'user' IS NOT NULL AND ${NOT_ERASED}
  ON CONFLICT DO NOTHING`;

const INSERT_NEW = [UPSERT_DAILY, UPSERT_ACTIVITY, INSERT_USER_DAYS, INSERT_EVENTS];

/**
 * The statements for one chunk, in order: the session flag first, then the moves of stored rows
 * (only when the chunk flags a row: five statements for human traffic, twelve for bots), then the
 * new rows. Exported for the test that pins the human path's cost.
 */
export function statementsFor(chunk: readonly JsonRow[]): readonly string[] {
  const flags = chunk.some((r) => r.bot === 1);
  return flags ? [UPSERT_SESSIONS, ...RECLASSIFY, ...INSERT_NEW] : [UPSERT_SESSIONS, ...INSERT_NEW];
}

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
    bot: (r.bot === 1 ? 1 : 0) as 0 | 1,
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
    for (const q of statementsFor(chunk)) {
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
    bot: r.bot === 1,
  };
}
