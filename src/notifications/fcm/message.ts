import type { PendingDelivery } from "../deliveries.service";
import type { NotificationType } from "../types";
import { boundedCollapseKey } from "./collapse";

/**
 * FCM HTTP v1 `Message` for one delivery (docs/notifications.md, "Message variants"):
 * - alert: `notification {title, body}`; Android `priority: HIGH` + channel id;
 *   iOS `apns-priority: 10`, `apns-push-type: alert`.
 * - silent (data-only): no `notification` block; Android `priority: NORMAL`;
 *   iOS `apns-priority: 5`, `apns-push-type: background`, `aps.content-available: 1`.
 * - web: `webpush.headers.Urgency` high (alert) or normal (silent).
 * `data` values are always strings; `notification_id` and `type` are always present; no
 * key FCM reserves is ever emitted.
 */
export type FcmMessage = {
  token: string;
  data: Record<string, string>;
  notification?: { title: string; body: string };
  android?: {
    priority: "HIGH" | "NORMAL";
    collapse_key?: string;
    notification?: { channel_id: string };
  };
  apns?: {
    headers: Record<string, string>;
    payload: { aps: Record<string, unknown> };
  };
  webpush?: { headers: Record<string, string> };
};

/** Android notification channels the apps create; one per kind of urgency. */
export const ANDROID_CHANNELS: Record<NotificationType, string> = {
  security_alert: "security",
  payment_received: "payments",
  support_ticket_response: "support",
  campaign_status_changed: "updates",
  feature_flag_enabled: "updates",
  merchant_application_approved: "updates",
  subscription_payment_failed: "payments",
};

export class PayloadError extends Error {
  override name = "PayloadError";
}

/**
 * Status updates about the same thing replace each other; payments and alerts never collapse.
 * Bounded to APNs' 64 bytes (fcm/collapse.ts); Android gets the same key, so both collapse alike.
 */
function collapseKeyFor(type: NotificationType, data: Record<string, string>): string | undefined {
  if (type === "campaign_status_changed" && data.campaign_id)
    return boundedCollapseKey("campaign", data.campaign_id);
  if (type === "feature_flag_enabled" && data.flag) return boundedCollapseKey("flag", data.flag);
  return undefined;
}

/**
 * FCM rejects the whole message (INVALID_ARGUMENT, for every device) when a `data` key is
 * one it reserves: "from", "notification", "message_type", or anything starting with
 * "google" or "gcm". So such a key is never sent as is: it is renamed with a `data_`
 * prefix (dropped if that name is taken), and the caller is told so it can log it.
 */
const RESERVED_DATA_KEYS = new Set(["from", "notification", "message_type"]);
export const isReservedDataKey = (key: string): boolean =>
  RESERVED_DATA_KEYS.has(key) || /^(google|gcm)/i.test(key);
/** Keys the builder itself sets; event data cannot override them. */
const OWN_KEYS = new Set(["notification_id", "type"]);

export type ReservedKeyNotice = (key: string, renamedTo: string | null) => void;

/**
 * FCM refuses a message whose payload is over 4096 bytes (notification and data alike;
 * "About FCM messages"), and a translation can be longer than the English. Our own keys and
 * templates stay far below it (test/notifications/templates.test.ts renders every one with
 * maximal data); this guard cuts title and body at a character boundary so user text that
 * got in anyway is shortened, never refused for every device.
 */
export const PAYLOAD_BYTES = 4096;
const utf8 = new TextEncoder();
const bytes = (s: string) => utf8.encode(s).length;

function cut(s: string, max: number): string {
  if (bytes(s) <= max) return s;
  let out = "";
  let used = 0;
  for (const ch of s) {
    const n = bytes(ch);
    if (used + n > max - 3) break;
    out += ch;
    used += n;
  }
  return `${out}…`;
}

export function payloadBytes(m: Pick<FcmMessage, "data" | "notification">): number {
  let n = 0;
  for (const [k, v] of Object.entries(m.data)) n += bytes(k) + bytes(v);
  return m.notification ? n + bytes(m.notification.title) + bytes(m.notification.body) : n;
}

function fitted(title: string, body: string, data: Record<string, string>): { title: string; body: string } {
  const room = PAYLOAD_BYTES - payloadBytes({ data });
  if (bytes(title) + bytes(body) <= room) return { title, body };
  const shortTitle = cut(title, Math.max(Math.floor(room / 4), 0));
  return { title: shortTitle, body: cut(body, Math.max(room - bytes(shortTitle), 0)) };
}

export function buildMessage(d: PendingDelivery, onReservedKey?: ReservedKeyNotice): FcmMessage {
  const data: Record<string, string> = {};
  const entries = Object.entries(d.data ?? {});
  for (const [k, v] of entries) {
    // Stored data is meant to be strings; anything else is a payload bug, not a retry.
    if (typeof v !== "string") throw new PayloadError(`data.${k} is not a string`);
    if (!isReservedDataKey(k)) data[k] = v;
  }
  for (const [k, v] of entries) {
    if (!isReservedDataKey(k)) continue;
    const renamed = `data_${k}`;
    const free = !(renamed in data) && !OWN_KEYS.has(renamed);
    if (free) data[renamed] = v;
    onReservedKey?.(k, free ? renamed : null);
  }
  data.notification_id = d.notificationId;
  data.type = d.type;
  const collapseKey = collapseKeyFor(d.type, data);
  const message: FcmMessage = { token: d.token, data };
  if (!d.silent) message.notification = fitted(d.title, d.body, data);

  if (d.platform === "android") {
    message.android = {
      priority: d.silent ? "NORMAL" : "HIGH",
      ...(collapseKey ? { collapse_key: collapseKey } : {}),
      ...(d.silent ? {} : { notification: { channel_id: ANDROID_CHANNELS[d.type] } }),
    };
  } else if (d.platform === "ios") {
    const headers: Record<string, string> = d.silent
      ? { "apns-priority": "5", "apns-push-type": "background" }
      : { "apns-priority": "10", "apns-push-type": "alert" };
    if (collapseKey) headers["apns-collapse-id"] = collapseKey;
    message.apns = {
      headers,
      payload: { aps: d.silent ? { "content-available": 1 } : { sound: "default" } },
    };
  } else if (d.platform === "web") {
    // Web Push urgency: browsers may hold "normal" messages while the device is idle.
    message.webpush = { headers: { Urgency: d.silent ? "normal" : "high" } };
  }
  return message;
}
