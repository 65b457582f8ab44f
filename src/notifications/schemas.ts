import { z } from "@hono/zod-openapi";
import { EXTERNAL_EVENT_TYPES } from "../events/types";
import { cursorSchema, limitSchema } from "../platform/pagination";
import { unicodeText } from "../platform/text";
import { HH_MM, isValidTimeZone } from "./quiet-hours";
import { canonicalLocale } from "./templates/index";
import { DELIVERY_MODES, DELIVERY_STATUSES, NOTIFICATION_TYPES } from "./types";

export const notificationType = z.enum(NOTIFICATION_TYPES).openapi({ example: "payment_received" });
const timeZone = z
  .string()
  .max(64)
  .refine(isValidTimeZone, "must be an IANA time zone such as Europe/Paris")
  .openapi({ example: "Europe/Paris" });
const deliveryMode = z.enum(DELIVERY_MODES).openapi({
  description:
    "instant: each push on its own; hourly/daily: one summary push per local clock hour or calendar day (critical types: always instant)",
  example: "hourly",
});
const hhmm = z.string().regex(HH_MM, "must be HH:MM (24h)").openapi({ example: "22:00" });

export const deviceInput = z
  .strictObject({
    token: unicodeText(z.string().min(8).max(4096)).openapi({ description: "FCM registration token" }),
    platform: z.enum(["android", "ios", "web"]),
    model: unicodeText(z.string().max(128)).optional(),
    os_version: unicodeText(z.string().max(64)).optional(),
    app_version: unicodeText(z.string().max(64)).optional(),
    locale: z
      .string()
      .max(35)
      .refine((tag) => canonicalLocale(tag) !== null, "must be a BCP 47 language tag such as fr-CA")
      .optional()
      .openapi({
        example: "fr-CA",
        description:
          "BCP 47 tag (`_` accepted), stored in canonical form. Its language picks the push templates (en, fr, de; others fall back to the user's locale, then en).",
      }),
    time_zone: timeZone.optional(),
  })
  .openapi("DeviceRegistration");

export const device = z
  .object({
    id: z.string(),
    platform: z.enum(["android", "ios", "web"]),
    model: z.string().nullable(),
    os_version: z.string().nullable(),
    app_version: z.string().nullable(),
    locale: z.string().nullable(),
    time_zone: z.string().nullable(),
    created_at: z.string(),
    updated_at: z.string(),
  })
  .openapi("Device");

export const deviceList = z.object({ items: z.array(device) });

const quietHours = z
  .strictObject({ start: hhmm, end: hhmm.openapi({ example: "07:00" }), time_zone: timeZone })
  .refine((q) => q.start !== q.end, { message: "start and end must differ", path: ["end"] })
  .openapi("QuietHours");

export const preferencesOut = z
  .object({
    preferences: z.array(
      z.object({
        type: notificationType,
        push: z.boolean(),
        in_app: z.boolean(),
        delivery: deliveryMode,
        critical: z.boolean(),
      }),
    ),
    quiet_hours: quietHours.nullable(),
  })
  .openapi("NotificationPreferences");

export const preferencesIn = z
  .strictObject({
    preferences: z
      .array(
        z.strictObject({
          type: notificationType,
          push: z.boolean().optional(),
          in_app: z.boolean().optional(),
          delivery: deliveryMode.optional(),
        }),
      )
      .max(NOTIFICATION_TYPES.length * 2)
      .optional(),
    quiet_hours: quietHours.nullable().optional().openapi({ description: "null removes quiet hours" }),
  })
  .openapi("NotificationPreferencesUpdate");

export const notificationOut = z
  .object({
    id: z.string(),
    type: notificationType,
    title: z.string(),
    body: z.string(),
    data: z.record(z.string(), z.string()),
    silent: z.boolean(),
    read: z.boolean(),
    read_at: z.string().nullable(),
    created_at: z.string(),
  })
  .openapi("Notification");

export const historyQuery = z.object({
  limit: limitSchema,
  cursor: cursorSchema,
  status: z.enum(["all", "read", "unread"]).default("all"),
  type: notificationType.optional(),
});

