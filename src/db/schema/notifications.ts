import { sql } from "drizzle-orm";
import { index, integer, primaryKey, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";
import { createdAt, json, updatedAt, uuidPk } from "./columns";

/** notifications.template: a template key, its variables and the user's locale at notify time. */
export type StoredTemplate = {
  key: string;
  vars: Record<string, string | number | boolean | null>;
  locale: string;
};

export const NOTIFICATION_TYPES = [
  "payment_received",
  "campaign_status_changed",
  "support_ticket_response",
  "security_alert",
  "feature_flag_enabled",
  "merchant_application_approved",
  "subscription_payment_failed",
] as const;
export type NotificationType = (typeof NOTIFICATION_TYPES)[number];

export const DELIVERY_STATUSES = [
  "queued",
  /** Claimed by a consumer run (claim_token) whose FCM request may be in flight. */
  "sending",
  "held",
  "sent",
  "failed",
  "token_removed",
  "dead_lettered",
] as const;
export type DeliveryStatus = (typeof DELIVERY_STATUSES)[number];

/** How a type's pushes reach a user: one by one, or one summary per clock hour / local day. */
export const DELIVERY_MODES = ["instant", "hourly", "daily"] as const;
export type DeliveryMode = (typeof DELIVERY_MODES)[number];
export type DigestMode = Exclude<DeliveryMode, "instant">;

export const devices = sqliteTable(
  "devices",
  {
    id: uuidPk(),
    userId: text("user_id").notNull(),
    /** FCM registration token; unique so re-registration moves it instead of duplicating. */
    token: text("token").notNull().unique(),
    platform: text("platform", { enum: ["android", "ios", "web"] }).notNull(),
    model: text("model"),
    osVersion: text("os_version"),
    appVersion: text("app_version"),
    locale: text("locale"),
    timeZone: text("time_zone"),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [index("devices_user_idx").on(t.userId)],
);

export const notificationPreferences = sqliteTable(
  "notification_preferences",
  {
    userId: text("user_id").notNull(),
    type: text("type", { enum: NOTIFICATION_TYPES }).notNull(),
    push: integer("push", { mode: "boolean" }).notNull(),
    inApp: integer("in_app", { mode: "boolean" }).notNull(),
    delivery: text("delivery", { enum: DELIVERY_MODES }).notNull().default("instant"),
    updatedAt: updatedAt(),
  },
  (t) => [primaryKey({ columns: [t.userId, t.type] })],
);

/** Per-user settings that are not per type: quiet hours in the user's own time zone. */
export const notificationSettings = sqliteTable("notification_settings", {
  userId: text("user_id").primaryKey(),
  quietStart: text("quiet_start"),
  quietEnd: text("quiet_end"),
  timeZone: text("time_zone"),
  updatedAt: updatedAt(),
});

export const notifications = sqliteTable(
  "notifications",
  {
    id: uuidPk(),
    userId: text("user_id").notNull(),
    type: text("type", { enum: NOTIFICATION_TYPES }).notNull(),
    title: text("title").notNull(),
    body: text("body").notNull(),
    data: json("data").$type<Record<string, string>>(),
    /**
     * What pushes are rendered from, per device, at send time (templates/render.ts); null for
     * free-text sends (admin test), which go out as title/body. title/body hold the rendering
     * in the user's locale, which the in-app history shows.
     */
    template: json("template").$type<StoredTemplate>(),
    silent: integer("silent", { mode: "boolean" }).notNull().default(false),
    /** Domain event that caused it; (event_id, user_id) is unique so a replay adds nothing. */
    eventId: text("event_id"),
    /** Whether it is shown in the in-app history (the in_app channel preference). */
    inApp: integer("in_app", { mode: "boolean" }).notNull().default(true),
    readAt: integer("read_at"),
    /** Digest mode it was created under (null: pushed on its own); see notification_digests. */
    digest: text("digest", { enum: ["hourly", "daily"] }),
    /** The released digest window that took it; null while it waits. */
    digestId: text("digest_id"),
    createdAt: createdAt(),
  },
  (t) => [
    index("notifications_user_created_idx").on(t.userId, t.createdAt, t.id),
    index("notifications_user_unread_idx").on(t.userId, t.readAt),
    uniqueIndex("notifications_event_user_idx").on(t.eventId, t.userId),
    index("notifications_digest_pending_idx")
      .on(t.userId, t.type, t.digest, t.createdAt)
      .where(sql`${t.digest} IS NOT NULL AND ${t.digestId} IS NULL`),
    index("notifications_digest_idx").on(t.digestId).where(sql`${t.digestId} IS NOT NULL`),
  ],
);

/**
 * One row per released digest window (docs/notifications.md, "Digests"). Unique on
 * (user, type, mode, window start): the cron's conditional insert of this row is the claim,
 * so a window is released once however many runs overlap.
 */
export const notificationDigests = sqliteTable(
  "notification_digests",
  {
    id: uuidPk(),
    userId: text("user_id").notNull(),
    type: text("type", { enum: NOTIFICATION_TYPES }).notNull(),
    mode: text("mode", { enum: ["hourly", "daily"] }).notNull(),
    windowStart: integer("window_start").notNull(),
    windowEnd: integer("window_end").notNull(),
    timeZone: text("time_zone").notNull(),
    itemCount: integer("item_count").notNull().default(0),
    /** releasing: claimed, summary not yet pushed (a re-run resumes it); released: done. */
    status: text("status", { enum: ["releasing", "released"] }).notNull(),
    claimToken: text("claim_token").notNull(),
    summaryNotificationId: text("summary_notification_id"),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    uniqueIndex("notification_digests_window_idx").on(t.userId, t.type, t.mode, t.windowStart),
    index("notification_digests_releasing_idx").on(t.status).where(sql`${t.status} = 'releasing'`),
  ],
);

export const notificationDeliveries = sqliteTable(
  "notification_deliveries",
  {
    id: uuidPk(),
    notificationId: text("notification_id").notNull(),
    deviceId: text("device_id").notNull(),
    /** Token at send time; the device row may be deleted later (token_removed). */
    token: text("token").notNull(),
    platform: text("platform").notNull(),
    status: text("status", { enum: DELIVERY_STATUSES }).notNull(),
    fcmMessageName: text("fcm_message_name"),
    errorCode: text("error_code"),
    attempts: integer("attempts").notNull().default(0),
    /** For held (quiet hours) deliveries: when they may be sent. */
    notBefore: integer("not_before"),
    /** The consumer run that marked the row `sending`; only it may write the outcome. */
    claimToken: text("claim_token"),
    claimedAt: integer("claimed_at"),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    uniqueIndex("deliveries_notification_device_idx").on(t.notificationId, t.deviceId),
    index("deliveries_status_idx").on(t.status, t.notBefore),
    // Retention: only rows that still hold a token (src/platform/retention.ts).
    index("deliveries_token_age_idx").on(t.updatedAt).where(sql`${t.token} <> ''`),
  ],
);
