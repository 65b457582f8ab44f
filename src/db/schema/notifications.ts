import { sql } from "drizzle-orm";
import { index, integer, primaryKey, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";
import { createdAt, json, updatedAt, uuidPk } from "./columns";

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
    silent: integer("silent", { mode: "boolean" }).notNull().default(false),
    /** Domain event that caused it; (event_id, user_id) is unique so a replay adds nothing. */
    eventId: text("event_id"),
    /** Whether it is shown in the in-app history (the in_app channel preference). */
    inApp: integer("in_app", { mode: "boolean" }).notNull().default(true),
    readAt: integer("read_at"),
    createdAt: createdAt(),
  },
  (t) => [
    index("notifications_user_created_idx").on(t.userId, t.createdAt, t.id),
    index("notifications_user_unread_idx").on(t.userId, t.readAt),
    uniqueIndex("notifications_event_user_idx").on(t.eventId, t.userId),
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
