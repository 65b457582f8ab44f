/**
 * FCM HTTP v1 `Message` as a declarative schema, checked the way Google's proto3 JSON
 * parser checks it: unknown names are rejected, scalars are typed, map values are strings,
 * and both lowerCamelCase and snake_case field names are accepted.
 * https://firebase.google.com/docs/reference/fcm/rest/v1/projects.messages
 */

export type Field =
  | { kind: "string" | "bool" | "int" | "duration" | "timestamp" | "map" | "struct" }
  | { kind: "enum"; type: string; values: string[] }
  | { kind: "object"; type: string; fields: Record<string, Field> }
  | { kind: "list"; of: Field };

const str: Field = { kind: "string" };
const bool: Field = { kind: "bool" };
const int: Field = { kind: "int" };
const duration: Field = { kind: "duration" };
const map: Field = { kind: "map" };
const struct: Field = { kind: "struct" };
const strings: Field = { kind: "list", of: str };
const obj = (type: string, fields: Record<string, Field>): Field => ({ kind: "object", type, fields });
const enumOf = (type: string, values: string[]): Field => ({ kind: "enum", type, values });

const color = obj("Color", { red: { kind: "int" }, green: int, blue: int, alpha: int });

const androidNotification = obj("AndroidNotification", {
  title: str,
  body: str,
  icon: str,
  color: str,
  sound: str,
  tag: str,
  click_action: str,
  body_loc_key: str,
  body_loc_args: strings,
  title_loc_key: str,
  title_loc_args: strings,
  channel_id: str,
  ticker: str,
  sticky: bool,
  event_time: { kind: "timestamp" },
  local_only: bool,
  notification_priority: enumOf("NotificationPriority", [
    "PRIORITY_UNSPECIFIED",
    "PRIORITY_MIN",
    "PRIORITY_LOW",
    "PRIORITY_DEFAULT",
    "PRIORITY_HIGH",
    "PRIORITY_MAX",
  ]),
  default_sound: bool,
  default_vibrate_timings: bool,
  default_light_settings: bool,
  vibrate_timings: { kind: "list", of: duration },
  visibility: enumOf("AndroidNotification.Visibility", [
    "VISIBILITY_UNSPECIFIED",
    "PRIVATE",
    "PUBLIC",
    "SECRET",
  ]),
  notification_count: int,
  light_settings: obj("LightSettings", { color, light_on_duration: duration, light_off_duration: duration }),
  image: str,
  bypass_proxy_notification: bool,
  proxy: enumOf("AndroidNotification.Proxy", ["PROXY_UNSPECIFIED", "ALLOW", "DENY", "IF_PRIORITY_LOWERED"]),
});

const android = obj("AndroidConfig", {
  collapse_key: str,
  priority: enumOf("AndroidMessagePriority", ["NORMAL", "HIGH"]),
  ttl: duration,
  restricted_package_name: str,
  data: map,
  notification: androidNotification,
  fcm_options: obj("AndroidFcmOptions", { analytics_label: str }),
  direct_boot_ok: bool,
  bandwidth_constrained_ok: bool,
  restricted_satellite_ok: bool,
});

const apns = obj("ApnsConfig", {
  headers: map,
  payload: struct,
  fcm_options: obj("ApnsFcmOptions", { analytics_label: str, image: str }),
  live_activity_token: str,
});

const webpush = obj("WebpushConfig", {
  headers: map,
  data: map,
  notification: struct,
  fcm_options: obj("WebpushFcmOptions", { link: str, analytics_label: str }),
});

export const MESSAGE = obj("Message", {
  name: str,
  data: map,
  notification: obj("Notification", { title: str, body: str, image: str }),
  android,
  webpush,
  apns,
  fcm_options: obj("FcmOptions", { analytics_label: str }),
  token: str,
  topic: str,
  condition: str,
});

export const SEND_REQUEST = obj("SendMessageRequest", { validate_only: bool, message: MESSAGE });
