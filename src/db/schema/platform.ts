import { sql } from "drizzle-orm";
import { index, integer, primaryKey, sqliteTable, text } from "drizzle-orm/sqlite-core";
import { createdAt, json, updatedAt, uuidPk } from "./columns";

/** Who did what to which record; written in the same batch as the change it describes. */
export const auditLog = sqliteTable(
  "audit_log",
  {
    id: uuidPk(),
    actorId: text("actor_id").notNull(),
    actorRole: text("actor_role").notNull(),
    action: text("action").notNull(),
    targetType: text("target_type").notNull(),
    targetId: text("target_id").notNull(),
    details: json("details").$type<Record<string, unknown>>(),
    requestId: text("request_id"),
    createdAt: createdAt(),
  },
  (t) => [index("audit_log_target_idx").on(t.targetType, t.targetId, t.createdAt)],
);

/**
 * Client `Idempotency-Key` replay store. Scoped per caller so one user's key can never
 * replay another's response; `request_hash` detects a reused key with a different body.
 */
export const idempotencyKeys = sqliteTable(
  "idempotency_keys",
  {
    userId: text("user_id").notNull(),
    key: text("key").notNull(),
    route: text("route").notNull(),
    requestHash: text("request_hash").notNull(),
    state: text("state", { enum: ["in_progress", "done"] }).notNull(),
    statusCode: integer("status_code"),
    responseBody: text("response_body"),
    createdAt: createdAt(),
  },
  (t) => [primaryKey({ columns: [t.userId, t.key] }), index("idempotency_keys_created_idx").on(t.createdAt)],
);

/** Every domain event published once; the primary key makes a replay a no-op. */
export const domainEvents = sqliteTable(
  "domain_events",
  {
    id: text("id").primaryKey(),
    type: text("type").notNull(),
    payload: json("payload").$type<Record<string, unknown>>().notNull(),
    source: text("source").notNull(),
    createdAt: createdAt(),
  },
  (t) => [
    index("domain_events_type_idx").on(t.type, t.createdAt),
    index("domain_events_created_idx").on(t.createdAt),
  ],
);

export const EVENT_DELIVERY_STATUSES = ["pending", "delivered", "dead"] as const;

/**
 * One row per (domain event, sink), written in the same batch as the event: the sink's
 * delivery is then at least once. `pending` rows are retried by the cron once
 * `next_attempt_at` has passed (it doubles as a lease while an attempt runs); `dead` after
 * MAX_SINK_ATTEMPTS, kept with its last error for an operator.
 */
export const domainEventDeliveries = sqliteTable(
  "domain_event_deliveries",
  {
    eventId: text("event_id").notNull(),
    sink: text("sink").notNull(),
    status: text("status", { enum: EVENT_DELIVERY_STATUSES }).notNull(),
    attempts: integer("attempts").notNull().default(0),
    nextAttemptAt: integer("next_attempt_at"),
    lastError: text("last_error"),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    primaryKey({ columns: [t.eventId, t.sink] }),
    index("domain_event_deliveries_due_idx").on(t.nextAttemptAt).where(sql`${t.status} = 'pending'`),
    index("domain_event_deliveries_created_idx").on(t.createdAt),
    index("domain_event_deliveries_dead_idx").on(t.sink, t.updatedAt).where(sql`${t.status} = 'dead'`),
  ],
);

/**
 * Directory of callers seen with a verified token. Identity lives in the external IdP;
 * this exists so events can be fanned out to "all admins" or "a merchant's users"
 * (disputes, new tickets, payments received). Upserted once per user per isolate.
 */
export const users = sqliteTable(
  "users",
  {
    id: text("id").primaryKey(),
    role: text("role").notNull(),
    merchantId: text("merchant_id"),
    createdAt: createdAt(),
    lastSeenAt: integer("last_seen_at").notNull(),
  },
  (t) => [index("users_role_idx").on(t.role), index("users_merchant_idx").on(t.merchantId)],
);

/** Fixed-window counters, taken with a conditional upsert (src/platform/limits.ts). */
export const rateCounters = sqliteTable(
  "rate_counters",
  {
    name: text("name").notNull(),
    /** Start of the window, epoch ms. */
    bucket: integer("bucket").notNull(),
    count: integer("count").notNull(),
  },
  (t) => [primaryKey({ columns: [t.name, t.bucket] }), index("rate_counters_bucket_idx").on(t.bucket)],
);

/**
 * Events that took a unit of the admin fan-out budget (src/chat/on-event.ts), so a retried
 * delivery does not take another. Purged after a day with the budget windows.
 */
export const adminFanoutGrants = sqliteTable(
  "admin_fanout_grants",
  {
    eventId: text("event_id").primaryKey(),
    /** The budget the event was charged to: `merchant:<id>` or `user:<id>`. */
    source: text("source").notNull(),
    grantedAt: integer("granted_at").notNull(),
  },
  (t) => [index("admin_fanout_grants_granted_idx").on(t.grantedAt)],
);
