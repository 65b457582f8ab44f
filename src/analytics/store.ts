import type { analyticsEvents } from "../db/schema/analytics";
import type { D1Client, Db } from "../platform/types";
import type { AePoint } from "./engine";

export type EventRow = typeof analyticsEvents.$inferInsert;

/**
 * Rows per JSON parameter, at most: a consumer batch (≤ 100 messages of ≤ 100 events) is split
 * into chunks, each staged by one statement.
 */
export const ROWS_PER_STATEMENT = 250;
/**
 * And bytes per JSON parameter, at most: D1 refuses a string over 2,000,000 bytes. 250 rows are
 * not always below it: a row's JSON carries its properties as escaped text (each quote twice as
 * long) and spells a control character of the page in six bytes, so a row a client may send is
 * up to about 13 KB and 250 of them 3.2 MB. Half the limit, so a chunk is never near it.
 */
export const MAX_PARAMETER_BYTES = 1_000_000;
const utf8 = new TextEncoder();

/** The chunks of `rows` and their JSON: ≤ ROWS_PER_STATEMENT rows and ≤ MAX_PARAMETER_BYTES each. */
function chunksOf(rows: JsonRow[]): Array<{ rows: JsonRow[]; json: string }> {
  const out: Array<{ rows: JsonRow[]; json: string }> = [];
  const add = (chunk: JsonRow[]) => {
    const json = JSON.stringify(chunk);
    // UTF-8 needs at most 3 bytes per UTF-16 code unit: only a large chunk is measured.
    const tooBig =
      json.length * 3 > MAX_PARAMETER_BYTES && utf8.encode(json).byteLength > MAX_PARAMETER_BYTES;
    if (!tooBig || chunk.length === 1) {
      out.push({ rows: chunk, json });
      return;
    }
    const half = Math.ceil(chunk.length / 2);
    add(chunk.slice(0, half));
    add(chunk.slice(half));
  };
  for (let i = 0; i < rows.length; i += ROWS_PER_STATEMENT) add(rows.slice(i, i + ROWS_PER_STATEMENT));
  return out;
}

export const DAY_MS = 86_400_000;
export const ACTIVITY_BUCKET_MS = 15 * 60_000;

/*
 * A batch stages its rows once, then every statement reads the stage. Each chunk of rows travels
 * as ONE JSON array parameter (json_each) into analytics_ingest_stage (migrations-analytics/0004);
 * the rollups and the insert then read typed columns. Before, each of five statements per chunk
 * carried the whole chunk again: a 10,000-event consumer batch sent the D1 binding 12 MB of JSON
 * for 2.5 MB of events, and its serialisation was the largest frame of the ingest profile
 * (BENCHMARKS.md, "Ingest"). The stage lives only inside the batch: D1 runs a batch as one
 * transaction on a single writer, the batch starts and ends by emptying it, and a failed batch
 * rolls it back with everything else, so no other write ever sees a staged row.
 * The rollups aggregate with the same rules the reports assume:
 *   sessions: server-recorded payment_completed excluded; first/last time, events,
 *             page views, interactions (button_click, feature_used);
 *   daily:    UTC day × type × page × element ("" for absent, NULLs never conflict);
 *   activity: 15-minute buckets;
 *   user days: signed-in users only.
 * Times are epoch ms ≥ 0, so SQLite's integer division equals Math.floor.
 * `keep` is decided when a row is staged, before anything of the batch is written: the id is not
 * stored yet and no erasure covers it. Rollups count only kept rows, so a redelivered queue
 * message or a retried server-side sink (keyed by the domain event id) counts nothing twice.
 * `erased`: an erasure tombstone covers the row (analytics_erasures: the user, or for anonymous
 * rows the session, erased at or after the event happened or was received). It is checked inside
 * the write itself, so an erasure that committed first always wins over a late write of the same
 * events (a queued batch, a retried payment sink).
 */
export const NOT_ERASED = `NOT EXISTS (SELECT 1 FROM analytics_erasures x
  WHERE x.erased_at >= MIN(value->>'at', value->>'received')
    AND (x.subject = 'u:' || (value->>'user') OR (value->>'user' IS NULL AND x.subject = 's:' || (value->>'session'))))`;

