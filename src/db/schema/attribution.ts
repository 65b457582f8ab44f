import { sql } from "drizzle-orm";
import { check, index, integer, primaryKey, sqliteTable, text } from "drizzle-orm/sqlite-core";

export const TOUCH_SCOPES = ["user", "session"] as const;
export const TOUCH_MODELS = ["first", "last"] as const;

/**
 * ANALYTICS_DB (migrations-analytics/0002): the first and the last UTM touch of each signed-in
 * user and of each anonymous session. Written only by conditional upserts that keep the
 * earliest (first) or latest (last) touch by (occurred_at, event_id), so any delivery order of
 * the same events gives the same rows (src/analytics/attribution.ts).
 */
export const analyticsTouches = sqliteTable(
  "analytics_touches",
  {
    scope: text("scope", { enum: TOUCH_SCOPES }).notNull(),
    /** The user id (scope user) or the session id (scope session). */
    actor: text("actor").notNull(),
    model: text("model", { enum: TOUCH_MODELS }).notNull(),
    occurredAt: integer("occurred_at").notNull(),
    /** The event that carried the touch: the tie-break, and what erasure looks for. */
    eventId: text("event_id").notNull(),
    sessionId: text("session_id").notNull(),
    source: text("source").notNull(),
    medium: text("medium"),
    campaign: text("campaign"),
  },
  (t) => [
    primaryKey({ columns: [t.scope, t.actor, t.model] }),
    check("analytics_touches_scope", sql`${t.scope} IN ('user', 'session')`),
    check("analytics_touches_model", sql`${t.model} IN ('first', 'last')`),
    index("analytics_touches_event_idx").on(t.eventId),
    index("analytics_touches_age_idx").on(t.scope, t.model, t.occurredAt),
  ],
);
