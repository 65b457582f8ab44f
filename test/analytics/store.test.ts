import { env } from "cloudflare:workers";
import { sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { MAX_PROPERTIES_BYTES } from "../../src/analytics/schemas";
import { type EventRow, insertEvents, ROWS_PER_STATEMENT } from "../../src/analytics/store";
import type { AnalyticsEventType } from "../../src/db/schema/analytics";
import type { D1Client, Db } from "../../src/platform/types";
import { DAY, db, MIN } from "./helpers";

// Integer literals: D1 binds JS numbers as REAL, and REAL division would not floor.
const PER_DAY = sql.raw(String(DAY));
const PER_BUCKET = sql.raw(String(15 * MIN));

const TYPES: AnalyticsEventType[] = [
  "page_view",
  "button_click",
  "feature_used",
  "payment_completed",
  "session_started",
];

/**
 * A week of its own in 2040–2059: the report tests use 1990–2009 and the retention purge
 * deletes rollups in the past, so day and bucket rollups there are this file's alone.
 */
const ownWeek = () => Date.UTC(2040, 0, 1) + Math.floor(Math.random() * 1000) * 7 * DAY;

function rows(n: number, base: number, tag: string): EventRow[] {
  const users = [crypto.randomUUID(), crypto.randomUUID(), null];
  const sessions = [`${tag}-s1`, `${tag}-s2`, `${tag}-s3`, `${tag}-s4`];
  return Array.from({ length: n }, (_, i) => ({
    id: crypto.randomUUID(),
    eventType: TYPES[i % TYPES.length] ?? "page_view",
    userId: users[i % users.length] ?? null,
    sessionId: sessions[(i * 7) % sessions.length] ?? `${tag}-s1`,
    page: i % 4 === 0 ? null : `/${tag}/${i % 3}`,
    element: i % 5 === 0 ? `btn-${i % 2}` : null,
    source: "test",
    properties: i % 6 === 0 ? { n: i, nested: { ok: true, s: 'é"x' } } : null,
    occurredAt: base + ((i * 37) % (3 * 24 * 60)) * MIN,
    receivedAt: base,
  }));
}

describe("insertEvents keeps the rollups equal to a rebuild from the raw rows", () => {
  it("over several calls, one of them larger than one JSON chunk", async () => {
    const base = ownWeek();
    const tag = crypto.randomUUID().slice(0, 8);
    const all = [...rows(ROWS_PER_STATEMENT + 37, base, tag), ...rows(50, base + DAY, tag)];
    await insertEvents(db, all.slice(0, ROWS_PER_STATEMENT + 37));
    await insertEvents(db, all.slice(ROWS_PER_STATEMENT + 37));
    const ids = all.map((r) => r.id);
    const [from, to] = [base, base + 7 * DAY];
    const sessions = [...new Set(all.map((r) => r.sessionId))];
    const users = [...new Set(all.flatMap((r) => (r.userId ? [r.userId] : [])))];
    const inList = (xs: string[]) =>
      sql.join(
        xs.map((x) => sql`${x}`),
        sql`, `,
      );

    const stored = await db.all<{ n: number }>(
      sql`SELECT COUNT(*) AS n FROM analytics_events WHERE session_id IN (${inList(sessions)})`,
    );
    expect(stored[0]?.n).toBe(ids.length);

    const [sessionRollup, sessionRaw] = await Promise.all([
      db.all(sql`SELECT session_id, first_at, last_at, events, page_views, interactions FROM analytics_sessions
        WHERE session_id IN (${inList(sessions)}) ORDER BY session_id`),
      db.all(sql`SELECT session_id, MIN(occurred_at) AS first_at, MAX(occurred_at) AS last_at, COUNT(*) AS events,
          SUM(event_type = 'page_view') AS page_views, SUM(event_type IN ('button_click', 'feature_used')) AS interactions
        FROM analytics_events WHERE session_id IN (${inList(sessions)}) AND event_type <> 'payment_completed'
        GROUP BY session_id ORDER BY session_id`),
    ]);
    expect(sessionRollup.length).toBe(sessions.length);
    expect(sessionRollup).toEqual(sessionRaw);

    const [daily, dailyRaw] = await Promise.all([
      db.all(sql`SELECT day, event_type, page, element, events FROM analytics_daily
        WHERE day >= ${from / DAY} AND day < ${to / DAY} ORDER BY 1, 2, 3, 4`),
      db.all(sql`SELECT occurred_at / ${PER_DAY} AS day, event_type, COALESCE(page, '') AS page,
          COALESCE(element, '') AS element, COUNT(*) AS events
        FROM analytics_events WHERE occurred_at >= ${from} AND occurred_at < ${to} GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4`),
    ]);
    expect(daily.length).toBeGreaterThan(10);
    expect(daily).toEqual(dailyRaw);

    const bucket = 15 * MIN;
    const [activity, activityRaw] = await Promise.all([
      db.all(sql`SELECT bucket, events FROM analytics_activity
        WHERE bucket >= ${from / bucket} AND bucket < ${to / bucket} ORDER BY bucket`),
      db.all(sql`SELECT occurred_at / ${PER_BUCKET} AS bucket, COUNT(*) AS events FROM analytics_events
        WHERE occurred_at >= ${from} AND occurred_at < ${to} GROUP BY 1 ORDER BY 1`),
    ]);
    expect(activity).toEqual(activityRaw);

    const [userDays, userDaysRaw] = await Promise.all([
      db.all(
        sql`SELECT user_id, day FROM analytics_user_days WHERE user_id IN (${inList(users)}) ORDER BY 1, 2`,
      ),
      db.all(sql`SELECT DISTINCT user_id, occurred_at / ${PER_DAY} AS day FROM analytics_events
        WHERE user_id IN (${inList(users)}) ORDER BY 1, 2`),
    ]);
    expect(userDays.length).toBeGreaterThan(2);
    expect(userDays).toEqual(userDaysRaw);
  });

  it("stores properties as their exact JSON text and NULL when absent", async () => {
    const [withProps, without] = rows(2, ownWeek(), crypto.randomUUID().slice(0, 8)).map((r, i) => ({
      ...r,
      properties: i === 0 ? { a: 1.5, b: [1, "two", null], c: { d: 'é"\\' } } : null,
    }));
    if (!withProps || !without) throw new Error("two rows expected");
    await insertEvents(db, [withProps, without]);
    const stored = await db.all<{ id: string; properties: string | null }>(
      sql`SELECT id, properties FROM analytics_events WHERE id IN (${withProps.id}, ${without.id})`,
    );
    const byId = new Map(stored.map((r) => [r.id, r.properties]));
    expect(byId.get(withProps.id)).toBe(JSON.stringify(withProps.properties));
    expect(byId.get(without.id)).toBeNull();
  });

  it("never binds a value over D1's 2 MB string limit, even for a full chunk of the largest rows a client may send", async () => {
    // D1 refuses a string or BLOB over 2,000,000 bytes; a local D1 does not, so the test
    // measures what is bound. Each row is within the ingest limits, but its JSON doubles
    // every quote of the properties text and spells each control character in six bytes.
    const quotes = '"'.repeat((MAX_PROPERTIES_BYTES - 8) / 2);
    const base = ownWeek();
    const tag = crypto.randomUUID().slice(0, 8);
    const big = rows(ROWS_PER_STATEMENT, base, tag).map((r) => ({
      ...r,
      page: `/${"\u0001".repeat(511)}`,
      element: "\u0001".repeat(256),
      properties: { q: quotes },
    }));
    expect(new TextEncoder().encode(JSON.stringify(big[0]?.properties)).byteLength).toBeLessThanOrEqual(
      MAX_PROPERTIES_BYTES,
    );
    const bound: number[] = [];
    const real = env.ANALYTICS_DB;
    const measuring: D1Client = {
      prepare: (q) => {
        const statement = real.prepare(q);
        const bind = statement.bind.bind(statement);
        return Object.assign(statement, {
          bind: (...values: unknown[]) => {
            for (const v of values)
              if (typeof v === "string") bound.push(new TextEncoder().encode(v).byteLength);
            return bind(...values);
          },
        });
      },
      batch: (statements) => real.batch(statements),
    };
    const ids = await insertEvents({ $client: measuring } as unknown as Db, big);
    expect(ids).toHaveLength(big.length);
    expect(Math.max(...bound)).toBeLessThanOrEqual(2_000_000);
    const daily = await db.all<{ events: number }>(
      sql`SELECT SUM(events) AS events FROM analytics_daily WHERE day >= ${base / DAY} AND day < ${base / DAY + 7}
        AND page LIKE ${`/${"\u0001"}%`}`,
    );
    expect(daily[0]?.events).toBe(big.length);
  });

  it("stores every column exactly as sent, whatever it escapes (the stage reads each row as JSONB)", async () => {
    const tricky = 'quote " back \\ slash / tab \t nl \n é 中文 🧪 \u0001 \u2028 1e400 -0';
    const at = ownWeek() + Math.floor(Math.random() * 1e6);
    const sent: EventRow[] = TYPES.map((eventType, i) => ({
      id: `rt-${crypto.randomUUID()}`,
      eventType,
      userId: i % 2 ? `u-${tricky}` : null,
      sessionId: `s-${crypto.randomUUID()}-${tricky}`,
      page: `/p/${tricky}/${i}`,
      element: tricky,
      source: `src-${tricky}`,
      properties: { s: tricky, n: 9007199254740991, f: 0.1, deep: [{ k: tricky }], [tricky]: null },
      occurredAt: at + i,
      receivedAt: at + i + 1,
      bot: (i % 2) as 0 | 1,
    }));
    await insertEvents(db, sent);
    const stored = await db.all<Record<string, unknown>>(
      sql`SELECT id, event_type, user_id, session_id, page, element, source, properties,
        occurred_at, typeof(occurred_at) AS at_type, received_at, bot
        FROM analytics_events WHERE id IN (${sql.join(
          sent.map((r) => sql`${r.id}`),
          sql`, `,
        )}) ORDER BY occurred_at`,
    );
    expect(stored).toEqual(
      sent.map((r) => ({
        id: r.id,
        event_type: r.eventType,
        user_id: r.userId,
        session_id: r.sessionId,
        page: r.page,
        element: r.element,
        source: r.source,
        properties: JSON.stringify(r.properties),
        occurred_at: r.occurredAt,
        at_type: "integer",
        received_at: r.receivedAt,
        // A server-recorded payment is never bot traffic (store.ts).
        bot: r.eventType === "payment_completed" ? 0 : r.bot,
      })),
    );
  });

  it("ignores a replayed id without failing the batch", async () => {
    const [row] = rows(1, ownWeek(), crypto.randomUUID().slice(0, 8));
    if (!row) throw new Error("one row expected");
    await insertEvents(db, [row]);
    await insertEvents(db, [row]);
    const n = await db.all<{ n: number }>(
      sql`SELECT COUNT(*) AS n FROM analytics_events WHERE id = ${row.id}`,
    );
    expect(n[0]?.n).toBe(1);
  });
});