const STAGE = "analytics_ingest_stage";
export const CLEAR_STAGE = `DELETE FROM ${STAGE}`;
// A server-recorded payment is Stripe's truth, never bot traffic, whatever client names its session.
// Two rows with one id (two messages carrying one event): the first staged wins.
// Each row object is converted to JSONB once (`r`, MATERIALIZED so the planner cannot inline
// it back): on json_each's text `value` every ->> re-parses the object, about 15 times per row,
// and that parse was half of a consumer batch's SQLite time (`npm exec -- node
// bench/ingest-sql.mjs`: staging 13.1 -> 6.5 µs per event). jsonb() needs SQLite 3.45, and
// workerd's function allowlist has refused it on Durable Object SQLite before (workerd#4784);
// D1's documentation does not list it. So the text form stays, and insertJsonRows falls back to
// it when the database refuses jsonb() (a new binding object probes again: one failed batch).
/** The staging insert reading its row objects from `source` (a CTE or json_each itself). */
const stageFrom = (source: string) => `INSERT INTO ${STAGE}
  (id, type, user_id, session_id, page, element, source, props, at, received, bot, keep, erased)
  SELECT id, type, user_id, session_id, page, element, source, props, at, received, bot,
    NOT erased AND NOT EXISTS (SELECT 1 FROM analytics_events e WHERE e.id = j.id), erased
  FROM (SELECT value->>'id' AS id, value->>'type' AS type, value->>'user' AS user_id,
      value->>'session' AS session_id, value->>'page' AS page, value->>'element' AS element,
      value->>'source' AS source, value->>'props' AS props, value->>'at' AS at,
      value->>'received' AS received,
      CASE WHEN value->>'type' = 'payment_completed' THEN 0 ELSE COALESCE(value->>'bot', 0) END AS bot,
      NOT ${NOT_ERASED} AS erased
    FROM ${source}) j WHERE true
  ON CONFLICT DO NOTHING`;
export const STAGE_CHUNK = `WITH r AS MATERIALIZED (SELECT jsonb(value) AS value FROM json_each(?1))
  ${stageFrom("r")}`;
/** The same statement on json_each's text values: what a database without jsonb() runs. */
export const STAGE_CHUNK_TEXT = stageFrom("json_each(?1)");

/*
 * The database clients of this isolate that refused the JSONB form (per client, so a test's
 * refusing stand-in never changes the real binding's form). Module state is safe here: nothing
 * is done with a client across requests but this lookup; a new isolate probes again, at the
 * cost of one failed batch.
 */
const jsonbRefused = new WeakSet<D1Client>();
// Only a refusal naming jsonb: any other failed function fails the text form too, and matching
// it would run every such batch twice (and switch the form for nothing).
const JSONB_REFUSED = /(not authorized to use function|no such function):\s*jsonb\b/i;

/*
 * Bot filtering (bots.ts, docs/analytics.md "Bot filtering"): a row is bot traffic when its
 * message says so (ingest classified it) or when its session is already flagged. The session
 * upsert runs first and takes MAX(bot); FLAG_STAGED then flags every staged client row of a
 * flagged session (after the moves below, which read the message flags), so the statements
 * after it read the final flag from the stage.
 */
const UPSERT_SESSIONS = `INSERT INTO analytics_sessions
  (session_id, first_at, last_at, events, page_views, interactions, bot)
  SELECT session_id, MIN(at), MAX(at), COUNT(*), SUM(type = 'page_view'),
    SUM(type IN ('button_click', 'feature_used')), MAX(bot)
  FROM ${STAGE} WHERE keep AND type <> 'payment_completed'
  GROUP BY session_id
  ON CONFLICT (session_id) DO UPDATE SET
    first_at = MIN(analytics_sessions.first_at, excluded.first_at),
    last_at = MAX(analytics_sessions.last_at, excluded.last_at),
    events = analytics_sessions.events + excluded.events,
    page_views = analytics_sessions.page_views + excluded.page_views,
    interactions = analytics_sessions.interactions + excluded.interactions,
    bot = MAX(analytics_sessions.bot, excluded.bot)`;
const CLIENT_ROW = "event_type <> 'payment_completed'";
const FLAG_STAGED = `UPDATE ${STAGE} SET bot = 1 WHERE bot = 0 AND type <> 'payment_completed'
  AND EXISTS (SELECT 1 FROM analytics_sessions s WHERE s.session_id = ${STAGE}.session_id AND s.bot = 1)`;

/*
 * Only a batch carrying a row the message flags can leave human rows in a flagged session:
 * every other row of a flagged session is stored flagged (FLAG_STAGED), and each batch is one
 * transaction. So after every batch no flagged session has a human row, the steps below run only
 * for batches with a flagged row (statementsFor), and look only at those rows' sessions.
 */
const FLAGGED_SESSIONS = `SELECT s.session_id FROM analytics_sessions s
  WHERE s.session_id IN (SELECT session_id FROM ${STAGE} WHERE bot = 1) AND s.bot = 1`;
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

const UPSERT_DAILY = `INSERT INTO analytics_daily (day, event_type, page, element, bot, events)
  SELECT at / ${DAY_MS}, type, COALESCE(page, ''), COALESCE(element, ''), bot, COUNT(*)
  FROM ${STAGE} WHERE keep
  GROUP BY 1, 2, 3, 4, 5
  ON CONFLICT (day, event_type, page, element, bot) DO UPDATE SET
    events = analytics_daily.events + excluded.events`;

