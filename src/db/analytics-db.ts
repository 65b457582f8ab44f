import { sql } from "drizzle-orm";
import { check, index, integer, primaryKey, sqliteTable, text } from "drizzle-orm/sqlite-core";

/*
 * Tables that exist only in ANALYTICS_DB (migrations-analytics/, hand-written). Kept out of
 * schema/index.ts on purpose: drizzle-kit generates migrations/ for DB from that index, and
 * these must never be created there. The analytics tables both databases share the shape of
 * (schema/analytics.ts) stay in the index until DB's copies are dropped. analytics_erasures,
 * analytics_dead_letters, analytics_archived_sessions, analytics_archive_leases and
 * analytics_ingest_stage are only ever touched by static SQL (store.ts, consumer.ts, archive.ts,
 * archive-upload.ts, events.service.ts).
 */

/** Bytes accepted per UTC day per budget key (`s:<session>`, `ip:<addr>`, `global`). */
export const analyticsIngestBudget = sqliteTable(
  "analytics_ingest_budget",
  {
    budgetKey: text("budget_key").notNull(),
    day: integer("day").notNull(),
    bytes: integer("bytes").notNull(),
    cap: integer("cap").notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.budgetKey, t.day] }),
    index("analytics_ingest_budget_day_idx").on(t.day),
    check("analytics_budget_cap", sql`${t.bytes} <= ${t.cap}`),
  ],
);
