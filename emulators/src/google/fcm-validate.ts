import {
  badRequestDetail,
  type EmulatorReply,
  type FieldViolation,
  fcmDetail,
  googleError,
} from "./fcm-errors";
import { type Field, SEND_REQUEST } from "./fcm-schema";

export type Target = { kind: "token" | "topic" | "condition"; value: string };
export type ParsedSend = {
  validateOnly: boolean;
  /** body.message as received (original field names), as JSON text: cheap to pass to the DO and store. */
  messageJson: string;
  target: Target;
};
export type ValidationResult = { ok: true; send: ParsedSend } | { ok: false; reply: EmulatorReply };

type Json = Record<string, unknown>;

class Invalid extends Error {
  constructor(readonly reply: EmulatorReply) {
    super("invalid");
  }
}

const TYPE_PREFIX = "type.googleapis.com/google.firebase.fcm.v1.";

/** A proto3 JSON parse failure: Google reports these with a BadRequest detail only. */
function parseError(description: string, field?: string): never {
  const violation: FieldViolation = field ? { field, description } : { description };
  throw new Invalid(googleError("INVALID_ARGUMENT", description, [badRequestDetail([violation])]));
}

/** A semantic rejection by FCM itself: FcmError INVALID_ARGUMENT plus the field at fault. */
export function fcmInvalid(description: string, field: string): EmulatorReply {
  return googleError("INVALID_ARGUMENT", description, [
    fcmDetail("INVALID_ARGUMENT"),
    badRequestDetail([{ field, description }]),
  ]);
}

const isObject = (v: unknown): v is Json => v !== null && typeof v === "object" && !Array.isArray(v);
const snake = (k: string) => k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
const pascal = (k: string) => k.replace(/(^|_)([a-z])/g, (_m, _u, c: string) => c.toUpperCase());
const show = (v: unknown) => JSON.stringify(v) ?? String(v);
const invalidValue = (path: string, type: string, v: unknown): never =>
  parseError(`Invalid value at '${path}' (${type}), ${show(v)}`, path);

/** Checks one value against its schema; returns it with field names normalised to snake_case. */
function check(value: unknown, field: Field, path: string, name: string, parentType: string): unknown {
  switch (field.kind) {
    case "string":
      return typeof value === "string" ? value : invalidValue(path, "TYPE_STRING", value);
    case "bool":
      return typeof value === "boolean" ? value : invalidValue(path, "TYPE_BOOL", value);
    case "int":
      if (Number.isInteger(value) || (typeof value === "string" && /^-?\d+$/.test(value))) return value;
      return invalidValue(path, "TYPE_INT32", value);
    case "duration":
      if (typeof value === "string" && /^-?\d+(\.\d{1,9})?s$/.test(value)) return value;
      if (typeof value === "string") {
        parseError(
          `Invalid value at '${path}' (type.googleapis.com/google.protobuf.Duration), Field '${name}', Illegal duration format; duration must end with 's'`,
          path,
        );
      }
      return invalidValue(path, "type.googleapis.com/google.protobuf.Duration", value);
    case "timestamp":
      if (
        typeof value === "string" &&
        /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?(Z|[+-]\d\d:\d\d)$/.test(value)
      ) {
        return value;
      }
      return invalidValue(path, "type.googleapis.com/google.protobuf.Timestamp", value);
    case "map": {
      if (!isObject(value))
        return invalidValue(path, `${TYPE_PREFIX}${parentType}.${pascal(name)}Entry`, value);
      Object.values(value).forEach((v, i) => {
        if (typeof v !== "string") invalidValue(`${path}[${i}].value`, "TYPE_STRING", v);
      });
      return value;
    }
    case "struct":
      return isObject(value)
        ? value
        : invalidValue(path, "type.googleapis.com/google.protobuf.Struct", value);
    case "enum":
      if (typeof value === "string" && field.values.includes(value)) return value;
      if (Number.isInteger(value) && Number(value) >= 0 && Number(value) < field.values.length) {
        return field.values[Number(value)];
      }
      return invalidValue(path, `${TYPE_PREFIX}${field.type}`, value);
    case "list":
      if (!Array.isArray(value)) return invalidValue(path, "list", value);
      return value.map((item, i) => check(item, field.of, `${path}[${i}]`, name, parentType));
    case "object": {
      if (!isObject(value)) return invalidValue(path, `${TYPE_PREFIX}${field.type}`, value);
      const out: Json = {};
      for (const [key, v] of Object.entries(value)) {
        const canonical = key in field.fields ? key : snake(key);
        const sub = field.fields[canonical];
        if (!sub) {
          const where = path ? ` at '${path}'` : "";
          parseError(
            `Invalid JSON payload received. Unknown name "${key}"${where}: Cannot find field.`,
            path,
          );
        }
        // proto3 JSON: an explicit null means "not set".
        if (v === null) continue;
        out[canonical] = check(v, sub, path ? `${path}.${key}` : key, canonical, field.type);
      }
      return out;
    }
  }
}

const RESERVED_DATA_KEYS = new Set(["from", "notification", "message_type"]);
const MAX_DATA_BYTES = 4096;

