import { sql } from "drizzle-orm";
import {
  analyticsActivity,
  analyticsDaily,
  analyticsEvents,
  analyticsSessions,
  analyticsUserDays,
} from "../db/schema/analytics";
import type { Db } from "../platform/types";
import type { AePoint } from "./engine";

export type EventRow = typeof analyticsEvents.$inferInsert;

/** D1 binds at most 100 parameters per statement. */
export const MAX_BOUND_PARAMS = 100;
const COLUMNS = 10; // id, event_type, user_id, session_id, page, element, source, properties, occurred_at, received_at
export const ROWS_PER_STATEMENT = Math.floor(MAX_BOUND_PARAMS / COLUMNS);

export const DAY_MS = 86_400_000;
export const ACTIVITY_BUCKET_MS = 15 * 60_000;

/**
 * Appends rows with multi-row INSERTs of ROWS_PER_STATEMENT rows each and updates the
 * rollups, all in one db.batch (one round trip, all or nothing). Callers pass fresh ids
 * (or, for server events, ids of domain events that publish() already de-duplicated).
 */
export async function insertEvents(db: Db, rows: EventRow[]): Promise<void> {
  if (rows.length === 0) return;
  const filled = rows.map(fillColumns);
  const statements = [
    ...chunks(filled, ROWS_PER_STATEMENT).map((c) =>
      db.insert(analyticsEvents).values(c).onConflictDoNothing(),
    ),
    ...rollupStatements(db, filled),
  ];
  const [first, ...rest] = statements;
  if (!first) return;
  await db.batch([first, ...rest]);
}

function chunks<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

function bump<K>(map: Map<string, K>, key: string, init: () => K, update: (v: K) => void): void {
  let v = map.get(key);
  if (v === undefined) {
    v = init();
    map.set(key, v);
  }
  update(v);
}

type SessionRollup = typeof analyticsSessions.$inferInsert;
type DailyRollup = typeof analyticsDaily.$inferInsert;

/** The batch's contribution to each rollup, pre-aggregated so each key is one upsert row. */
function rollupStatements(db: Db, rows: EventRow[]) {
  const sessions = new Map<string, SessionRollup>();
  const daily = new Map<string, DailyRollup>();
  const activity = new Map<string, { bucket: number; events: number }>();
  const userDays = new Map<string, { userId: string; day: number }>();
  for (const r of rows) {
    const t = r.occurredAt;
    if (r.userId) {
      const userId = r.userId;
      const day = Math.floor(t / DAY_MS);
      userDays.set(`${day}:${userId}`, { userId, day });
    }
    if (r.eventType !== "payment_completed") {
      bump(
        sessions,
        r.sessionId,
        () => ({ sessionId: r.sessionId, firstAt: t, lastAt: t, events: 0, pageViews: 0, interactions: 0 }),
        (s) => {
          s.firstAt = Math.min(s.firstAt, t);
          s.lastAt = Math.max(s.lastAt, t);
          s.events += 1;
          if (r.eventType === "page_view") s.pageViews += 1;
          if (r.eventType === "button_click" || r.eventType === "feature_used") s.interactions += 1;
        },
      );
    }
    const day = Math.floor(t / DAY_MS);
    const [page, element] = [r.page ?? "", r.element ?? ""];
    bump(
      daily,
      JSON.stringify([day, r.eventType, page, element]),
      () => ({ day, eventType: r.eventType, page, element, events: 0 }),
      (d) => {
        d.events += 1;
      },
    );
    const bucket = Math.floor(t / ACTIVITY_BUCKET_MS);
    bump(
      activity,
      String(bucket),
      () => ({ bucket, events: 0 }),
      (a) => {
        a.events += 1;
      },
    );
  }
  return [
    ...chunks([...sessions.values()], Math.floor(MAX_BOUND_PARAMS / 6)).map((c) =>
      db
        .insert(analyticsSessions)
        .values(c)
        .onConflictDoUpdate({
          target: analyticsSessions.sessionId,
          set: {
            firstAt: sql`MIN(${analyticsSessions.firstAt}, excluded.first_at)`,
            lastAt: sql`MAX(${analyticsSessions.lastAt}, excluded.last_at)`,
            events: sql`${analyticsSessions.events} + excluded.events`,
            pageViews: sql`${analyticsSessions.pageViews} + excluded.page_views`,
            interactions: sql`${analyticsSessions.interactions} + excluded.interactions`,
          },
        }),
    ),
    ...chunks([...daily.values()], Math.floor(MAX_BOUND_PARAMS / 5)).map((c) =>
      db
        .insert(analyticsDaily)
        .values(c)
        .onConflictDoUpdate({
          target: [analyticsDaily.day, analyticsDaily.eventType, analyticsDaily.page, analyticsDaily.element],
          set: { events: sql`${analyticsDaily.events} + excluded.events` },
        }),
    ),
    ...chunks([...userDays.values()], Math.floor(MAX_BOUND_PARAMS / 2)).map((c) =>
      db.insert(analyticsUserDays).values(c).onConflictDoNothing(),
    ),
    ...chunks([...activity.values()], Math.floor(MAX_BOUND_PARAMS / 2)).map((c) =>
      db
        .insert(analyticsActivity)
        .values(c)
        .onConflictDoUpdate({
          target: analyticsActivity.bucket,
          set: { events: sql`${analyticsActivity.events} + excluded.events` },
        }),
    ),
  ];
}

// Every row must name every column, or drizzle emits DEFAULT placeholders of different
// widths and the parameter count per statement would no longer be predictable.
function fillColumns(r: EventRow): EventRow {
  return {
    id: r.id,
    eventType: r.eventType,
    userId: r.userId ?? null,
    sessionId: r.sessionId,
    page: r.page ?? null,
    element: r.element ?? null,
    source: r.source ?? null,
    properties: r.properties ?? null,
    occurredAt: r.occurredAt,
    receivedAt: r.receivedAt,
  };
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
