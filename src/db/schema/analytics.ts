import { index, integer, sqliteTable, text } from "drizzle-orm/sqlite-core";
import { json } from "./columns";

export const ANALYTICS_EVENT_TYPES = [
  "page_view",
  "button_click",
  "payment_completed",
  "campaign_viewed",
  "feature_used",
  "error_occurred",
  "session_started",
  "session_ended",
] as const;
export type AnalyticsEventType = (typeof ANALYTICS_EVENT_TYPES)[number];

export const analyticsEvents = sqliteTable(
  "analytics_events",
  {
    id: text("id").primaryKey(),
    eventType: text("event_type", { enum: ANALYTICS_EVENT_TYPES }).notNull(),
    userId: text("user_id"),
    sessionId: text("session_id").notNull(),
    page: text("page"),
    element: text("element"),
    source: text("source"),
    properties: json("properties").$type<Record<string, unknown>>(),
    /** When it happened (client clock, bounded); epoch ms. */
    occurredAt: integer("occurred_at").notNull(),
    receivedAt: integer("received_at").notNull(),
  },
  (t) => [
    index("analytics_type_time_idx").on(t.eventType, t.occurredAt),
    index("analytics_user_time_idx").on(t.userId, t.occurredAt),
    index("analytics_session_time_idx").on(t.sessionId, t.occurredAt),
    index("analytics_time_idx").on(t.occurredAt),
  ],
);