/**
 * FCM's 4096-byte payload limit covers the notification's title and body as well as `data`
 * ("About FCM messages": the maximum payload for both message types is 4096 bytes).
 */
function checkData(data: unknown, path: string, notificationBytes = 0): EmulatorReply | null {
  if (!isObject(data))
    return notificationBytes > MAX_DATA_BYTES ? fcmInvalid("Message is too big", path) : null;
  let bytes = notificationBytes;
  for (const [k, v] of Object.entries(data)) {
    if (RESERVED_DATA_KEYS.has(k) || /^(google|gcm)/.test(k))
      return fcmInvalid(`Invalid data payload key: ${k}`, path);
    bytes += new TextEncoder().encode(k + String(v)).length;
  }
  return bytes > MAX_DATA_BYTES ? fcmInvalid("Android message is too big", path) : null;
}

/** Checks FCM makes beyond the JSON schema, on the snake_case-normalised message. */
function semanticCheck(m: Json): { target: Target } | { reply: EmulatorReply } {
  const set = (["token", "topic", "condition"] as const).filter((k) => m[k] !== undefined);
  const [first, second] = set;
  if (second) {
    parseError(
      `Invalid value at 'message' (oneof), oneof field 'target' is already set. Cannot set '${second}'`,
      "message",
    );
  }
  if (!first) return { reply: fcmInvalid("Recipient of the message is not set.", "message") };
  const target: Target = { kind: first, value: String(m[first]) };
  if (first === "topic" && !/^(\/topics\/)?[a-zA-Z0-9\-_.~%]+$/.test(target.value)) {
    return { reply: fcmInvalid("Invalid topic name.", "message.topic") };
  }
  if (first === "condition" && target.value.trim() === "") {
    return { reply: fcmInvalid("Invalid condition expression provided.", "message.condition") };
  }
  const android = isObject(m.android) ? m.android : {};
  const apns = isObject(m.apns) ? m.apns : {};
  const webpush = isObject(m.webpush) ? m.webpush : {};
  const note = isObject(m.notification) ? m.notification : {};
  const noteBytes = [note.title, note.body].reduce<number>(
    (n, v) => n + (typeof v === "string" ? new TextEncoder().encode(v).length : 0),
    0,
  );
  const dataProblem =
    checkData(m.data, "message.data", noteBytes) ?? checkData(android.data, "message.android.data");
  if (dataProblem) return { reply: dataProblem };
  const color = isObject(android.notification) ? android.notification.color : undefined;
  if (typeof color === "string" && !/^#[0-9a-fA-F]{6}$/.test(color)) {
    return { reply: fcmInvalid(`Invalid color value: ${color}`, "message.android.notification.color") };
  }
  if (typeof android.ttl === "string" && android.ttl.startsWith("-")) {
    return { reply: fcmInvalid("TTL must not be negative.", "message.android.ttl") };
  }
  const apnsPriority = isObject(apns.headers) ? apns.headers["apns-priority"] : undefined;
  if (apnsPriority !== undefined && !["1", "5", "10"].includes(String(apnsPriority))) {
    return { reply: fcmInvalid("Invalid APNs priority: must be 10, 5 or 1.", "message.apns.headers") };
  }
  const collapseId = isObject(apns.headers) ? apns.headers["apns-collapse-id"] : undefined;
  if (typeof collapseId === "string" && new TextEncoder().encode(collapseId).length > 64) {
    // APNs answers 400 BadCollapseId (the id must not exceed 64 bytes); FCM relays it as INVALID_ARGUMENT.
    return {
      reply: googleError("INVALID_ARGUMENT", "The collapse identifier exceeds the maximum allowed size.", [
        fcmDetail("INVALID_ARGUMENT"),
        { "@type": `${TYPE_PREFIX}ApnsError`, status_code: 400, reason: "BadCollapseId" },
      ]),
    };
  }
  if (isObject(apns.payload) && apns.payload.aps !== undefined && !isObject(apns.payload.aps)) {
    return { reply: fcmInvalid("Invalid APNs payload: 'aps' must be a dictionary.", "message.apns.payload") };
  }
  const link = isObject(webpush.fcm_options) ? webpush.fcm_options.link : undefined;
  if (typeof link === "string" && !link.startsWith("https://")) {
    return { reply: fcmInvalid("The link must be an HTTPS URL.", "message.webpush.fcm_options.link") };
  }
  return { target };
}

/** Parses and validates a messages:send body, answering exactly what FCM would for bad input. */
export function validateSendBody(text: string): ValidationResult {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return {
      ok: false,
      reply: googleError("INVALID_ARGUMENT", "Invalid JSON payload received. Unexpected token."),
    };
  }
  try {
    const body = check(raw, SEND_REQUEST, "", "", "") as Json;
    if (!isObject(body.message) || !isObject(raw)) {
      return { ok: false, reply: fcmInvalid("The message is not set.", "message") };
    }
    const result = semanticCheck(body.message);
    if ("reply" in result) return { ok: false, reply: result.reply };
    const messageJson = JSON.stringify(raw.message);
    return {
      ok: true,
      send: { validateOnly: body.validate_only === true, messageJson, target: result.target },
    };
  } catch (e) {
    if (e instanceof Invalid) return { ok: false, reply: e.reply };
    throw e;
  }
}