const UPSERT_ACTIVITY = `INSERT INTO analytics_activity (bucket, bot, events)
  SELECT at / ${ACTIVITY_BUCKET_MS}, bot, COUNT(*) FROM ${STAGE} WHERE keep
  GROUP BY 1, 2
  ON CONFLICT (bucket, bot) DO UPDATE SET events = analytics_activity.events + excluded.events`;

const INSERT_USER_DAYS = `INSERT INTO analytics_user_days (user_id, day, bot)
  SELECT DISTINCT user_id, at / ${DAY_MS}, bot FROM ${STAGE} WHERE user_id IS NOT NULL AND NOT erased
  ON CONFLICT DO NOTHING`;

const INSERT_EVENTS = `INSERT INTO analytics_events
  (id, event_type, user_id, session_id, page, element, source, properties, occurred_at, received_at, bot)
  SELECT id, type, user_id, session_id, page, element, source, props, at, received, bot
  FROM ${STAGE} WHERE keep
  ON CONFLICT DO NOTHING`;
// Only callers that need the ids get them back: 10,000 ids per consumer batch were the second
// largest cost of its D1 round trip (the response's JSON), and the consumer never reads them.
const INSERT_EVENTS_RETURNING = `${INSERT_EVENTS} RETURNING id`;

/**
 * The statements after the staging of a batch's chunks, in order: the session upsert first, then
 * the moves of stored rows (only when a row of the batch is flagged: seven more), the flag of
 * the staged rows, then the new rows. Exported for the test that pins the human path's cost.
 */
export function statementsFor(rows: readonly JsonRow[], ids = false): readonly string[] {
  const insert = ids ? INSERT_EVENTS_RETURNING : INSERT_EVENTS;
  const flags = rows.some((r) => r.bot === 1);
  // The moves before FLAG_STAGED: until then a staged row has bot = 1 only when its message
  // flags it, so FLAGGED_SESSIONS names only those sessions. After it, every session flagged
  // earlier that this batch carries would be named too, and each of the seven moves would
  // re-read all of its stored rows (none of them left to move) whenever any row is flagged.
  return [
    UPSERT_SESSIONS,
    ...(flags ? RECLASSIFY : []),
    FLAG_STAGED,
    UPSERT_DAILY,
    UPSERT_ACTIVITY,
    INSERT_USER_DAYS,
    insert,
  ];
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
  return (await insertJsonRows(db, rows.map(toJsonRow), { ids: true })).ids;
}

type InsertOptions = {
  /** Statements per chunk after the batch's events, in the same batch (the consumer's UTM touches). */
  more?: (d1: D1Client, chunk: JsonRow[]) => D1PreparedStatement[];
  /** Return the inserted ids (else `ids` is empty and D1 sends none back). */
  ids?: boolean;
};

/**
 * insertEvents for rows already in their JSON form (the ingest consumer's messages): the chunks
 * staged, the statements of `statementsFor`, the `more` of each chunk, the stage emptied.
 */
export async function insertJsonRows(
  db: Db,
  rows: JsonRow[],
  { more, ids = false }: InsertOptions = {},
): Promise<{ ids: string[] }> {
  if (rows.length === 0) return { ids: [] };
  if (jsonbRefused.has(db.$client)) return insertStaged(db, rows, STAGE_CHUNK_TEXT, { more, ids });
  try {
    return await insertStaged(db, rows, STAGE_CHUNK, { more, ids });
  } catch (err) {
    // A batch is one transaction and a refused function fails it before anything is written,
    // so running it again is safe (and a re-run row would be skipped as already stored).
    if (!(err instanceof Error) || !JSONB_REFUSED.test(err.message)) throw err;
    const result = await insertStaged(db, rows, STAGE_CHUNK_TEXT, { more, ids });
    jsonbRefused.add(db.$client);
    return result;
  }
}

async function insertStaged(
  db: Db,
  rows: JsonRow[],
  stage: string,
  { more, ids = false }: InsertOptions,
): Promise<{ ids: string[] }> {
  const d1 = db.$client;
  const chunks = chunksOf(rows);
  // Emptied first as well: a stage row left by anything else would make a new row look staged.
  const statements: D1PreparedStatement[] = [d1.prepare(CLEAR_STAGE)];
  for (const chunk of chunks) statements.push(d1.prepare(stage).bind(chunk.json));
  for (const q of statementsFor(rows, ids)) statements.push(d1.prepare(q));
  // The events insert is the last of statementsFor's.
  const insertAt = statements.length - 1;
  if (more) for (const chunk of chunks) statements.push(...more(d1, chunk.rows));
  statements.push(d1.prepare(CLEAR_STAGE));
  const results = await d1.batch<{ id: string }>(statements);
  return { ids: ids ? (results[insertAt]?.results ?? []).map((x) => x.id) : [] };
}

export function toAePoint(r: EventRow): AePoint {
  // Revenue fields come from the server's payment events only, never a client's properties.
  const props = r.eventType === "payment_completed" ? (r.properties ?? {}) : {};
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