export const historyOut = z
  .object({
    items: z.array(notificationOut),
    next_cursor: z.string().nullable(),
    unread_count: z.number().int(),
  })
  .openapi("NotificationHistory");

export const readAllOut = z.object({ updated: z.number().int(), unread_count: z.number().int() });

export const idParam = z.object({
  id: z
    .string()
    .min(1)
    .max(64)
    .openapi({ param: { name: "id", in: "path" } }),
});

export const deliveriesOut = z
  .object({
    notification_id: z.string(),
    items: z.array(
      z.object({
        id: z.string(),
        device_id: z.string(),
        platform: z.string(),
        status: z.enum(DELIVERY_STATUSES),
        fcm_message_name: z.string().nullable(),
        error_code: z.string().nullable(),
        attempts: z.number().int(),
        not_before: z.string().nullable(),
        created_at: z.string(),
        updated_at: z.string(),
      }),
    ),
  })
  .openapi("NotificationDeliveries");

// Forwarded to FCM and stored with the notification: Unicode text only (platform/text.ts).
const stringMap = z.record(unicodeText(z.string().max(64)), unicodeText(z.string().max(1024)));

export const testSendIn = z
  .strictObject({
    user_id: unicodeText(z.string().min(1).max(128)),
    type: notificationType,
    title: unicodeText(z.string().min(1).max(200)).default("Test notification"),
    body: unicodeText(z.string().max(1000)).default("This is a test notification."),
    data: stringMap.optional(),
    silent: z.boolean().default(false),
  })
  .openapi("TestNotification");

export const notifyResultOut = z
  .object({
    notification_ids: z.array(z.string()),
    notifications: z.number().int(),
    queued: z.number().int(),
    held: z.number().int(),
  })
  .openapi("NotifyResult");

/** Which unsendable deliveries a re-drive may queue again. */
export const REDRIVE_KINDS = ["dead_lettered", "third_party_auth"] as const;

export const redriveIn = z
  .strictObject({
    kinds: z
      .array(z.enum(REDRIVE_KINDS))
      .min(1)
      .default([...REDRIVE_KINDS])
      .openapi({
        description:
          "`dead_lettered`: retries ran out (an outage); `third_party_auth`: failed THIRD_PARTY_AUTH_ERROR (fix the APNs / Web Push credentials first)",
      }),
    notification_id: z.string().min(1).max(64).optional(),
    user_id: z.string().min(1).max(128).optional(),
    platform: z.enum(["android", "ios", "web"]).optional(),
    /** Only deliveries whose last change is at or after this instant. */
    since: z.iso.datetime({ offset: true }).optional(),
    limit: z.number().int().min(1).max(1000).default(500),
  })
  .openapi("PushRedrive");

export const redriveOut = z
  .object({
    redriven: z.number().int().openapi({ description: "Deliveries moved back to queued by this call" }),
    delivery_ids: z.array(z.string()),
    deferred: z
      .number()
      .int()
      .openapi({ description: "Of those, how many the queue refused now; the 5-minute cron enqueues them" }),
    more: z.boolean().openapi({ description: "More deliveries match: call again" }),
  })
  .openapi("PushRedriveResult");

export const eventIn = z
  .strictObject({
    // A key (domain_events.id): an unpaired surrogate would be stored as U+FFFD and never match
    // itself again, so the retry cron could not claim its deliveries (platform/text.ts).
    id: unicodeText(z.string().min(1).max(128)),
    type: z.enum(EXTERNAL_EVENT_TYPES),
    data: z.record(z.string(), z.unknown()),
    occurred_at: z.iso.datetime({ offset: true }).optional(),
  })
  .openapi("ExternalEvent");

export const eventOut = z
  .object({
    id: z.string().openapi({ description: "The id you sent: your idempotency key, scoped to your service" }),
    event_id: z.string().openapi({
      description: "The platform's domain event id, `ext:<service>:<id>` (what notifications reference)",
      example: "ext:billing-service:evt_123",
    }),
    duplicate: z.boolean(),
  })
  .openapi("EventAccepted");
